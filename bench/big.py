"""One million chunks on one machine (issue 32): build once (resumable), then measure.

    nohup .venv/bin/python bench/big.py build --chunks 1000000 > .cache/bench/big.log 2>&1 &
    .venv/bin/python bench/big.py measure --chunks 1000000 --queries 50
    .venv/bin/python bench/big.py grow --chunks 1000000 --rounds 3

The text is real: the RealTime QA and Reuters-21578 articles that make about 100k chunks
(`scale_corpus(100000)`, as the 100k run), written COPIES times as parts of one corpus folder.
Copy 0 is the articles as they are; copy k >= 1 gives each article a distinct id
(`ID-ck`), a date shifted back 4k years (so the newest month holds copy 0 only, as in an
archive), and a last paragraph "(Archive copy k.)" so the copies are distinct texts (the
planner indexes a text once). Vectors: a chunk's vector is the model's vector of its text
without that marker, cached on disk (`.cache/bench/embeddings/`); the ~100k distinct texts
are embedded once, seeded from the RealTime QA indexes under .cache/ when they are there. So
copies of a chunk share one vector and their BM25 terms differ by the marker: a stand-in for
an archive ten times larger, said so in the report.

`build` ingests part by part through `Index.ingest` (the real path: catalog, record manager,
Chroma, BM25 segments growing); killed, it resumes at the first part not fully catalogued.
`measure` opens the index in this process (retrieval p50/p95 unfiltered, up to the newest date,
over the newest month; answer p50/p95 with the default reader, and paired with the span reader in
OpenVINO and in torch), then starts `qa serve` on it:
seconds to /readyz, and its peak RSS after answering; disk per part of the index.
`grow` ingests 100 new articles into the built index and into an empty one, in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

from common import (
    CACHE,
    RESULTS,
    DiskCachedEmbedder,
    folder_bytes,
    latency_ms,
    machine,
    peak_rss_mb,
    queries,
    scale_corpus,
    write_json,
)

ROOT = Path(__file__).resolve().parent.parent
BASE_CHUNKS = 100_000
MARKER = re.compile(r"\s*\(Archive copy \d+\.\)\s*$")
YEARS_PER_COPY = 4


class MarkerFreeCache(DiskCachedEmbedder):
    """The disk cache, keyed by the text without the copy marker: copies share their vector."""

    def _key(self, text: str) -> str:
        return super()._key(MARKER.sub("", text))


def folders(chunks: int) -> tuple[Path, Path, Path]:
    root = CACHE / f"big-{chunks}"
    return root, root / "corpus", root / "index"


def shifted(day: str | None, years: int) -> str | None:
    if not day or years == 0:
        return day
    from qa.types import parse_date

    parsed = parse_date(day)
    if parsed is None:
        return day
    try:
        return parsed.replace(year=parsed.year - years).isoformat()
    except ValueError:  # 29 February
        return (parsed - timedelta(days=1)).replace(year=parsed.year - years).isoformat()


def write_part(records: list[dict[str, Any]], copy: int, path: Path) -> None:
    lines = []
    for record in records:
        out = dict(record)
        if copy:
            out["id"] = f"{record['id']}-c{copy}"
            out["date"] = shifted(record.get("date"), YEARS_PER_COPY * copy)
            out["text"] = f"{record['text'].rstrip()}\n\n(Archive copy {copy}.)"
        lines.append(json.dumps(out, ensure_ascii=False))
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)


def embedder() -> MarkerFreeCache:
    from qa.search.embedding import SentenceEmbedder

    inner = SentenceEmbedder(backend="openvino", cache_dir=CACHE / "models")
    return MarkerFreeCache(inner, CACHE / "embeddings" / f"{inner.name}.sqlite")


def seed_cache(cache: MarkerFreeCache) -> int:
    """Vectors already computed by the RealTime QA evaluation indexes, put in the cache."""
    import chromadb
    import numpy as np

    added = 0
    for index in sorted((ROOT / ".cache").glob("realtimeqa-*/index")):
        collection = chromadb.PersistentClient(path=str(index)).get_collection("news_qa")
        if (collection.metadata or {}).get("embedding_model") != cache.name:
            continue
        for offset in range(0, collection.count(), 5000):
            got = collection.get(include=["documents", "embeddings"], limit=5000, offset=offset)
            vectors = got["embeddings"]
            texts = got["documents"] or []
            rows = [
                (cache._key(text), np.asarray(vectors[i], dtype=np.float32).tobytes())
                for i, text in enumerate(texts)
                if vectors is not None
            ]
            cache.db.executemany("INSERT OR IGNORE INTO v VALUES (?, ?)", rows)
            added += len(rows)
        cache.db.commit()
    return added


def settings(corpus: Path, index: Path) -> Any:
    from qa.config import Settings

    return Settings(corpus_dir=corpus, index_dir=index, chroma_url=None)


def build(chunks: int, base_chunks: int, parts: int | None) -> None:
    from qa.ingest.index import Index

    root, corpus, index_dir = folders(chunks)
    corpus.mkdir(parents=True, exist_ok=True)
    base, info = scale_corpus(base_chunks)
    records = [json.loads(line) for line in (base / "articles.jsonl").open(encoding="utf-8")]
    copies = -(-chunks // info["estimated_chunks"])
    cache = embedder()
    print(
        f"seeded {seed_cache(cache)} cached vectors; {copies} copies of {len(records)} "
        f"articles (~{info['estimated_chunks']} chunks each)",
        flush=True,
    )
    index = Index(settings(corpus, index_dir), cache)
    log = root / "parts.jsonl"
    for copy in range(min(copies, parts or copies)):
        path = corpus / f"part-{copy:02d}.jsonl"
        if not path.exists():
            write_part(records, copy, path)
        started, embedded, hits = time.perf_counter(), cache.embedded, cache.hits

        def progress(done: int, total: int, copy: int = copy, started: float = started) -> None:
            if done * 20 // total != (done - 40) * 20 // total or done == total:  # about 5%
                print(
                    f"  part {copy}: {done}/{total} articles, "
                    f"{time.perf_counter() - started:.0f} s",
                    flush=True,
                )

        report = index.ingest([path], progress=progress, wait=600)
        entry = {
            "part": copy,
            "seconds": round(time.perf_counter() - started, 1),
            "chunks_added": report.chunks_added,
            "articles_added": len(report.added),
            "embedded": cache.embedded - embedded,
            "cache_hits": cache.hits - hits,
            "chunks_total": index.store.count(),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "load": round(os.getloadavg()[0], 2),
        }
        print(json.dumps(entry), flush=True)
        if report.changed:  # a resumed build passes the parts already in: not logged again
            with log.open("a") as f:
                f.write(json.dumps(entry) + "\n")


def timed(fn: Any, items: list[str]) -> dict[str, float]:
    samples = []
    for item in items:
        started = time.perf_counter()
        fn(item)
        samples.append(time.perf_counter() - started)
    return latency_ms(samples)


def measure_inside(corpus: Path, index_dir: Path, n: int) -> dict[str, Any]:
    from qa.answer.engine import Engine
    from qa.ingest.index import Index
    from qa.schema import AskRequest
    from qa.search.embedding import SentenceEmbedder

    started = time.perf_counter()
    model = SentenceEmbedder(backend="openvino", cache_dir=CACHE / "models")
    index = Index(settings(corpus, index_dir), model)
    engine = Engine(index.settings, index, model)
    engine.retrieve("warm-up question about the news")
    out: dict[str, Any] = {"open_and_first_query_s": round(time.perf_counter() - started, 1)}
    out["chunks"] = index.store.count()
    asked = queries(2 * n + 20)
    warm, timed_retrieval, timed_answer = asked[:20], asked[20 : 20 + n], asked[20 + n :]
    for question in warm:
        engine.ask(AskRequest(question=question))
    out["retrieval"] = timed(engine.retrieve, timed_retrieval)
    newest = index.catalog.last_date()
    assert newest is not None
    out["newest"] = newest.isoformat()
    out["retrieval_to_newest"] = timed(
        lambda q: engine.retrieve(q, date_to=newest), timed_retrieval
    )
    month = newest - timedelta(days=30)
    out["retrieval_one_month"] = timed(
        lambda q: engine.retrieve(q, date_from=month, date_to=newest), timed_retrieval
    )
    out["answer"] = timed(lambda q: engine.ask(AskRequest(question=q)), timed_answer)
    out["peak_rss_mb"] = round(peak_rss_mb(), 1)
    out["reader"] = paired_readers(engine, index, model, timed_answer)
    return out


def paired_readers(engine: Any, index: Any, model: Any, questions: list[str]) -> dict[str, Any]:
    """The answer with the span reader in OpenVINO (the default) and in torch, the same
    questions in alternating order (ABBA: neither gets every warm cache first)."""
    from qa.answer.engine import Engine
    from qa.schema import AskRequest

    other = Engine(index.settings.model_copy(update={"reader_backend": "torch"}), index, model)
    other.ask(AskRequest(question=questions[0]))  # loads the torch model
    engines = {"openvino": engine, "torch": other}
    samples: dict[str, list[float]] = {name: [] for name in engines}
    for n, question in enumerate(questions):
        for name in sorted(engines, reverse=n % 2 == 1):
            started = time.perf_counter()
            engines[name].ask(AskRequest(question=question))
            samples[name].append(time.perf_counter() - started)
    out: dict[str, Any] = {name: latency_ms(times) for name, times in samples.items()}
    out["openvino_vs_torch_p50"] = round(out["openvino"]["p50_ms"] / out["torch"]["p50_ms"], 3)
    return out


def measure_serve(corpus: Path, index_dir: Path, port: int, n: int) -> dict[str, Any]:
    """`qa serve` on the built index: seconds until /readyz answers 200, and its peak RSS."""
    env = {**os.environ, "QA_CORPUS_DIR": str(corpus), "QA_INDEX_DIR": str(index_dir)}
    command = [sys.executable, "-m", "qa.cli", "serve", "--port", str(port)]
    started = time.perf_counter()
    proc = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    out: dict[str, Any] = {}
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"qa serve exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            time.sleep(0.5)
        out["ready_s"] = round(time.perf_counter() - started, 1)
        samples = []
        for question in queries(n, seed=1):
            body = json.dumps({"question": question}).encode()
            request = urllib.request.Request(
                f"{url}/ask", body, {"Content-Type": "application/json"}
            )
            began = time.perf_counter()
            with urllib.request.urlopen(request, timeout=120) as response:
                response.read()
            samples.append(time.perf_counter() - began)
        out["http_ask"] = latency_ms(samples)
        status = Path(f"/proc/{proc.pid}/status").read_text()
        for key in ("VmHWM", "VmRSS"):
            kb = int(re.search(rf"{key}:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
            out[f"{key.lower()}_mb"] = round(kb / 1024, 1)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return out


def measure(chunks: int, n: int, port: int, out_path: Path) -> None:
    root, corpus, index_dir = folders(chunks)
    report: dict[str, Any] = {"machine": machine(), "chunks_target": chunks}
    parts = (root / "parts.jsonl").read_text().splitlines()
    report["build"] = [json.loads(line) for line in parts]
    report["disk_mb"] = {
        p.name: round((folder_bytes(p) if p.is_dir() else p.stat().st_size) / 1e6, 1)
        for p in index_dir.iterdir()
    }
    report["disk_mb"]["total"] = round(folder_bytes(index_dir) / 1e6, 1)
    report["corpus_mb"] = round(folder_bytes(corpus) / 1e6, 1)
    report["inside"] = measure_inside(corpus, index_dir, n)
    report["serve"] = measure_serve(corpus, index_dir, port, n)
    report["load_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report, indent=2))
    write_json(out_path, report)


def grow(chunks: int, base_chunks: int, rounds: int, out_path: Path, size: int = 100) -> None:
    """`size` new articles ingested into the built index and, in the same round, into an empty
    one (the order alternating by round), then deleted from the built index again. Their ids are
    new and their texts carry a new copy marker, so the chunk vectors come from the cache in
    both: the ratio is of everything an ingest does but the model (planning, the catalog and
    record manager, Chroma, BM25 growing and its merges)."""
    import tempfile

    from qa.ingest.index import Index

    _, corpus, index_dir = folders(chunks)
    base, _ = scale_corpus(base_chunks)
    records = [json.loads(line) for line in (base / "articles.jsonl").open(encoding="utf-8")]
    cache = embedder()
    built = Index(settings(corpus, index_dir), cache)
    report: dict[str, Any] = {"machine": machine(), "chunks": built.store.count(), "rounds": []}
    with tempfile.TemporaryDirectory(dir=CACHE) as scratch:
        for n in range(rounds):
            empty_root = Path(scratch) / f"round-{n}"
            (empty_root / "corpus").mkdir(parents=True)
            empty = Index(settings(empty_root / "corpus", empty_root / "index"), cache)
            lines = [
                json.dumps({**record, "id": f"{record['id']}-g{n}",
                            "text": f"{record['text'].rstrip()}\n\n(Archive copy {1000 + n}.)"})
                for record in records[n * size : (n + 1) * size]
            ]  # fmt: skip
            row: dict[str, Any] = {"load_before": round(os.getloadavg()[0], 2)}
            targets = {"into_built": built, "into_empty": empty}
            for name in sorted(targets, reverse=n % 2 == 1):
                path = targets[name].settings.corpus_dir / f"grow-{n}.jsonl"
                path.write_text("\n".join(lines) + "\n", encoding="utf-8")
                started = time.perf_counter()
                done = targets[name].ingest([path], wait=600)
                row[name] = round(time.perf_counter() - started, 2)
                row[f"{name}_chunks"] = done.chunks_added
            started = time.perf_counter()
            gone = built.delete(f"grow-{n}.jsonl", wait=600)
            row["delete_from_built"] = round(time.perf_counter() - started, 2)
            row["chunks_deleted"] = gone.chunks_deleted
            print(json.dumps(row), flush=True)
            report["rounds"].append(row)
    rows = report["rounds"]
    built_s = sorted(r["into_built"] for r in rows)[len(rows) // 2]
    empty_s = sorted(r["into_empty"] for r in rows)[len(rows) // 2]
    report["median_s"] = {"into_built": built_s, "into_empty": empty_s}
    report["ratio"] = round(built_s / empty_s, 2)
    report["chunks_after"] = built.store.count()
    print(json.dumps(report, indent=2))
    write_json(out_path, report)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("step", choices=("build", "measure", "grow"))
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--base", type=int, default=BASE_CHUNKS, help="chunks per copy")
    parser.add_argument("--parts", type=int, help="build only the first N parts (then resume)")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="grow: rounds of 100 articles")
    parser.add_argument("--port", type=int, default=8731)
    parser.add_argument("--json", type=Path, help="report file (default: results/big[-grow].json)")
    args = parser.parse_args()
    if args.step == "build":
        build(args.chunks, args.base, args.parts)
    elif args.step == "grow":
        grow(args.chunks, args.base, args.rounds, args.json or RESULTS / "big-grow.json")
    else:
        measure(args.chunks, args.queries, args.port, args.json or RESULTS / "big.json")


if __name__ == "__main__":
    main()
