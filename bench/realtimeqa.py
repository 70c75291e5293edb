"""The full RealTime QA benchmark: prepare, index (about an hour of CPU), evaluate, summarize.

    .venv/bin/python bench/realtimeqa.py [--sample N --seed S] [--backend extractive ...]
                                         [--embedding-backend openvino|onnx|torch] [--no-cache]

Embeds with the service's default OpenVINO model, through the same on-disk vector cache as
bench/scale.py (.cache/bench/embeddings/): after a 100k-chunk scale run, which holds every
RealTime QA article, indexing the full set embeds almost nothing again. An interrupted run
resumes: the record manager skips the articles already indexed.

Writes the usual report folder (report.json, report.md, chart.png) plus bench/results/
realtimeqa.json with the headline figures, and prints them as a table for the README.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from common import CACHE, DiskCachedEmbedder

from qa.answer.engine import Engine
from qa.config import get_settings
from qa.evaluation import run
from qa.evaluation.realtimeqa import prepare
from qa.evaluation.report import console_table, write_report
from qa.ingest.index import Index
from qa.search.embedding import SentenceEmbedder

ROOT = Path(__file__).resolve().parent.parent
HEADLINE: tuple[str, ...] = (
    "first_sentence_accuracy",
    "short_answer_exact",
    "answer_contains_gold",
)
HEADLINE += ("citation_precision", "refusal_precision", "refusal_recall")
HEADLINE += ("false_refusal_rate", "citations_out_of_range")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/realtimeqa")
    parser.add_argument("--sample", type=int, default=None, help="N seeded questions (default all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", action="append", default=None)
    parser.add_argument("--top-k", type=int, default=None, help="passages per answer")
    parser.add_argument("--recall-k", type=int, default=5)
    parser.add_argument(
        "--embedding-backend", choices=("openvino", "onnx", "torch"), default="openvino"
    )
    parser.add_argument("--no-cache", action="store_true", help="embed without the disk cache")
    args = parser.parse_args()

    folder = (
        ROOT
        / ".cache"
        / ("realtimeqa" + (f"-sample{args.sample}-{args.seed}" if args.sample else ""))
    )
    summary = prepare(args.data, folder, args.sample, args.seed)
    print(json.dumps(summary, indent=2))
    settings = get_settings().model_copy(
        update={
            "corpus_dir": folder / "corpus",
            "index_dir": folder / f"index-{args.embedding_backend}",
            "embedding_backend": args.embedding_backend,
        }
    )
    embedder: Any = SentenceEmbedder(backend=args.embedding_backend, cache_dir=CACHE / "models")
    if not args.no_cache:
        embedder = DiskCachedEmbedder(embedder, CACHE / "embeddings" / f"{embedder.name}.sqlite")
    # questions embed with the model itself: the disk cache is for the corpus only
    engine = Engine(settings, Index(settings, embedder), getattr(embedder, "inner", embedder))
    started = time.perf_counter()
    ingest = engine.index.ingest(
        progress=lambda done, total: print(f"\rindexed {done}/{total}", end="", flush=True)
    )
    ingest_s = time.perf_counter() - started
    hits = getattr(embedder, "hits", 0)
    print(f"\ningest: {ingest.embedded} chunks ({hits} from the cache) in {ingest_s:.0f}s")

    backends = args.backend or ["extractive"]
    report = run(engine, folder / "gold.jsonl", backends, args.top_k, recall_k=args.recall_k)
    out = ROOT / "eval/reports" / f"realtimeqa-{time.strftime('%Y%m%d-%H%M%S')}"
    write_report(report, out)
    console_table(report)

    figures = {
        "data": summary,
        "ingest_seconds": round(ingest_s, 1),
        "embedding_backend": args.embedding_backend,
        "chunks_embedded": ingest.embedded,
        "chunks_from_cache": hits,
        "top_k": report.top_k,
        "recall_k": report.recall_k,
        "retrieval": {
            mode: {"recall": r.recall.model_dump(), "mrr": r.mrr.model_dump()}
            for mode, r in report.retrieval.items()
        },
        "backends": {
            name: {
                "metrics": {k: rep.metrics[k].model_dump() for k in HEADLINE},
                "latency_ms": rep.latency_ms,
            }
            for name, rep in report.backends.items()
        },
        "report": str(out),
    }
    results = ROOT / "bench/results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "realtimeqa.json").write_text(json.dumps(figures, indent=2))
    print(f"figures: {results / 'realtimeqa.json'}; report: {out / 'report.md'}")


if __name__ == "__main__":
    main()
