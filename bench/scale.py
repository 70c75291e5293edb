"""Scale benchmark (issue 8): ours vs the plain LangChain pipeline at each size, in one run.

    .venv/bin/python bench/scale.py [--sizes 1000,10000] [--big 100000] [--backends torch,openvino]
                                    [--queries 100] [--quality 50] [--json OUT]
                                    [--max-load 1.0] [--settle 300] [--force]

Comparisons come from a quiet machine: before each run the 1-minute load average must fall to
--max-load (waiting up to --settle seconds); otherwise the benchmark stops without writing a
comparison, unless --force (then the report and the printed table say which runs were loaded).
Every run records the load average before and after it.

Each (pipeline, backend, size) runs in a fresh interpreter, so its peak memory is its own.
Per run: ingest wall time and chunks/s, share inside the model, a second unchanged ingest,
index size, peak RSS, warm retrieval p50/p95 and (ours) full extractive answer p50/p95. The
plain pipeline runs at every --sizes size; --big runs ours alone with its embeddings cached
in .cache/bench/embeddings (a re-run measures store and queries without embedding again).
--quality N indexes the seeded N-question RealTime QA sample with both pipelines: the same
real corpus, its ingest times, and recall@5 / MRR of the gold articles.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from common import (
    CACHE,
    DATA,
    RESULTS,
    DiskCachedEmbedder,
    LoadGuard,
    cpu_seconds,
    folder_bytes,
    latency_ms,
    machine,
    peak_rss_mb,
    print_table,
    queries,
    run_worker,
    scale_corpus,
    write_json,
)

HERE = Path(__file__).resolve().parent
MODELS = CACHE / "models"  # the OpenVINO / ONNX exports, made once for every benchmark run
COLUMNS = [
    "size",
    "run",
    "chunks",
    "ingest_s",
    "ingest_cpu_s",
    "chunks_per_s",
    "model_share",
    "second_s",
    "index_mb",
    "peak_rss_mb",
    "rss_growth_mb",
    "retrieval_p50_ms",
    "retrieval_p95_ms",
    "retrieval_to_newest_p50_ms",
    "retrieval_one_month_p50_ms",
    "answer_p50_ms",
    "answer_p95_ms",
    "time_vs_plain",
    "cpu_vs_plain",
]


# -- worker: our pipeline in this process ---------------------------------------------------------


def make_embedder(backend: str, cache: bool) -> Any:
    from qa.search.embedding import SentenceEmbedder

    embedder: Any = SentenceEmbedder(backend=backend, cache_dir=MODELS)
    if cache:
        embedder = DiskCachedEmbedder(embedder, CACHE / "embeddings" / f"{embedder.name}.sqlite")
    return embedder


def measure_ours(
    corpus: Path, backend: str, n_queries: int, cache: bool, gold: Path | None
) -> dict[str, Any]:
    from qa.answer.engine import Engine
    from qa.config import Settings
    from qa.ingest.index import Index
    from qa.schema import AskRequest

    work = Path(tempfile.mkdtemp(prefix="bench-ours-"))
    try:
        rss_start = peak_rss_mb()
        settings = Settings(
            corpus_dir=corpus, index_dir=work, embedding_backend=backend, chroma_url=None
        )
        embedder = make_embedder(backend, cache)
        embedder.embed_query("warm-up sentence for the model")
        rss_model = peak_rss_mb()
        index = Index(settings, embedder)
        in_model = embedder.seconds
        started, cpu = time.perf_counter(), cpu_seconds()
        first = index.ingest()
        wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        in_model = embedder.seconds - in_model
        started = time.perf_counter()
        second = index.ingest()
        second_s = time.perf_counter() - started
        result: dict[str, Any] = {
            "pipeline": "ours",
            "backend": backend,
            "embedding_cache": cache,
            "chunks": first.chunks_added,
            "articles": len(first.added),
            "duplicates": len(first.duplicates),
            "embedded": first.embedded,
            "cache_hits": getattr(embedder, "hits", 0),
            "ingest_s": round(wall, 2),
            "ingest_cpu_s": round(cpu, 2),
            "chunks_per_s": round(first.chunks_added / wall, 2),
            "model_share": round(in_model / wall, 4),
            "second_s": round(second_s, 3),
            "second_embedded": second.embedded,
            "index_mb": round(folder_bytes(work) / 1e6, 1),
            "rss_start_mb": round(rss_start, 1),
            "rss_model_mb": round(rss_model, 1),
        }
        # questions embed with the model itself: the disk cache is for the corpus only
        engine = Engine(settings, index, getattr(embedder, "inner", embedder))
        asked = queries(2 * n_queries + 20)
        warm, timed_retrieval = asked[:20], asked[20 : 20 + n_queries]
        timed_answer = asked[20 + n_queries :]
        for question in warm:
            engine.retrieve(question)
            engine.ask(AskRequest(question=question, backend="extractive"))
        samples = []
        for question in timed_retrieval:
            started = time.perf_counter()
            engine.retrieve(question)
            samples.append(time.perf_counter() - started)
        result["retrieval"] = latency_ms(samples)
        # date-filtered: up to the newest article (as every RealTime QA question), and one month
        newest = index.catalog.last_date()
        if newest is not None:
            ranges = {
                "retrieval_to_newest": (None, newest),
                "retrieval_one_month": (newest - timedelta(days=30), newest),
            }
            for key, (date_from, date_to) in ranges.items():
                samples = []
                for question in timed_retrieval:
                    started = time.perf_counter()
                    engine.retrieve(question, date_from=date_from, date_to=date_to)
                    samples.append(time.perf_counter() - started)
                result[key] = latency_ms(samples)
        samples = []
        for question in timed_answer:
            started = time.perf_counter()
            engine.ask(AskRequest(question=question, backend="extractive"))
            samples.append(time.perf_counter() - started)
        result["answer"] = latency_ms(samples)
        if gold is not None:
            result["quality"] = quality(engine, gold)
        result["peak_rss_mb"] = round(peak_rss_mb(), 1)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def quality(engine: Any, gold_path: Path, k: int = 5) -> dict[str, Any]:
    """Recall@k and MRR of the gold articles: hybrid (date-aware, as served) and dense only."""
    from qa.evaluation import evaluate_retrieval, load_gold

    reports = evaluate_retrieval(engine, load_gold(gold_path), k, modes=("hybrid", "dense"))
    out: dict[str, Any] = {"questions": reports["hybrid"].mrr.total}
    for mode, report in reports.items():
        out[f"{mode}_recall@{k}"] = report.recall.value
        out[f"{mode}_mrr"] = report.mrr.value
    return out


def measure_cosine(corpus: Path, texts: int) -> dict[str, Any]:
    """OpenVINO fp32 and ONNX int8 vs torch fp32 on the same chunk texts: cosine and speed."""
    import numpy as np

    from qa.ingest.chunking import chunk_article
    from qa.ingest.corpus import read_paths

    read = read_paths(sorted(corpus.glob("*.jsonl")), corpus)
    sample = [c.text for a in read.articles for c in chunk_article(a)][:texts]
    out: dict[str, Any] = {"texts": len(sample)}
    vectors = {}
    for backend in ("torch", "openvino", "onnx"):
        embedder = make_embedder(backend, cache=False)
        embedder.embed_documents(sample[:16])
        started = time.perf_counter()
        vectors[backend] = np.asarray(embedder.embed_documents(sample))
        out[f"{backend}_chunks_per_s"] = round(len(sample) / (time.perf_counter() - started), 2)
    for backend in ("openvino", "onnx"):
        cosines = (vectors["torch"] * vectors[backend]).sum(axis=1)
        out[f"{backend}_mean_cosine"] = round(float(cosines.mean()), 5)
        out[f"{backend}_min_cosine"] = round(float(cosines.min()), 5)
        speedup = out[f"{backend}_chunks_per_s"] / out["torch_chunks_per_s"]
        out[f"{backend}_speedup"] = round(speedup, 2)
    out["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return out


# -- orchestration --------------------------------------------------------------------------------


def row(size: str, result: dict[str, Any], plain: dict[str, Any] | None) -> dict[str, Any]:
    name = "plain langchain" if result["pipeline"] != "ours" else f"ours {result['backend']}"
    if result.get("embedding_cache"):
        name += " (cached vectors)"
    out = {"size": size, "run": name, **result}
    out["rss_growth_mb"] = round(result["peak_rss_mb"] - result["rss_model_mb"], 1)
    for kind in ("retrieval", "retrieval_to_newest", "retrieval_one_month", "answer"):
        for key, value in (result.get(kind) or {}).items():
            out[f"{kind}_{key}"] = value
    if plain is not None:
        out["time_vs_plain"] = round(result["ingest_s"] / plain["ingest_s"], 3)
        out["cpu_vs_plain"] = round(result["ingest_cpu_s"] / plain["ingest_cpu_s"], 3)
    return out


def ratios(ours: dict[str, Any], plain: dict[str, Any]) -> dict[str, Any]:
    """Ours over plain: below 1 is better (except chunks/s)."""

    def r(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a is not None and b else None

    return {
        "ingest_time": r(ours["ingest_s"], plain["ingest_s"]),
        "ingest_cpu": r(ours["ingest_cpu_s"], plain["ingest_cpu_s"]),
        "chunks_per_s": r(ours["chunks_per_s"], plain["chunks_per_s"]),
        "chunks": r(ours["chunks"], plain["chunks"]),
        "second_ingest": r(ours["second_s"], plain.get("second_s")),
        "index_size": r(ours["index_mb"], plain["index_mb"]),
        "peak_rss": r(ours["peak_rss_mb"], plain["peak_rss_mb"]),
        "retrieval_p50": r(ours["retrieval"]["p50_ms"], plain["retrieval"]["p50_ms"]),
        "retrieval_p95": r(ours["retrieval"]["p95_ms"], plain["retrieval"]["p95_ms"]),
    }


def ours_args(corpus: Path, backend: str, n: int, cache: bool, gold: Path | None) -> list[str]:
    args = [str(HERE / "scale.py"), "--worker", "ours", "--corpus-dir", str(corpus)]
    args += ["--backend", backend, "--queries", str(n)]
    args += ["--cache-embeddings"] if cache else []
    args += ["--gold", str(gold)] if gold else []
    return args


def plain_args(corpus: Path, n: int, second: bool, gold: Path | None) -> list[str]:
    args = [str(HERE / "baseline.py"), "--corpus-dir", str(corpus), "--queries", str(n)]
    args += ["--second"] if second else []
    args += ["--gold", str(gold)] if gold else []
    return args


def orchestrate(args: argparse.Namespace, guard: LoadGuard) -> dict[str, Any]:
    out_dir = args.json.parent / "scale-runs"
    report: dict[str, Any] = {"machine": machine(), "sizes": {}, "rows": []}
    for size in args.sizes:
        corpus, info = scale_corpus(size)
        plain = run_worker(
            plain_args(corpus, args.queries, size <= args.plain_second_max, None),
            out_dir / f"plain-{size}.json",
            guard=guard,
        )
        entry: dict[str, Any] = {"corpus": info, "plain": plain, "ours": {}, "ratios": {}}
        report["rows"].append(row(str(size), plain, None))
        for backend in args.backends:
            ours = run_worker(
                ours_args(corpus, backend, args.queries, False, None),
                out_dir / f"ours-{backend}-{size}.json",
                guard=guard,
            )
            entry["ours"][backend] = ours
            entry["ratios"][backend] = ratios(ours, plain)
            report["rows"].append(row(str(size), ours, plain))
        report["sizes"][str(size)] = entry
    if args.big:
        corpus, info = scale_corpus(args.big)
        ours = run_worker(
            ours_args(corpus, args.big_backend, args.queries, True, None),
            out_dir / f"ours-{args.big_backend}-{args.big}.json",
            guard=guard,
        )
        report["sizes"][str(args.big)] = {"corpus": info, "ours": {args.big_backend: ours}}
        report["rows"].append(row(str(args.big), ours, None))
    if args.sizes:
        corpus, _ = scale_corpus(args.sizes[0])
        report["vs_torch"] = run_worker(
            [str(HERE / "scale.py"), "--worker", "cosine", "--corpus-dir", str(corpus)],
            out_dir / "cosine.json",
            guard=guard,
        )
    if args.quality:
        report["quality"] = run_quality(args, out_dir, guard)
    return report


def run_quality(args: argparse.Namespace, out_dir: Path, guard: LoadGuard) -> dict[str, Any]:
    from qa.evaluation.realtimeqa import prepare

    folder = CACHE / f"quality-{args.quality}"
    if not (folder / "gold.jsonl").exists():
        prepare(DATA / "realtimeqa", folder, sample=args.quality, seed=0)
    corpus, gold = folder / "corpus", folder / "gold.jsonl"
    plain = run_worker(
        plain_args(corpus, 10, False, gold), out_dir / "quality-plain.json", guard=guard
    )
    result: dict[str, Any] = {"sample_questions": args.quality, "plain": plain, "ours": {}}
    for backend in args.backends:
        ours = run_worker(
            ours_args(corpus, backend, 10, False, gold),
            out_dir / f"quality-ours-{backend}.json",
            guard=guard,
        )
        ours["time_vs_plain"] = round(ours["ingest_s"] / plain["ingest_s"], 3)
        ours["cpu_vs_plain"] = round(ours["ingest_cpu_s"] / plain["ingest_cpu_s"], 3)
        result["ours"][backend] = ours
    return result


def show(report: dict[str, Any]) -> None:
    load = report["load"]
    if not load["quiet"]:
        loaded = ", ".join(f"{r['run']} ({r['load_before']})" for r in load["loaded_runs"])
        print(f"LOADED MACHINE (--force): these runs started above load {load['max_load']}")
        print(f"and their ratios may mislead: {loaded}\n")
    if report["rows"]:
        print_table(report["rows"], COLUMNS)
    if "vs_torch" in report:
        c = report["vs_torch"]
        for backend in ("openvino", "onnx"):
            print(
                f"\n{backend} vs torch fp32 on {c['texts']} chunks: mean cosine "
                f"{c[f'{backend}_mean_cosine']} (min {c[f'{backend}_min_cosine']}), "
                f"{c[f'{backend}_chunks_per_s']} vs {c['torch_chunks_per_s']} chunks/s "
                f"({c[f'{backend}_speedup']}x)"
            )
    if "quality" in report:
        q = report["quality"]
        rows = [{"run": "plain langchain", **q["plain"], **q["plain"]["quality"]}]
        rows += [{"run": f"ours {b}", **r, **r["quality"]} for b, r in q["ours"].items()]
        print(f"\nRealTime QA sample ({q['sample_questions']} questions, their own articles):")
        print_table(
            rows,
            [
                *("run", "chunks", "ingest_s", "ingest_cpu_s", "time_vs_plain", "cpu_vs_plain"),
                *("questions", "recall@5", "mrr"),
                *("hybrid_recall@5", "hybrid_mrr", "dense_recall@5", "dense_mrr"),
            ],
        )


def sizes(text: str) -> list[int]:
    return [int(s) for s in text.split(",") if s.strip()]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", type=sizes, default=[1000, 10000], help="chunks, with plain")
    parser.add_argument("--big", type=int, default=0, help="ours alone at this size (100000)")
    parser.add_argument("--big-backend", choices=("openvino", "torch", "onnx"), default="openvino")
    parser.add_argument("--backends", type=lambda s: s.split(","), default=["torch", "openvino"])
    parser.add_argument("--queries", type=int, default=100, help="timed queries per run")
    parser.add_argument("--quality", type=int, default=0, help="RealTime QA sample questions")
    parser.add_argument("--plain-second-max", type=int, default=2000, help="re-run plain up to")
    parser.add_argument("--json", type=Path, default=RESULTS / "scale.json")
    parser.add_argument("--max-load", type=float, default=1.0, help="quiet machine: load average")
    parser.add_argument("--settle", type=float, default=300.0, help="seconds to wait for quiet")
    parser.add_argument("--force", action="store_true", help="measure under load, marked so")
    # worker mode (one measured pipeline; used by the orchestration above)
    parser.add_argument("--worker", choices=("ours", "cosine"), help=argparse.SUPPRESS)
    parser.add_argument("--corpus-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="torch", help=argparse.SUPPRESS)
    parser.add_argument("--cache-embeddings", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--gold", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--texts", type=int, default=512, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker == "ours":
        result = measure_ours(
            args.corpus_dir, args.backend, args.queries, args.cache_embeddings, args.gold
        )
        write_json(args.json, result)
    elif args.worker == "cosine":
        write_json(args.json, measure_cosine(args.corpus_dir, args.texts))
    else:
        guard = LoadGuard(args.max_load, args.settle, args.force)
        started = time.perf_counter()
        report = orchestrate(args, guard)
        report["load"] = guard.summary()
        report["wall_s"] = round(time.perf_counter() - started, 1)
        print()
        show(report)
        write_json(args.json, report)


if __name__ == "__main__":
    main()
