"""Date-filtered retrieval: Chroma's `where` alone vs the Retriever's choice, in one run.

    .venv/bin/python bench/date_filter.py [--size 10000] [--queries 50] [--force] [--json OUT]

Indexes the scale corpus of --size chunks (vectors cached in .cache/bench/embeddings, so a
re-run only re-indexes), then times dense+BM25 retrieval of the same RealTime QA questions
with no date filter, up to the newest article (what every RealTime QA question carries) and
over the newest month: once with every range sent to Chroma's `where`, once with the default
(a wide range filters an over-fetched plain search, a narrower one searches among the in-range
chunk ids). Also checks that both give the same passages. Waits for a quiet machine first
(LoadGuard), as bench/scale.py.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from common import (
    CACHE,
    RESULTS,
    DiskCachedEmbedder,
    LoadGuard,
    latency_ms,
    machine,
    print_table,
    queries,
    scale_corpus,
    write_json,
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--max-load", type=float, default=1.0)
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--json", type=Path, default=RESULTS / "date_filter.json")
    args = parser.parse_args()

    from qa.config import Settings
    from qa.ingest.index import Index
    from qa.search.dates import DateFilter
    from qa.search.embedding import SentenceEmbedder
    from qa.search.retrieval import Retriever

    corpus, info = scale_corpus(args.size)
    work = Path(tempfile.mkdtemp(prefix="bench-dates-"))
    try:
        model = SentenceEmbedder(cache_dir=CACHE / "models")
        embedder = DiskCachedEmbedder(model, CACHE / "embeddings" / f"{model.name}.sqlite")
        index = Index(Settings(corpus_dir=corpus, index_dir=work), embedder)
        index.ingest()
        newest = index.catalog.last_date()
        assert newest is not None, "the scale corpus has dated articles"
        ranges = {
            "none": DateFilter(),
            "to newest": DateFilter(None, newest),
            "newest month": DateFilter(newest - timedelta(days=30), newest),
        }
        asked = queries(args.queries + 10)
        vectors = {q: model.embed_query(q) for q in asked}  # the model is not what is timed
        strategies = {
            "chroma where": Retriever(index, model, filter_in_code_from=2.0, ids_up_to=0),
            "default": Retriever(index, model),
        }
        guard = LoadGuard(args.max_load, 300, args.force)
        report: dict[str, Any] = {"machine": machine(), "corpus": info, "rows": []}
        report["load_before"] = guard.wait("date filter timing")
        for name, dates in ranges.items():
            row: dict[str, Any] = {"range": name}
            found: dict[str, list[list[str]]] = {}
            for label, retriever in strategies.items():
                retriever.embedder = _Fixed(vectors)  # type: ignore[assignment]
                for q in asked[:10]:
                    retriever.search(q, 7, dates)
                samples, found[label] = [], []
                for q in asked[10:]:
                    started = time.perf_counter()
                    passages = retriever.search(q, 7, dates)
                    samples.append(time.perf_counter() - started)
                    found[label].append([p.chunk_id for p in passages])
                row[f"{label} p50_ms"] = latency_ms(samples)["p50_ms"]
                row[f"{label} p95_ms"] = latency_ms(samples)["p95_ms"]
            agree = sum(a == b for a, b in zip(*found.values(), strict=True))
            row["same passages"] = f"{agree}/{len(asked) - 10}"
            report["rows"].append(row)
        report["load_after"] = round(os.getloadavg()[0], 2)
        report["load"] = guard.summary()
        print_table(report["rows"], list(report["rows"][0]))
        write_json(args.json, report)
    finally:
        shutil.rmtree(work, ignore_errors=True)


class _Fixed:
    """Query vectors computed beforehand: the timing is retrieval's, not the model's."""

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self.vectors = vectors

    def embed_query(self, text: str) -> list[float]:
        return self.vectors[text]


if __name__ == "__main__":
    main()
