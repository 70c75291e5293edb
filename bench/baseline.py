"""The plain LangChain tutorial pipeline, measured the same way as ours (bench/scale.py).

RecursiveCharacterTextSplitter(1000, 200) -> HuggingFaceEmbeddings (the same packaged
all-MiniLM-L6-v2) -> Chroma.from_documents -> similarity_search(k=5). No cleaning, no
deduplication, no idempotent re-indexing: a re-run embeds everything again.

    .venv/bin/python bench/baseline.py [--chunks 1000 | --corpus-dir DIR] [--queries 100]
                                       [--second] [--gold GOLD.jsonl] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")  # no network calls timed by accident

from common import (
    RESULTS,
    cpu_seconds,
    folder_bytes,
    latency_ms,
    machine,
    peak_rss_mb,
    print_table,
    queries,
    scale_corpus,
    write_json,
)
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings


class Timed(Embeddings):
    """Measurement only: counts texts and seconds inside the wrapped embeddings."""

    def __init__(self, inner: Embeddings) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.embedded = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        started = time.perf_counter()
        vectors = self.inner.embed_documents(texts)
        self.seconds += time.perf_counter() - started
        self.embedded += len(texts)
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def tutorial_embeddings() -> Embeddings:
    """HuggingFaceEmbeddings on the packaged model folder (what the tutorial would load)."""
    from langchain_huggingface import HuggingFaceEmbeddings

    from qa.search.embedding import resolve_model

    return HuggingFaceEmbeddings(
        model_name=str(resolve_model("all-MiniLM-L6-v2")), model_kwargs={"device": "cpu"}
    )


def load_documents(corpus: Path) -> list[Document]:
    """One Document per record of every .jsonl dump in `corpus` (source = FILE#ID)."""
    docs = []
    for path in sorted(corpus.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            meta = {"source": f"{path.name}#{record['id']}"}
            meta.update({k: str(record[k]) for k in ("title", "date") if record.get(k)})
            docs.append(Document(page_content=record["text"], metadata=meta))
    return docs


def ingest(corpus: Path, persist: Path, embeddings: Embeddings) -> tuple[Any, int]:
    """The tutorial's indexing: load, split, embed and store; returns (store, chunk count)."""
    from langchain_chroma import Chroma
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=1000, chunk_overlap=200, add_start_index=True
    )
    splits = splitter.split_documents(load_documents(corpus))
    store = Chroma.from_documents(
        documents=splits, embedding=embeddings, persist_directory=str(persist)
    )
    return store, len(splits)


def quality(store: Any, gold_path: Path, k: int = 5) -> dict[str, Any]:
    """Recall@k and MRR of the gold sources with plain similarity_search (no date filter)."""
    from qa.evaluation import load_gold, needed, reciprocal_rank, source_hits

    items = [i for i in load_gold(gold_path) if i.answerable and i.sources]
    hits = rr = 0.0
    for item in items:
        ranked = [d.metadata["source"] for d in store.similarity_search(item.question, k=k)]
        hits += source_hits(ranked, item)
        rr += reciprocal_rank(ranked, item)
    total = sum(needed(i) for i in items)
    return {
        "questions": len(items),
        f"recall@{k}": round(hits / total, 4) if total else None,
        "mrr": round(rr / len(items), 4) if items else None,
    }


def measure(corpus: Path, n_queries: int, second: bool, gold: Path | None = None) -> dict[str, Any]:
    """Ingest (and optionally re-run), then warm query latency, in this process."""
    work = Path(tempfile.mkdtemp(prefix="bench-plain-"))
    try:
        rss_start = peak_rss_mb()
        embeddings = Timed(tutorial_embeddings())
        embeddings.embed_documents(["warm-up sentence for the model"] * 8)
        embeddings.seconds, embeddings.embedded = 0.0, 0
        rss_model = peak_rss_mb()
        started, cpu = time.perf_counter(), cpu_seconds()
        store, chunks = ingest(corpus, work / "chroma", embeddings)
        first, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        in_model = embeddings.seconds
        result: dict[str, Any] = {
            "pipeline": "plain langchain",
            "backend": "torch",
            "chunks": chunks,
            "ingest_s": round(first, 2),
            "ingest_cpu_s": round(cpu, 2),
            "chunks_per_s": round(chunks / first, 2),
            "model_share": round(in_model / first, 4),
            "index_mb": round(folder_bytes(work) / 1e6, 1),
            "rss_start_mb": round(rss_start, 1),
            "rss_model_mb": round(rss_model, 1),
        }
        asked = queries(n_queries + 10)
        for question in asked[:10]:
            store.similarity_search(question, k=5)
        samples = []
        for question in asked[10:]:
            started = time.perf_counter()
            store.similarity_search(question, k=5)
            samples.append(time.perf_counter() - started)
        result["retrieval"] = latency_ms(samples)
        if gold is not None:
            result["quality"] = quality(store, gold)
        if second:
            started = time.perf_counter()
            ingest(corpus, work / "chroma-rerun", embeddings)
            result["second_s"] = round(time.perf_counter() - started, 2)
        result["peak_rss_mb"] = round(peak_rss_mb(), 1)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=1000, help="corpus size, in our chunks")
    parser.add_argument("--corpus-dir", type=Path, help="use this folder of .jsonl dumps instead")
    parser.add_argument("--queries", type=int, default=100, help="timed queries (after 10 warm)")
    parser.add_argument("--second", action="store_true", help="also time a re-run of the ingest")
    parser.add_argument("--gold", type=Path, help="gold.jsonl: report recall@5 and MRR")
    parser.add_argument("--json", type=Path, default=RESULTS / "baseline.json")
    args = parser.parse_args(argv)
    corpus = args.corpus_dir or scale_corpus(args.chunks)[0]
    result = measure(corpus, args.queries, args.second, args.gold)
    result["corpus"] = str(corpus)
    result["machine"] = machine()
    row = {**result, **{f"retrieval_{k}": v for k, v in result["retrieval"].items()}}
    print_table(
        [row],
        [
            *("pipeline", "chunks", "ingest_s", "ingest_cpu_s", "chunks_per_s", "model_share"),
            "index_mb",
            *("peak_rss_mb", "retrieval_p50_ms", "retrieval_p95_ms"),
        ],
    )
    write_json(args.json, result)


if __name__ == "__main__":
    main()
