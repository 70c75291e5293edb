"""Shared helpers of the benchmarks: the news corpora, derived dumps, tables, JSON, memory.

The data is read in place from ../shared/data (BENCH_DATA overrides it); derived files go to the
git-ignored .cache/bench/, results to the git-ignored bench/results/.
"""

from __future__ import annotations

import gzip
import json
import os
import platform
import re
import resource
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("BENCH_DATA", ROOT.parent / "shared" / "data"))
CACHE = ROOT / ".cache" / "bench"
RESULTS = ROOT / "bench" / "results"
SOURCES = ("reuters", "realtimeqa")


def iter_reuters() -> Iterator[dict[str, Any]]:
    """Reuters-21578 stories with a body; the 65-column indents become paragraph breaks."""
    with gzip.open(DATA / "reuters21578" / "reuters21578.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            body = record.get("body") or ""
            if record.get("text_type") != "NORM" or not body.strip():
                continue
            body = re.sub(r"\s*\bReuter\s*\Z", "", body)
            text = re.sub(r"\n[ \t]+", "\n\n", body)
            yield {
                "id": f"reuters-{record['newid']}",
                "title": (record.get("title") or "").title() or None,
                "date": record.get("date"),
                "text": text,
            }


def iter_realtimeqa() -> Iterator[dict[str, Any]]:
    """RealTime QA's 6,775 dated news articles (median 5.4k characters)."""
    with gzip.open(DATA / "realtimeqa" / "articles.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            yield {
                "id": record["article_id"],
                "title": record.get("title") or None,
                "date": record.get("publish_date"),
                "text": record["text"],
            }


def iter_source(source: str) -> Iterator[dict[str, Any]]:
    if source == "reuters":
        return iter_reuters()
    if source == "realtimeqa":
        return iter_realtimeqa()
    raise SystemExit(f"unknown corpus {source!r}; use one of {', '.join(SOURCES)}")


def write_dump(
    records: Sequence[dict[str, Any]], folder: Path, name: str = "articles.jsonl"
) -> Path:
    """A .jsonl dump of `records` in `folder` (rewritten only when its content changes)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if not path.exists() or path.read_text(encoding="utf-8") != body:
        path.write_text(body, encoding="utf-8")
    return path


def corpus_folder(source: str, articles: int) -> Path:
    """The first `articles` articles of `source` as one derived dump under .cache/bench/."""
    records = []
    for record in iter_source(source):
        records.append(record)
        if len(records) >= articles:
            break
    if len(records) < articles:
        raise SystemExit(f"{source} has only {len(records)} usable articles, not {articles}")
    folder = CACHE / f"{source}-{articles}"
    write_dump(records, folder)
    return folder


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def latency_ms(samples: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples]
    return {
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "mean_ms": round(statistics.fmean(ms), 2) if ms else float("nan"),
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User + system CPU time of this process (all threads): less sensitive than wall time to
    other processes competing for the shared cores."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def folder_bytes(folder: Path) -> int:
    if not folder.exists():
        return 0
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_avg_1m_at_start": round(load[0], 2),
        "cpu": _cpu_model(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """A plain-text table of `rows` restricted to `columns`."""
    cells = [[fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)))


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    print(f"\nwrote {path}")


# -- corpora sized in chunks (scale benchmark) -------------------------------------------------


def our_chunk_count(record: dict[str, Any]) -> tuple[str, int]:
    """(content hash, number of chunks) our pipeline makes of one record (cl100k budget)."""
    from qa.ingest.chunking import chunk_article
    from qa.ingest.cleaning import clean_text
    from qa.types import Article, parse_date

    article = Article(record["id"], clean_text(record["text"]), parse_date(record.get("date")))
    return article.content_hash, len(chunk_article(article)) if article.text else 0


def scale_corpus(chunks: int) -> tuple[Path, dict[str, Any]]:
    """RealTime QA articles (then Reuters-21578) until our pipeline makes `chunks` chunks.

    Cached under .cache/bench/scale-N/ with a manifest; duplicates do not count.
    """
    folder = CACHE / f"scale-{chunks}"
    manifest = folder / "manifest.json"
    if manifest.exists() and (folder / "corpus" / "articles.jsonl").exists():
        return folder / "corpus", json.loads(manifest.read_text())
    records: list[dict[str, Any]] = []
    seen: set[str] = set()
    total = 0
    for source in ("realtimeqa", "reuters"):
        for record in iter_source(source):
            digest, count = our_chunk_count(record)
            records.append(record)
            if digest not in seen:
                seen.add(digest)
                total += count
            if total >= chunks:
                break
        if total >= chunks:
            break
    write_dump(records, folder / "corpus")
    info = {
        "target_chunks": chunks,
        "estimated_chunks": total,
        "articles": len(records),
        "characters": sum(len(r["text"]) for r in records),
        "reuters_articles": sum(r["id"].startswith("reuters-") for r in records),
    }
    manifest.write_text(json.dumps(info, indent=2))
    return folder / "corpus", info


def queries(n: int, seed: int = 0) -> list[str]:
    """`n` RealTime QA questions (seeded sample): realistic news questions for latency."""
    import random

    lines = (DATA / "realtimeqa" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question_sentence"] for line in lines if line.strip()]
    return random.Random(seed).sample(questions, min(n, len(questions)))


# -- an embedding cache on disk (so the 100k run embeds once) ------------------------------------


class DiskCachedEmbedder:
    """Wraps an embedder; vectors are kept in SQLite under .cache/ keyed by model and text."""

    def __init__(self, inner: Any, path: Path) -> None:
        import sqlite3

        self.inner = inner
        self.name, self.dim, self.max_tokens = inner.name, inner.dim, inner.max_tokens
        self.embedded = 0
        self.hits = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), check_same_thread=False)
        self.db.execute("CREATE TABLE IF NOT EXISTS v (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")

    @property
    def seconds(self) -> float:
        return float(self.inner.seconds)

    def _key(self, text: str) -> str:
        import hashlib

        return hashlib.sha1(f"{self.name}\x1f{text}".encode()).hexdigest()

    def count_tokens(self, texts: list[str]) -> list[int]:
        return self.inner.count_tokens(texts)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        import numpy as np

        self.embedded += len(texts)
        keys = [self._key(t) for t in texts]
        found: dict[str, list[float]] = {}
        for i in range(0, len(keys), 500):
            part = keys[i : i + 500]
            marks = ",".join("?" * len(part))
            for key, blob in self.db.execute(
                f"SELECT key, vec FROM v WHERE key IN ({marks})", part
            ):
                found[key] = np.frombuffer(blob, dtype=np.float32).tolist()
        missing = [(k, t) for k, t in zip(keys, texts, strict=True) if k not in found]
        self.hits += len(texts) - len(missing)
        if missing:
            vectors = self.inner.embed_documents([t for _, t in missing])
            rows = [
                (k, np.asarray(v, dtype=np.float32).tobytes())
                for (k, _), v in zip(missing, vectors, strict=True)
            ]
            self.db.executemany("INSERT OR REPLACE INTO v VALUES (?, ?)", rows)
            self.db.commit()
            found.update((k, v) for (k, _), v in zip(missing, vectors, strict=True))
        return [found[k] for k in keys]

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


# -- workers: one measured pipeline per fresh process (so peak memory is its own) ---------------


class LoadGuard:
    """Comparisons only from a quiet machine: waits for the 1-minute load average to fall to
    `max_load` before each measured run (our own previous run decays in about a minute), and
    refuses (SystemExit) when it does not within `settle_s`, unless `force` (then the runs
    that started under load are listed in `loaded`, and the report says so)."""

    def __init__(
        self,
        max_load: float = 1.0,
        settle_s: float = 300.0,
        force: bool = False,
        load: Callable[[], float] = lambda: os.getloadavg()[0],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.max_load, self.settle_s, self.force = max_load, settle_s, force
        self.load, self.sleep = load, sleep
        self.loaded: list[dict[str, Any]] = []

    def wait(self, what: str) -> float:
        """The load average once it is at most `max_load` (or, forced, when waiting ends)."""
        waited = 0.0
        while (load := self.load()) > self.max_load and waited < self.settle_s:
            step = min(10.0, self.settle_s - waited)
            self.sleep(step)
            waited += step
        if load > self.max_load:
            if not self.force:
                raise SystemExit(
                    f"load average {load:.2f} > {self.max_load} after waiting {waited:.0f} s "
                    f"before {what}: the machine is not quiet, so no comparison is written "
                    "(stop what else runs, or pass --force to measure anyway, marked as loaded)"
                )
            self.loaded.append({"run": what, "load_before": round(load, 2)})
        return round(load, 2)

    def summary(self) -> dict[str, Any]:
        return {"max_load": self.max_load, "quiet": not self.loaded, "loaded_runs": self.loaded}


def run_worker(
    args: Sequence[str], out: Path, log: Path | None = None, guard: LoadGuard | None = None
) -> dict[str, Any]:
    """Run `python ARGS --json OUT` in a fresh interpreter and return its JSON.

    With a `guard`, the run starts on a quiet machine and its result records the load
    average before and after it."""
    import subprocess
    import sys

    before = guard.wait(out.stem) if guard else round(os.getloadavg()[0], 2)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    cmd = [sys.executable, *args, "--json", str(out)]
    print(f"$ {' '.join(cmd)}", flush=True)
    with (log or out.with_suffix(".log")).open("w") as handle:
        code = subprocess.run(cmd, stdout=handle, stderr=subprocess.STDOUT, check=False).returncode
    if code != 0 or not out.exists():
        tail = (log or out.with_suffix(".log")).read_text(errors="replace")[-3000:]
        raise SystemExit(f"worker failed ({code}): {' '.join(cmd)}\n{tail}")
    result: dict[str, Any] = json.loads(out.read_text())
    result["load_before"], result["load_after"] = before, round(os.getloadavg()[0], 2)
    return result
