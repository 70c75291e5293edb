"""Lexical growth benchmark (issue 32): BM25's share of an ingest of 100 new articles into a
large index against the same 100 into an empty one, in one run. BM25 alone (no embedding).

    .venv/bin/python bench/lexical_growth.py [--chunks 500000] [--new 100] [--rounds 5]
                                             [--queries 50] [--rebuild] [--json OUT]

The large index is real article text: RealTime QA's 6,775 articles and Reuters-21578's
stories, cut into ~800-character chunks at paragraph breaks (a stand-in for qa/ingest/chunking.py,
whose token counts need the embedding model), repeated with distinct ids (and the same
dates) until --chunks is reached. The 100 new articles are RealTime QA articles under new ids.
Per round: `grow` (tokenize, write the segment, tombstones, manifest) + `compact` (merges
when FANOUT small segments piled up) + a replica's reload, into the large index and into an
empty one; the ratio of medians is the result (aim <= 2). With --rebuild, the old way: one full
rebuild of large + 100 (what every ingest did before). Also: reload and query latency.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from common import RESULTS, iter_realtimeqa, iter_reuters, latency_ms, peak_rss_mb, write_json

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from qa.search.lexical import LexicalIndex
from qa.types import ChunkMeta, StoredChunk

CHARS = 800


def pieces(text: str) -> Iterator[str]:
    """~CHARS-character chunks at paragraph breaks."""
    part = ""
    for para in text.split("\n\n"):
        if part and len(part) + len(para) > CHARS:
            yield part
            part = ""
        part = f"{part}\n\n{para}" if part else para
    if part.strip():
        yield part


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(str(text)[:10]) if text else None
    except ValueError:
        return None


def chunks_of(record: dict[str, Any], prefix: str) -> list[StoredChunk]:
    day = _day(record.get("date"))
    out = []
    for n, text in enumerate(pieces(record["text"])):
        cid = f"{prefix}{record['id']}-{n}"
        meta = ChunkMeta(cid, f"{prefix}{record['id']}", 0, len(text), "h", "a", day)
        out.append(StoredChunk(cid, text, meta.to_chroma()))
    return out


def corpus(total: int) -> Iterator[StoredChunk]:
    """`total` chunks of real text; pass r > 0 repeats the corpus under ids prefixed r."""
    made = 0
    for rep in itertools.count():
        for record in itertools.chain(iter_realtimeqa(), iter_reuters()):
            for chunk in chunks_of(record, f"r{rep}-"):
                yield chunk
                made += 1
                if made >= total:
                    return


def timed_growth(
    index: LexicalIndex, root: Path, batch: list[StoredChunk]
) -> tuple[float, LexicalIndex]:
    started = time.perf_counter()
    grown = index.grow(root, batch, ()).compact(root)
    LexicalIndex.load(root, grown.version, reuse=index)  # a replica picking it up
    return time.perf_counter() - started, grown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=500_000)
    parser.add_argument("--new", type=int, default=100, help="new articles per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--rebuild", action="store_true", help="also time one full rebuild")
    parser.add_argument("--json", type=Path, default=RESULTS / "lexical_growth.json")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    articles = list(iter_realtimeqa())
    batches = [
        [c for a in articles[r * args.new : (r + 1) * args.new] for c in chunks_of(a, f"new{r}-")]
        for r in range(args.rounds)
    ]
    work = Path(tempfile.mkdtemp(prefix="lexical-growth-"))
    try:
        started = time.perf_counter()
        big = LexicalIndex.build(corpus(args.chunks), work / "big")
        build_s = time.perf_counter() - started
        print(f"built {big.n_live:,} chunks in {build_s:.1f} s", flush=True)
        into_big: list[float] = []
        into_empty: list[float] = []
        for batch in batches:  # alternate, so load drifts hit both sides alike
            seconds, big = timed_growth(big, work / "big", batch)
            into_big.append(seconds)
            empty_root = work / f"empty-{len(into_empty)}"
            into_empty.append(timed_growth(LexicalIndex.empty(), empty_root, batch)[0])
            print(
                f"round {len(into_big)}: {len(batch)} chunks, into large {into_big[-1]:.3f} s,"
                f" into empty {into_empty[-1]:.3f} s, {len(big.segments)} segments",
                flush=True,
            )
        rebuild_s = float("nan")
        if args.rebuild:  # what every ingest did before: all chunks again
            started = time.perf_counter()
            LexicalIndex.build(itertools.chain(corpus(args.chunks), batches[0]), work / "rebuild")
            rebuild_s = time.perf_counter() - started
            print(f"full rebuild: {rebuild_s:.1f} s", flush=True)
        words = [w for c in batches[0][: args.queries] for w in c.text.split()[:6]]
        questions = [" ".join(words[i : i + 6]) for i in range(0, 6 * args.queries, 6)]
        samples = []
        for q in questions:
            t = time.perf_counter()
            big.search(q, 50)
            samples.append(time.perf_counter() - t)
        t = time.perf_counter()
        LexicalIndex.load(work / "big", big.version)
        cold_load_s = time.perf_counter() - t
        result = {
            "chunks": big.n_live,
            "new_articles": args.new,
            "new_chunks_per_round": [len(b) for b in batches],
            "build_big_s": round(build_s, 2),
            "grow_into_big_s": [round(s, 3) for s in into_big],
            "grow_into_empty_s": [round(s, 3) for s in into_empty],
            "ratio_of_medians": round(
                statistics.median(into_big) / statistics.median(into_empty), 2
            ),
            "full_rebuild_big_plus_new_s": round(rebuild_s, 2),
            "search_ms": latency_ms(samples),
            "cold_load_s": round(cold_load_s, 2),
            "segments": len(big.segments),
            "peak_rss_mb": peak_rss_mb(),
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for key, value in result.items():
        print(f"{key}: {value}")
    write_json(args.json, result)


if __name__ == "__main__":
    main()
