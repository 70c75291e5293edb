"""qa/search/lexical.py: BM25 over chunks, versioned on disk, with date ranges."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from qa.search.lexical import LexicalIndex, tokenize
from qa.types import ChunkMeta, StoredChunk


def _chunk(cid: str, text: str, day: date | None) -> StoredChunk:
    meta = ChunkMeta(cid, f"{cid}.txt", 0, len(text), "h", "a", day)
    return StoredChunk(cid, text, meta.to_chroma())


CHUNKS = [
    _chunk("a", "Wagner fighters arrived in Mali in December.", date(2021, 12, 1)),
    _chunk("b", "The junta in Niger closed its airspace.", date(2023, 8, 6)),
    _chunk("c", "Wagner and the junta of Niger met in Bamako.", None),
]


def test_search_ranks_by_bm25_and_drops_stop_words(tmp_path: Path) -> None:
    index = LexicalIndex.build(CHUNKS, tmp_path)
    assert tokenize("The junta of Niger") == ["junta", "niger"]
    ranked = [cid for cid, _ in index.search("Niger junta", 3)]
    assert set(ranked) == {"b", "c"}  # "a" shares no term
    assert index.search("the of and", 3) == []  # only stop words: nothing to look for


def test_a_date_range_excludes_undated_and_out_of_range_chunks(tmp_path: Path) -> None:
    index = LexicalIndex.build(CHUNKS, tmp_path)
    found = index.search("Wagner Niger junta", 3, date_from=20230101, date_to=20231231)
    assert [cid for cid, _ in found] == ["b"]


def test_saved_versions_reload_and_prune(tmp_path: Path) -> None:
    first = LexicalIndex.build(CHUNKS, tmp_path)
    second = LexicalIndex.build(CHUNKS[:1], tmp_path)
    loaded = LexicalIndex.load(tmp_path, second.version)
    assert loaded.live_ids() == ["a"] and loaded.search("Wagner", 2)[0][0] == "a"
    LexicalIndex.prune(tmp_path, keep={second.version})
    assert not (tmp_path / f"manifest-{first.version}.json").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("seg-")] == [
        s.name for s in loaded.segments
    ]
    assert LexicalIndex.load(tmp_path, first.version).search("Wagner", 2) == []  # gone: empty


def test_scores_equal_bm25s_built_from_word_lists(tmp_path: Path) -> None:
    """Built from word ids (less memory) and ranked here (faster): bm25s' own scores, in order."""
    import bm25s
    import numpy as np

    from tests.conftest import SEEDS

    texts = [
        p.read_text(encoding="utf-8")[i : i + 600]
        for p in sorted(SEEDS.iterdir())
        for i in range(0, 3000, 600)
    ]
    chunks = [_chunk(str(n), t, date(2023, 8, 1)) for n, t in enumerate(texts)]
    chunks.append(_chunk("empty", "the of and", date(2023, 8, 1)))  # no word left: placeholder
    ours = LexicalIndex.build(chunks, tmp_path)
    reference = bm25s.BM25()
    reference.index([tokenize(c.text) or ["_"] for c in chunks], show_progress=False)
    every = len(chunks)
    for query in ("Niger junta airspace", "Wagner Mali fighters", "president Bazoum detained"):
        got = ours.search(query, every)
        docs, scores = reference.retrieve([tokenize(query)], k=every, show_progress=False)
        want = {
            chunks[int(d)].chunk_id: float(s)
            for d, s in zip(docs[0], scores[0], strict=True)
            if s > 0
        }
        assert len(got) == len(want) > 3 and set(dict(got)) == set(want)
        assert all(np.isclose(s, want[c]) for c, s in got)
        assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
        top3 = ours.search(query, 3)
        assert top3 == got[:3]  # the top k is the head of the full ranking


def test_tied_chunks_come_in_chunk_id_order_whatever_the_build_order(tmp_path: Path) -> None:
    """Issue 27, item 7: a recovered index holds its chunks in another order than a fresh one;
    chunks with equal scores (and dates) must still be cut and ordered the same: by chunk id."""
    words = ["harbour", "pilot", "cargo", "channel", "bridge", "survey"]
    tied = [_chunk(f"t{i:02d}", " ".join(words[i % 6 :] + words[: i % 6]), None) for i in range(12)]
    fresh = LexicalIndex.build(tied, tmp_path / "fresh")
    recovered = LexicalIndex.build(tied[::-1], tmp_path / "recovered")
    for k in (3, 5, 12):
        first = fresh.search("harbour pilot cargo", k)
        assert first == recovered.search("harbour pilot cargo", k)
        assert [cid for cid, _ in first] == [f"t{i:02d}" for i in range(k)]


# -- growing: segments, tombstones, merges ---------------------------------------------------


