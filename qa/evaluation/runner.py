"""The runner: asks an engine every gold question with each backend and adds the results up."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

from qa.errors import InputError, QAError
from qa.evaluation.changing import is_changing, score_changing, summarize_changing
from qa.evaluation.followup import (
    add_followup,
    baseline_request,
    followup_request,
    summarize_followups,
)
from qa.evaluation.gold import GoldItem, load_gold
from qa.evaluation.metrics import Metric, Outcome, SupportCheck, latency, ratio, score, summarize
from qa.evaluation.retrieval import needed, reciprocal_rank, source_hits
from qa.evaluation.timeline import score_timeline, summarize_timeline
from qa.schema import Answer, AskRequest

MODES = ("hybrid", "dense", "lexical")
SETTINGS_SHOWN = (
    "corpus_dir",
    "embedding_model",
    "chunk_tokens",
    "chunk_overlap",
    "top_k",
    "max_chunks_per_source",
    "refusal_threshold",
    "support_threshold",
)


class EvalEngine(Protocol):
    """What the runner needs of `qa.answer.engine.Engine`."""

    @property
    def settings(self) -> Any: ...
    def ask(self, request: AskRequest) -> Answer: ...
    def retrieve(
        self,
        question: str,
        top_k: int | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        mode: Any = "hybrid",
        as_of: date | None = None,
    ) -> Sequence[Any]: ...
    def supports(self, sentence: str, evidence: Sequence[str]) -> bool: ...
    def chunk_texts(self, ids: list[str]) -> dict[str, str]: ...


class BackendReport(BaseModel):
    metrics: dict[str, Metric]
    latency_ms: dict[str, dict[str, float]]
    outcomes: list[Outcome]


class RetrievalReport(BaseModel):
    recall: Metric  # gold sources in the top k (as in `needed`)
    mrr: Metric


def git_commit(root: Path = Path(__file__).resolve().parents[2]) -> str | None:
    """The commit of the code in `root` ("+dirty" when tracked files differ from it), or None
    outside a git checkout (an installed wheel)."""
    try:
        git = ["git", "-C", str(root)]
        head = subprocess.run(
            [*git, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
        if head.returncode:
            return None
        dirty = subprocess.run([*git, "diff", "--quiet", "HEAD"], timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.returncode else "")


class Report(BaseModel):
    """Everything one `qa eval` run measured; saved as report.json."""

    created: str
    gold: str
    questions: int
    answerable: int
    top_k: int  # passages handed to the answer step
    recall_k: int = 5  # passages the retrieval metrics look at
    settings: dict[str, Any] = Field(default_factory=dict)
    settings_hash: str | None = None  # Settings.fingerprint(): every setting that shapes answers
    commit: str | None = None  # the code's git commit, "+dirty" with uncommitted changes
    retrieval: dict[str, RetrievalReport] = Field(default_factory=dict)
    backends: dict[str, BackendReport] = Field(default_factory=dict)

    def flat(self) -> dict[str, float | None]:
        """Every metric value by name: `backend:metric` and `retrieval_recall_<mode>`..."""
        values: dict[str, float | None] = {}
        for backend, rep in self.backends.items():
            values.update({f"{backend}:{k}": m.value for k, m in rep.metrics.items()})
        for mode, r in self.retrieval.items():
            values[f"retrieval_recall_{mode}"] = r.recall.value
            values[f"retrieval_mrr_{mode}"] = r.mrr.value
        return values


def evaluate_retrieval(
    engine: EvalEngine, gold: Sequence[GoldItem], top_k: int, modes: Sequence[str] = MODES
) -> dict[str, RetrievalReport]:
    """Recall@k and MRR of the gold sources per retrieval mode, independent of any answer."""
    # a follow-up's retrieval depends on its condensing: measured by the follow-up metrics
    items = [i for i in gold if i.answerable and i.sources and i.kind != "followup"]
    result = {}
    for mode in modes:
        hits = rr = 0.0
        for item in items:
            passages = engine.retrieve(
                item.question, top_k, item.date_from, item.date_to, mode, as_of=item.as_of
            )
            ranked = [p.source for p in passages]
            hits += source_hits(ranked, item)
            rr += reciprocal_rank(ranked, item)
        result[mode] = RetrievalReport(
            recall=ratio(hits, sum(needed(i) for i in items)),
            mrr=Metric(
                value=rr / len(items) if items else None, count=rr, total=len(items), kind="mean"
            ),
        )
    return result


def ask_one(
    engine: EvalEngine,
    item: GoldItem,
    backend: str,
    top_k: int | None,
    support: SupportCheck,
    fetch: Callable[[list[str]], dict[str, str]],
) -> Outcome:
    """Ask one gold question; a backend failure is recorded as an error, not raised."""
    request = AskRequest.model_validate(
        {
            "question": item.question,
            "top_k": top_k,
            "date_from": item.date_from,
            "date_to": item.date_to,
            "as_of": item.as_of,
            "backend": backend,
        }
    )
    if item.kind == "followup":
        request = followup_request(item, backend, top_k)
    started = time.perf_counter()
    try:
        answer = engine.ask(request)
        wall = (time.perf_counter() - started) * 1000
        if item.kind == "followup":
            baseline = engine.ask(baseline_request(item, backend, top_k))
    except QAError as exc:
        return Outcome(
            id=item.id,
            question=item.question,
            answerable=item.answerable,
            expected=item.answers,
            sources=item.sources,
            error=f"{type(exc).__name__}: {exc}",
            kind=item.kind,
        )
    if item.kind == "timeline":
        return score_timeline(item, answer, wall)
    texts = fetch([c.chunk_id for c in answer.citations]) if answer.citations else {}
    outcome = score(item, answer, support, texts, wall)
    if item.kind == "followup":
        outcome = add_followup(outcome, item, answer, baseline)
    return score_changing(item, answer, outcome) if is_changing(item) else outcome


def evaluate_backend(
    engine: EvalEngine,
    gold: Sequence[GoldItem],
    backend: str,
    top_k: int | None,
    support: SupportCheck,
    fetch: Callable[[list[str]], dict[str, str]],
    progress: Callable[[int, int], None] | None = None,
) -> BackendReport:
    """Ask every gold question with one backend and score the answers."""
    outcomes = []
    for n, item in enumerate(gold, start=1):
        outcomes.append(ask_one(engine, item, backend, top_k, support, fetch))
        if progress:
            progress(n, len(gold))
    answers = [o for o in outcomes if o.kind in ("answer", "followup")]
    timelines = [o for o in outcomes if o.kind == "timeline"]
    metrics = summarize(answers) if answers or not timelines else {}
    if followups := [o for o in outcomes if o.kind == "followup"]:
        metrics.update(summarize_followups(followups))
    metrics.update(summarize_changing(answers))
    if timelines:  # a gold file of timeline questions, or a mix
        metrics.update(summarize_timeline(timelines) | {"errors": summarize(outcomes)["errors"]})
    return BackendReport(metrics=metrics, latency_ms=latency(outcomes), outcomes=outcomes)


def run(
    engine: EvalEngine,
    gold_path: Path,
    backends: Sequence[str],
    top_k: int | None = None,
    modes: Sequence[str] = MODES,
    progress: Callable[[str, int, int], None] | None = None,
    recall_k: int = 5,
) -> Report:
    """The whole evaluation: retrieval per mode, then every backend on every question."""
    gold = load_gold(gold_path)
    settings = engine.settings
    support, fetch = engine.supports, engine.chunk_texts
    report = Report(
        created=datetime.now().isoformat(timespec="seconds"),
        gold=str(gold_path),
        questions=len(gold),
        answerable=sum(i.answerable for i in gold),
        top_k=top_k or settings.top_k,
        recall_k=recall_k,
        settings={
            key: str(getattr(settings, key)) for key in SETTINGS_SHOWN if hasattr(settings, key)
        },
        settings_hash=settings.fingerprint() if hasattr(settings, "fingerprint") else None,
        commit=git_commit(),
    )
    report.retrieval = evaluate_retrieval(engine, gold, recall_k, modes)
    for backend in backends:
        tick = (lambda d, t, b=backend: progress(b, d, t)) if progress else None
        report.backends[backend] = evaluate_backend(
            engine, gold, backend, top_k, support, fetch, tick
        )
    return report


# ---------------------------------------------------------------- thresholds and deltas


# -- thresholds and deltas ------------------------------------------------------------------


def parse_threshold(spec: str) -> tuple[str, float]:
    name, sep, value = spec.partition("=")
    try:
        if not sep:
            raise ValueError
        return name.strip(), float(value)
    except ValueError:
        raise InputError(
            f"threshold {spec!r} must look like METRIC=VALUE, e.g. answer_contains_gold=0.85"
        ) from None


def check_thresholds(
    report: Report, under: Sequence[str] = (), over: Sequence[str] = ()
) -> list[str]:
    """Failures of `METRIC=VALUE` bounds; METRIC is `metric` (every backend) or `backend:metric`."""
    values = report.flat()
    failures = []
    for specs, below in ((under, True), (over, False)):
        for spec in specs:
            name, bound = parse_threshold(spec)
            keys = [k for k in values if k == name or k.split(":", 1)[-1] == name]
            if not keys:
                known = sorted({k.split(":", 1)[-1] for k in values})
                raise InputError(f"unknown metric {name!r}; use one of {', '.join(known)}")
            for key in keys:
                value = values[key]
                if value is None or (value < bound if below else value > bound):
                    shown = "n/a" if value is None else f"{value:.3f}"
                    failures.append(f"{key} = {shown} is {'below' if below else 'above'} {bound}")
    return failures


def deltas(report: Report, earlier: Report) -> dict[str, float]:
    """Change of every metric present in both reports."""
    now, before = report.flat(), earlier.flat()
    return {k: v - w for k, v in now.items() if v is not None and (w := before.get(k)) is not None}
