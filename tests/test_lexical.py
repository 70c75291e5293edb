"""qa/lexical.py: BM25 over chunks, versioned on disk, with date ranges."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from qa.chunking import ChunkMeta
from qa.lexical import LexicalIndex, tokenize
from qa.store import StoredChunk


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
    assert loaded.chunk_ids == ["a"] and loaded.search("Wagner", 2)[0][0] == "a"
    LexicalIndex.prune(tmp_path, keep=second.version)
    assert not (tmp_path / first.version).exists()
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
