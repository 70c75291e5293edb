"""Ingest benchmark (issue 4): chunks/s, share of wall time inside the model, re-ingest cost.

    .venv/bin/python bench/ingest.py [--articles 2000] [--corpus reuters|realtimeqa]
                                     [--backend torch|onnx] [--json OUT] [--profile first|second]

Both ingests run in this one process over a fresh temporary index, after the model is loaded
and warmed up, so interpreter and model start-up are not counted.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from common import (
    RESULTS,
    SOURCES,
    corpus_folder,
    cpu_seconds,
    machine,
    peak_rss_mb,
    print_table,
    write_json,
)

from qa.config import Settings
from qa.ingest.index import Index
from qa.ingest.report import IngestReport
from qa.search.embedding import make_embedder

TARGET_MODEL_SHARE = 0.85
TARGET_SECOND = 0.02


def timed_ingest(index: Index, profile: bool) -> tuple[IngestReport, float, float, float]:
    """One ingest: its report, wall seconds, seconds inside the embedding model, CPU seconds."""
    in_model = index.embedder.seconds
    cpu = cpu_seconds()
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    report = index.ingest()
    if profiler:
        profiler.disable()
    wall = time.perf_counter() - started
    if profiler:
        stats = pstats.Stats(profiler).strip_dirs()
        print("\n-- profile, by cumulative time --")
        stats.sort_stats("cumulative").print_stats(30)
        print("-- profile, by own time --")
        stats.sort_stats("tottime").print_stats(20)
    return report, wall, index.embedder.seconds - in_model, cpu_seconds() - cpu


def run(args: argparse.Namespace) -> dict[str, Any]:
    corpus = corpus_folder(args.corpus, args.articles)
    index_dir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        settings = Settings(
            corpus_dir=corpus,
            index_dir=index_dir,
            embedding_backend=args.backend,
            chroma_url=None,
        )
        embedder = make_embedder(settings)
        embedder.embed_documents(["warm-up sentence for the model"] * 8)
        index = Index(settings, embedder)
        first, wall1, model1, cpu1 = timed_ingest(index, args.profile == "first")
        second, wall2, _, cpu2 = timed_ingest(index, args.profile == "second")
        return {
            "corpus": args.corpus,
            "articles": len(first.added) + len(first.duplicates),
            "indexed_articles": len(first.added),
            "duplicates": len(first.duplicates),
            "backend": args.backend,
            "chunks": first.chunks_added,
            "first_s": round(wall1, 2),
            "chunks_per_s": round(first.chunks_added / wall1, 2),
            "cpu_s": round(cpu1, 2),
            "in_model_s": round(model1, 2),
            "model_share": round(model1 / wall1, 4),
            "second_s": round(wall2, 3),
            "second_cpu_s": round(cpu2, 3),
            "second_embedded": second.embedded,
            "second_fraction": round(wall2 / wall1, 5),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "targets": {
                "model_share_min": TARGET_MODEL_SHARE,
                "second_fraction_max": TARGET_SECOND,
            },
            "machine": machine(),
        }
    finally:
        shutil.rmtree(index_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=2000, help="articles to ingest (>= 2000)")
    parser.add_argument("--corpus", choices=SOURCES, default="reuters")
    parser.add_argument("--backend", choices=("openvino", "torch", "onnx"), default="torch")
    parser.add_argument("--json", type=Path, default=RESULTS / "ingest.json", help="JSON output")
    parser.add_argument("--profile", choices=("first", "second"), help="cProfile one ingest")
    args = parser.parse_args()
    result = run(args)
    print_table(
        [result],
        [
            "corpus",
            "articles",
            "chunks",
            "first_s",
            "chunks_per_s",
            "model_share",
            "second_s",
            "second_fraction",
            "peak_rss_mb",
        ],
    )
    share_ok = result["model_share"] >= TARGET_MODEL_SHARE
    second_ok = result["second_fraction"] < TARGET_SECOND
    print(
        f"\ninside the model: {result['model_share']:.1%} "
        f"(target >= {TARGET_MODEL_SHARE:.0%}: {'ok' if share_ok else 'MISSED'}); "
        f"second ingest: {result['second_fraction']:.2%} of the first "
        f"(target < {TARGET_SECOND:.0%}: {'ok' if second_ok else 'MISSED'})"
    )
    write_json(args.json, result)


if __name__ == "__main__":
    main()
