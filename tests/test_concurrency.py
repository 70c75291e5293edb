"""Questions are answered while an ingest runs; a second ingest waits or is refused by the lock."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from qa.answer.engine import Engine
from qa.errors import BusyError
from qa.ingest.index import Index
from qa.ingest.index_check import verify_index
from qa.ingest.report import IngestReport
from qa.schema import Answer, AskRequest
from qa.search.embedding import Embedder
from tests.conftest import make_settings
from tests.test_crash import snapshot, synthetic_corpus

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
QA = ROOT / ".venv" / "bin" / "qa"
QUESTIONS = [
    "Who leads the new movement against the junta in Niger?",
    "What is the main objective of the Council of Resistance for the Republic?",
]
PROBE = """
import sys
from qa.config import Settings
from qa.errors import BusyError
from qa.search.embedding import make_embedder
from qa.ingest.index import Index
settings = Settings()
index = Index(settings, make_embedder(settings))
try:
    index.ingest(wait=1.0)
except BusyError as exc:
    print(f"error: {exc}")
    sys.exit(3)
"""


@pytest.fixture
def seeded(tmp_path: Path, real_embedder: Embedder) -> Index:
    """The seeds indexed, and 40 more articles waiting in the corpus folder."""
    synthetic_corpus(tmp_path / "full", extra=40)
    settings = make_settings(tmp_path, corpus=tmp_path / "full")
    for path in settings.corpus_dir.glob("synthetic_*.txt"):
        path.rename(settings.corpus_dir / f".later-{path.name}")
    index = Index(settings, real_embedder)
    index.ingest()
    for path in settings.corpus_dir.glob(".later-*"):
        path.rename(settings.corpus_dir / path.name.removeprefix(".later-"))
    return index


def _env(index: Index) -> dict[str, str]:
    settings = index.settings
    return dict(
        os.environ, QA_CORPUS_DIR=str(settings.corpus_dir), QA_INDEX_DIR=str(settings.index_dir)
    )


def test_questions_are_answered_during_an_ingest(seeded: Index, real_embedder: Embedder) -> None:
    engine = Engine(seeded.settings, seeded, real_embedder)
    reports: list[IngestReport] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            reports.append(seeded.ingest())
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    answers: list[Answer] = []
    while True:  # at least one round, then until the ingest is done
        answers.extend(engine.ask(AskRequest(question=q)) for q in QUESTIONS)
        if not worker.is_alive():
            break
    worker.join()
    assert failures == []
    assert len(reports[0].added) == 40
    for answer in answers:
        assert not answer.refused, answer.answer
        assert answer.citations[0].source.startswith("000_")
    assert verify_index(seeded) == []


def test_second_ingest_in_this_process_is_refused_naming_the_lock(
    seeded: Index, real_embedder: Embedder
) -> None:
    other = Index(seeded.settings, real_embedder)
    with seeded.lock, pytest.raises(BusyError, match=r"another ingest holds .*\.ingest\.lock"):
        other.ingest(wait=0.5)
    assert other.ingest().added, "after the lock is released the ingest runs"
    assert verify_index(seeded) == []


def test_ingest_in_another_process_is_refused_naming_the_lock(seeded: Index) -> None:
    with seeded.lock:
        result = subprocess.run(
            [sys.executable, "-c", PROBE],
            cwd=ROOT,
            env=_env(seeded),
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert result.returncode == 3, result.stdout + result.stderr
    lock = seeded.settings.index_dir / ".ingest.lock"
    assert f"another ingest holds {lock}" in result.stdout
    assert seeded.catalog.count() == 5 and seeded.catalog.get_state("dirty") != "1"


def test_cli_ingest_waits_for_the_lock_then_runs(seeded: Index, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [str(QA), "ingest"],
        cwd=ROOT,
        env=_env(seeded),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    with seeded.lock:
        time.sleep(20)  # longer than the whole ingest takes unlocked (model load included)
        still_waiting = proc.poll() is None
        before = seeded.catalog.count()
    output, _ = proc.communicate(timeout=600)
    assert still_waiting, f"the CLI did not wait for the lock: {output}"
    assert before == 5, "nothing was written while the lock was held"
    assert proc.returncode == 0, output
    assert "added 40" in output
    # read a copy: this process's Chroma client may cache the folder the CLI just wrote
    state = snapshot(
        seeded.settings.index_dir, seeded.settings.corpus_dir, seeded.embedder, tmp_path / "copy"
    )
    assert state.problems == [] and len(state.catalog) == 45


def test_the_same_question_gets_the_same_answer_alone_and_with_8_concurrent_clients(
    seed_index: Index, real_embedder: Embedder
) -> None:
    """Issue 27, item 7 (in one process): every seed question asked by 8 threads at once on a
    cold engine (empty caches: which thread embeds and tags a text first varies) gets the
    answer a serial run on another cold engine gets. Two *processes* on one embedded-Chroma
    index are a different matter: see the issue's closing note."""
    import json
    from concurrent.futures import ThreadPoolExecutor

    gold = (ROOT / "eval" / "gold" / "seeds.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in gold if line.strip()]

    def ask(engine: Engine[Index], question: str) -> tuple[object, ...]:
        a = engine.ask(AskRequest(question=question))
        return a.refused, a.answer, [(c.source, c.start, c.end) for c in a.citations]

    busy = Engine(seed_index.settings, seed_index, real_embedder)
    with ThreadPoolExecutor(8) as pool:
        concurrent = list(pool.map(lambda q: ask(busy, q), questions))
    alone = Engine(seed_index.settings, seed_index, real_embedder)
    serial = [ask(alone, q) for q in questions]
    differ = [q for q, s, c in zip(questions, serial, concurrent, strict=True) if s != c]
    assert differ == [], differ


def test_one_question_asked_by_8_threads_at_once_gets_one_answer(
    seed_index: Index, real_embedder: Embedder
) -> None:
    """Issue 27, item 7: the *same* question from 8 threads at once on a cold engine (they race
    for the lazily loaded reader, tagger and caches) gets the serial answer, field by field:
    text, short answer, refusal, citations (file, offsets, quote), dropped sentences."""
    from concurrent.futures import ThreadPoolExecutor
    from functools import partial

    questions = [  # our own wording: a person, a date, and one the seeds cannot answer
        "Which former rebel heads the new council opposing Niger's junta?",
        "When did the military seize power in Niger?",
        "What did the harbour office of Tallinn report about ferry traffic?",
    ]

    def ask(engine: Engine[Index], question: str) -> dict[str, object]:
        fields = {"answer", "short_answer", "refused", "citations", "dropped_sentences", "newer"}
        return engine.ask(AskRequest(question=question)).model_dump(include=fields)

    together = {}
    for question in questions:  # first, on cold engines: the threads race to fill the caches
        cold = Engine(seed_index.settings, seed_index, real_embedder)
        with ThreadPoolExecutor(8) as pool:
            together[question] = list(pool.map(partial(ask, cold), [question] * 8))
    alone = Engine(seed_index.settings, seed_index, real_embedder)
    serial = {q: ask(alone, q) for q in questions}
    assert not serial[questions[0]]["refused"] and serial[questions[2]]["refused"]
    for question, answers in together.items():
        for n, answer in enumerate(answers):
            assert answer == serial[question], (question, n)
