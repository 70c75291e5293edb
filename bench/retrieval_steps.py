"""Where retrieval time goes on an existing index, by date range: embedding the question, the
dense search, BM25, and the whole hybrid retrieval (dense + BM25 + fetch + fusion).

    .venv/bin/python bench/retrieval_steps.py --index-dir .cache/realtimeqa/index-openvino \
        --corpus .cache/realtimeqa/corpus --gold .cache/realtimeqa/gold.jsonl [--queries 30]

Ranges: none, up to the newest article, the newest 30 days and 7 days. Prints p50 ms per step
and how many chunks each range holds. Run it on a quiet machine (check `uptime`): it does not
wait for one, and prints the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import date, timedelta
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--gold", type=Path, required=True, help="JSONL with a 'question' field")
    parser.add_argument("--queries", type=int, default=30)
    args = parser.parse_args()

    from qa.answer.engine import Engine
    from qa.config import Settings
    from qa.ingest.index import Index
    from qa.search.dates import DateFilter
    from qa.search.embedding import make_embedder

    settings = Settings(corpus_dir=args.corpus, index_dir=args.index_dir)
    embedder = make_embedder(settings)
    index = Index(settings, embedder)
    engine = Engine(settings, index, embedder)
    with args.gold.open(encoding="utf-8") as lines:
        questions = [json.loads(line)["question"] for line in lines][: args.queries + 10]
    lexical = index.lexical()
    newest_int = int(lexical.dates.max())
    newest = date(newest_int // 10000, newest_int // 100 % 100, newest_int % 100)
    retriever = engine.retriever
    for question in questions[:10]:  # warm-up
        engine.retrieve(question)
    print(f"load average before: {os.getloadavg()[0]:.2f}; {len(lexical.chunk_ids):,} chunks")
    ranges = {
        "none": (None, None),
        "up to the newest": (None, newest),
        "newest 30 days": (newest - timedelta(days=30), newest),
        "newest 7 days": (newest - timedelta(days=7), newest),
    }
    print("| range | chunks in range | embed | dense | BM25 | retrieve (hybrid) |")
    print("|---|---|---|---|---|---|")
    for label, (date_from, date_to) in ranges.items():
        dates = DateFilter(date_from, date_to)
        lo = int(date_from.strftime("%Y%m%d")) if date_from else None
        hi = int(date_to.strftime("%Y%m%d")) if date_to else None
        inside = int(lexical.in_range(lo, hi).sum())
        steps: dict[str, list[float]] = {"embed": [], "dense": [], "bm25": [], "retrieve": []}
        for question in questions[10:]:
            t0 = time.perf_counter()
            vector = embedder.embed_query(question)
            t1 = time.perf_counter()
            retriever.dense(vector, dates)
            t2 = time.perf_counter()
            lexical.search(question, retriever.candidates, lo, hi)
            t3 = time.perf_counter()
            engine.retrieve(question, date_from=date_from, date_to=date_to)
            t4 = time.perf_counter()
            for key, seconds in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                steps[key].append(seconds)
        p50 = {key: f"{1000 * statistics.median(values):.1f} ms" for key, values in steps.items()}
        print(f"| {label} | {inside:,} | " + " | ".join(p50.values()) + " |")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