def _seed_chunks() -> list[StoredChunk]:
    from tests.conftest import SEEDS

    return [
        _chunk(
            f"{p.stem}-{i}", p.read_text(encoding="utf-8")[i : i + 400], date(2023, 1 + i // 400, 1)
        )
        for p in sorted(SEEDS.iterdir())
        for i in range(0, 4000, 400)
    ]


QUERIES = ("Niger junta airspace", "Wagner Mali fighters", "president Bazoum", "price oil market")


def _same_ranking(
    got: list[tuple[str, float]], want: list[tuple[str, float]], least: int = 1
) -> None:
    """Equal scores per chunk, and the same order up to chunks whose scores tie."""
    import numpy as np

    assert len(got) == len(want) >= least and set(dict(got)) == set(dict(want))
    fresh = dict(want)
    assert all(np.isclose(s, fresh[c], rtol=1e-6) for c, s in got)
    groups = lambda ranked: [round(s, 4) for _, s in ranked]  # noqa: E731
    assert groups(got) == groups(want)  # same score sequence: same ranking but for ties


def test_a_grown_index_ranks_as_a_fresh_build_of_the_same_live_chunks(tmp_path: Path) -> None:
    chunks = _seed_chunks()
    assert len(chunks) >= 40
    grown = LexicalIndex.empty()
    root = tmp_path / "grown"
    live: dict[str, StoredChunk] = {}
    for n, start in enumerate(range(0, len(chunks), 7)):
        batch = chunks[start : start + 7]
        # every third batch deletes one live chunk and replaces another with new text
        dropped = set(sorted(live)[n % 5 :: 11]) if n % 3 == 2 else set()
        for cid in dropped:
            del live[cid]
        if n % 3 == 2 and live:
            cid = sorted(live)[0]
            batch = [*batch, _chunk(cid, f"Replaced text about oil prices, batch {n}.", None)]
            dropped.add(cid)
        grown = grown.grow(root, batch, dropped).compact(root)
        live.update({c.chunk_id: c for c in batch})
        assert sorted(grown.live_ids()) == sorted(live)
    assert 1 < len(grown.segments) < len(chunks) // 7  # grew in segments, some merged
    assert all(len(grown.alive[n]) >= 1 for n in range(len(grown.segments)))
    fresh = LexicalIndex.build(list(live.values()), tmp_path / "fresh")
    windowed = 0
    for query in QUERIES:
        _same_ranking(grown.search(query, len(chunks)), fresh.search(query, len(chunks)))
        got, want = (i.search(query, 50, 20230201, 20230630) for i in (grown, fresh))
        _same_ranking(got, want, least=0)
        windowed += len(got)
    assert windowed > 0
    everything = grown.compact(root, everything=True)
    assert len(everything.segments) == 1 and not any(len(d) for d in everything.dead)
    for query in QUERIES:
        _same_ranking(everything.search(query, 50), fresh.search(query, 50))


def test_tombstoned_chunks_are_never_found_and_reload_shares_segments(tmp_path: Path) -> None:
    first = LexicalIndex.build(CHUNKS, tmp_path)
    second = first.grow(tmp_path, [_chunk("d", "Wagner left Mali.", date(2024, 1, 1))], {"a"})
    assert [c for c, _ in second.search("Wagner", 5)] == ["d", "c"] or {
        c for c, _ in second.search("Wagner", 5)
    } == {"c", "d"}
    assert "a" not in {c for c, _ in second.search("Wagner Mali December", 5)}
    assert not second.in_range(20211201, 20211231).any()  # "a" only, and tombstoned
    reloaded = LexicalIndex.load(tmp_path, second.version, reuse=first)
    assert reloaded.segments[0] is first.segments[0]  # segments never change: not reread
    assert sorted(reloaded.live_ids()) == ["b", "c", "d"]
    import numpy as np

    assert isinstance(reloaded.segments[1].docs, np.memmap)  # memory-mapped, not read in


_WRITER = """
import sys
import time
from datetime import date
from pathlib import Path
from qa.ingest.chunking import ChunkMeta
from qa.search.lexical import LexicalIndex
from qa.search.segments import SegmentBuilder
from qa.search.store import StoredChunk

root, version = Path(sys.argv[1]), sys.argv[2]
base = LexicalIndex.load(root, version)
chunks = SegmentBuilder()
for i in range(int(sys.argv[3])):
    text = f"story {i} about harbour {i % 97} railway {i % 13} budget {i % 1009} words"
    meta = ChunkMeta(f"x{i}", f"x{i}.txt", 0, len(text), "h", "a", date(2024, 1, 1))
    chunks.add(StoredChunk(f"x{i}", text, meta.to_chroma()))
print("writing", flush=True)
started = time.perf_counter()
grown = base.grow(root, chunks, {"a"})
print(grown.version, time.perf_counter() - started, flush=True)
"""


@pytest.mark.slow
def test_a_writer_killed_mid_segment_leaves_the_previous_version_readable(tmp_path: Path) -> None:
    """SIGKILL at moments across the write of a 20k-chunk segment (~0.2 s of writing)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    before = LexicalIndex.build(CHUNKS, tmp_path)
    want = before.search("Wagner Niger junta", 3)
    for delay in (0.01, 0.05, 0.1, 0.2):
        child = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(tmp_path), before.version, "20000"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None and child.stdout.readline().strip() == "writing"
        time.sleep(delay)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        again = LexicalIndex.load(tmp_path, before.version)
        assert again.search("Wagner Niger junta", 3) == want
        for manifest in tmp_path.glob("manifest-*.json"):  # every published version is whole
            loaded = LexicalIndex.load(tmp_path, manifest.stem.removeprefix("manifest-"))
            assert loaded.n_live in (3, 20002)
    LexicalIndex.prune(tmp_path, keep={before.version})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"manifest-{before.version}.json", *(s.name for s in before.segments)]
    )
