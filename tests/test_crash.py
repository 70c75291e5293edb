"""Crash-safe ingest: `qa ingest` killed with SIGKILL, then run again, equals a clean ingest.

Also the checker behind `qa verify` (qa/ingest/index_check.py) and `reindex`, on small fast indexes.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from qa.config import Settings
from qa.ingest.index import Index
from qa.ingest.index_check import reindex, verify_index
from qa.search.embedding import Embedder
from tests.conftest import SEEDS, HashEmbedder, make_settings

ROOT = Path(__file__).resolve().parent.parent
QA = ROOT / ".venv" / "bin" / "qa"
KILLS = 3
TOPICS = ["harbour", "railway", "vaccine", "election", "drought", "bridge", "festival", "tariff"]
PLACES = ["Lisbon", "Nairobi", "Osaka", "Quito", "Tallinn", "Perth", "Accra", "Hanoi"]


def synthetic_corpus(folder: Path, extra: int = 20, seed: int = 7) -> None:
    """The seeds plus `extra` small dated articles, deterministic for one seed."""
    shutil.copytree(SEEDS, folder)
    rng = random.Random(seed)
    for i in range(extra):
        topic, place = rng.choice(TOPICS), rng.choice(PLACES)
        paragraphs = [
            f"Officials in {place} announced a new {topic} plan on day {i} of the session. "
            f"The plan costs {rng.randint(2, 900)} million "
            f"and covers {rng.randint(3, 60)} districts.",
            f"Critics of the {topic} plan in {place} said the figure of {rng.randint(10, 99)} "
            f"percent was too optimistic. Supporters expect results within {i + 2} years.",
            f"Article {i}: the council will vote again in {rng.choice(PLACES)} next month.",
        ]
        day = f"2024-{1 + i % 12:02d}-{1 + i:02d}"
        body = "\n\n".join(paragraphs)
        (folder / f"synthetic_{i:02d}.txt").write_text(f"date {day} Title: {topic} {i}\n{body}\n")


@dataclass(frozen=True)
class State:
    chunks: frozenset[str]
    records: tuple[str, ...]
    lexical: tuple[str, ...]
    catalog: dict[str, tuple[str, int]]
    problems: list[str]


def snapshot(index_dir: Path, corpus: Path, embedder: Embedder, into: Path) -> State:
    """Everything derived, read from a copy (so no Chroma client here caches a stale folder)."""
    shutil.copytree(index_dir, into)
    index = Index(Settings(corpus_dir=corpus, index_dir=into), embedder)
    rows = index.catalog.rows()
    return State(
        chunks=frozenset(c.chunk_id for c in index.store.iter_all()),
        records=tuple(sorted(index.records.list_keys())),
        lexical=tuple(sorted(index.lexical().live_ids())),
        catalog={s: (r.content_hash, r.chunk_count) for s, r in rows.items()},
        problems=verify_index(index),
    )


def run_ingest(corpus: Path, index_dir: Path, *args: str, kill_after: float | None = None) -> int:
    """`qa ingest` in a subprocess, SIGKILLed after `kill_after` seconds if still running."""
    env = dict(os.environ, QA_CORPUS_DIR=str(corpus), QA_INDEX_DIR=str(index_dir))
    proc = subprocess.Popen(
        [str(QA), "ingest", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if kill_after is not None:
        try:
            proc.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
    output, _ = proc.communicate(timeout=600)
    if kill_after is None:
        assert proc.returncode == 0, output
    return proc.returncode


@pytest.mark.slow
@pytest.mark.integration
def test_sigkill_then_ingest_equals_clean_ingest(tmp_path: Path, real_embedder: Embedder) -> None:
    corpus = tmp_path / "corpus"
    synthetic_corpus(corpus)
    clean_dir = tmp_path / "clean"
    started = time.monotonic()
    run_ingest(corpus, clean_dir)
    total = time.monotonic() - started
    clean = snapshot(clean_dir, corpus, real_embedder, tmp_path / "snap-clean")
    assert clean.problems == []
    assert len(clean.catalog) == 25 and len(clean.chunks) > 25

    rng = random.Random(20240302)
    crashed = tmp_path / "crashed"
    killed = 0
    for round_ in range(KILLS):
        # the first round crashes a first ingest, the others a `--reset` rebuild of that index
        args = () if round_ == 0 else ("--reset",)
        code = run_ingest(corpus, crashed, *args, kill_after=rng.uniform(0.3, 1.0) * total)
        killed += code == -signal.SIGKILL
        run_ingest(corpus, crashed)
        state = snapshot(crashed, corpus, real_embedder, tmp_path / f"snap-{round_}")
        assert state.problems == [], f"round {round_}: {state.problems}"
        assert state.chunks == clean.chunks
        assert state.records == clean.records and len(set(state.records)) == len(state.records)
        assert state.lexical == clean.lexical
        assert state.catalog == clean.catalog
    assert killed >= 1, "no ingest was still running when killed; the test proved nothing"


# -- verify_index and reindex, fast ---------------------------------------------------------


@pytest.fixture
def hashed(tmp_path: Path) -> Index:
    index = Index(make_settings(tmp_path), HashEmbedder())
    index.ingest()
    return index


def test_clean_index_verifies(hashed: Index) -> None:
    assert verify_index(hashed) == []


def test_duplicate_file_is_not_a_difference(hashed: Index) -> None:
    corpus = hashed.settings.corpus_dir
    first = sorted(corpus.iterdir())[0]
    (corpus / "copy_of_first.txt").write_text(first.read_text())
    assert verify_index(hashed) == []


def test_unindexed_changed_and_removed_articles_are_reported(hashed: Index) -> None:
    corpus = hashed.settings.corpus_dir
    files = sorted(corpus.iterdir())
    (corpus / "new.txt").write_text("date 2024-01-01 Title: New\nA brand new article about owls.")
    files[0].write_text(files[0].read_text() + "\n\nOne more paragraph about otters.")
    files[1].unlink()
    problems = "\n".join(verify_index(hashed))
    assert "new.txt is in the corpus but not in the catalog" in problems
    assert f"{files[0].name} changed on disk" in problems
    assert f"have no corpus file: {files[1].name}" in problems


def test_lost_orphan_and_dirty_chunks_are_reported_and_reindex_repairs(hashed: Index) -> None:
    lost = next(hashed.store.iter_all()).chunk_id
    hashed.store.delete([lost])
    hashed.store.vectors.add_texts(["orphan"], metadatas=[{"source": "ghost.txt"}], ids=["ghost"])
    hashed.catalog.set_state("dirty", "1")
    problems = "\n".join(verify_index(hashed))
    assert f"record manager chunk ids not in Chroma: {lost}" in problems
    assert f"BM25 state chunk ids not in Chroma: {lost}" in problems
    assert "Chroma chunks missing from the record manager: ghost" in problems
    assert "uncataloged sources: ghost.txt" in problems
    assert "dirty flag" in problems
    report = reindex(hashed.settings, HashEmbedder())
    assert len(report.added) == 5
    again = Index(hashed.settings, HashEmbedder())
    assert verify_index(again) == []
    counts = Counter(c.metadata["source"] for c in again.store.iter_all())
    assert "ghost.txt" not in counts and lost in {c.chunk_id for c in again.store.iter_all()}
