"""Evaluation against gold Q&A: gold loading, metrics and the runner (`qa eval` is in qa/cli.py).

Metrics are pure functions of an answer and its gold item, so they are unit-tested on hand-made
cases; the runner only asks the engine and adds the results up, counts beside every ratio.
"""

from __future__ import annotations

import json
import re
import string
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from qa.chunking import sentence_spans
from qa.errors import InputError, QAError
from qa.reader.questions import expected_labels
from qa.schema import Answer, AskRequest

MODES = ("hybrid", "dense", "lexical")
LOWER_IS_BETTER = {
    "false_refusal_rate",
    "dropped_sentences",
    "uncited_answers",
    "citations_out_of_range",
    "errors",
}
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

# ---------------------------------------------------------------- gold


class GoldItem(BaseModel):
    """One gold question; `answers` are alternatives unless `all_answers` asks for every one."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    question: str = Field(min_length=1, max_length=2000)
    answers: list[str] = Field(default_factory=list)
    all_answers: bool = False
    sources: list[str] = Field(default_factory=list)
    answerable: bool = True
    date_from: date | None = None
    date_to: date | None = None

    @model_validator(mode="after")
    def _complete(self) -> GoldItem:
        if self.answerable and not (self.answers and self.sources):
            raise ValueError("an answerable question needs at least one answer and one source")
        return self


def load_gold(path: Path) -> list[GoldItem]:
    """Read a gold JSON Lines file; a bad line is an error naming the file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read gold file {path}: {exc.strerror}; check --gold") from exc
    items: list[GoldItem] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            items.append(GoldItem.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise InputError(f"{path} line {n} is not a valid gold item: {exc}") from exc
    dupes = [k for k, v in Counter(i.id for i in items).items() if v > 1]
    if dupes:
        raise InputError(f"{path}: duplicate question ids {dupes[:5]}; make every id unique")
    if not items:
        raise InputError(f"{path} has no questions; write one JSON object per line")
    return items


# ---------------------------------------------------------------- answer metrics

_PUNCT = set(string.punctuation) | set("‘’“”–—…«»")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_MARKERS = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")


def normalize(text: str) -> str:
    """SQuAD normalization: lowercase, no punctuation or articles, 1,100 -> 1100."""
    text = _MARKERS.sub(" ", text.lower())
    text = _THOUSANDS.sub("", text)
    text = "".join(" " if ch in _PUNCT else ch for ch in text)
    return " ".join(_ARTICLES.sub(" ", text).split())


def contains(text: str, answer: str) -> bool:
    """Whether the normalized answer occurs in the text as whole tokens ("10" is not in "100")."""
    needle = normalize(answer)
    return bool(needle) and f" {needle} " in f" {normalize(text)} "


def is_correct(text: str, item: GoldItem) -> bool:
    """Normalized containment of any gold answer (of every one when `all_answers`)."""
    if not item.answers:
        return False
    found = [contains(text, a) for a in item.answers]
    return all(found) if item.all_answers else any(found)


def _f1(prediction: list[str], truth: list[str]) -> float:
    common = sum((Counter(prediction) & Counter(truth)).values())
    if not common:
        return 0.0
    precision, recall = common / len(prediction), common / len(truth)
    return 2 * precision * recall / (precision + recall)


def token_f1(text: str, item: GoldItem) -> float:
    """SQuAD token F1, best over the answers (against all of them joined when `all_answers`)."""
    prediction = normalize(text).split()
    if not prediction or not item.answers:
        return 0.0
    if item.all_answers:
        return _f1(prediction, normalize(" ".join(item.answers)).split())
    return max(_f1(prediction, normalize(a).split()) for a in item.answers)


# ---------------------------------------------------------------- source metrics


def needed(item: GoldItem) -> int:
    """Gold sources an answer must cite: all for `all_answers`, else any one (each suffices)."""
    if not item.sources:
        return 0
    return len(set(item.sources)) if item.all_answers else 1


def source_hits(found: Iterable[str], item: GoldItem) -> int:
    """Gold sources among `found`, capped as in `needed`."""
    hits = len(set(found) & set(item.sources))
    return hits if item.all_answers else min(hits, 1)


def reciprocal_rank(ranked: Sequence[str], item: GoldItem) -> float:
    """1/rank of the first passage from a gold source; 0 when none was retrieved."""
    gold = set(item.sources)
    return next((1.0 / (r + 1) for r, source in enumerate(ranked) if source in gold), 0.0)


def in_range(day: date | None, item: GoldItem) -> bool:
    """Whether an article date fits the item's explicit range (undated never fits a range)."""
    if not (item.date_from or item.date_to):
        return True
    if day is None:
        return False
    return (item.date_from or date.min) <= day <= (item.date_to or date.max)


def split_sentences(answer: str) -> list[str]:
    """Answer sentences, with a marker that follows a full stop kept on its own sentence."""
    sentences: list[str] = []
    for start, end in sentence_spans(answer):
        text = answer[start:end].strip()
        lead = re.match(r"(?:\s*\[\d+(?:\s*,\s*\d+)*\])+", text)
        if lead and sentences:
            sentences[-1] += " " + lead.group().strip()
            text = text[lead.end() :].strip()
        if _MARKERS.sub("", text).strip(" .;:,"):
            sentences.append(text)
    return sentences


def markers(sentence: str) -> list[int]:
    """The citation numbers [n] / [n, m] in a sentence, in order."""
    return [int(n) for m in _MARKERS.finditer(sentence) for n in re.findall(r"\d+", m.group())]


# ---------------------------------------------------------------- per-question outcomes


class Outcome(BaseModel):
    """What one backend did on one gold question, with the per-question metric inputs."""

    id: str
    question: str
    answerable: bool
    expected: list[str]
    sources: list[str]
    answer: str = ""
    short_answer: str | None = None
    typed: bool = False  # the question asks for a thing (person, date, number...)
    refused: bool = False
    cited: list[str] = Field(default_factory=list)
    correct: bool = False
    f1: float = 0.0
    citations: int = 0
    out_of_range: int = 0  # citations dated outside the gold item's date_from..date_to
    cited_gold: int = 0  # distinct cited files that are gold sources
    hits: int = 0  # as in `source_hits`
    needed: int = 0
    sentences: int = 0
    supported: int = 0  # sentences whose cited passages support them (ALCE citation recall)
    dropped: int = 0  # sentences the verification step removed
    timings_ms: dict[str, float] = Field(default_factory=dict)
    wall_ms: float = 0.0
    error: str | None = None

    @property
    def miss(self) -> bool:
        """Wrong answer, false refusal, or an unanswerable question answered."""
        if self.error:
            return True
        return not self.correct if self.answerable else not self.refused


Support = Callable[[str, Sequence[str]], bool]


def score(
    item: GoldItem,
    answer: Answer,
    support: Support,
    chunk_texts: dict[str, str],
    wall_ms: float = 0.0,
) -> Outcome:
    """Score one answer against its gold item; `support` is the verifier's yes/no."""
    cited = list(dict.fromkeys(c.source for c in answer.citations))
    by_n = {c.n: chunk_texts.get(c.chunk_id, c.quote) for c in answer.citations}
    sentences = [] if answer.refused else split_sentences(answer.answer)
    supported = sum(
        1
        for s in sentences
        if (evidence := [by_n[n] for n in dict.fromkeys(markers(s)) if n in by_n])
        and support(s, evidence)
    )
    return Outcome(
        id=item.id,
        question=item.question,
        answerable=item.answerable,
        expected=item.answers,
        sources=item.sources,
        answer=answer.answer,
        short_answer=answer.short_answer.text if answer.short_answer else None,
        typed=bool(expected_labels(item.question)),
        refused=answer.refused,
        cited=cited,
        citations=len(answer.citations),
        out_of_range=sum(not in_range(c.date, item) for c in answer.citations),
        correct=not answer.refused and is_correct(answer.answer, item),
        f1=0.0 if answer.refused else token_f1(answer.answer, item),
        cited_gold=len(set(cited) & set(item.sources)),
        hits=source_hits(cited, item),
        needed=needed(item),
        sentences=len(sentences),
        supported=supported,
        dropped=answer.dropped_sentences,
        timings_ms=answer.timings_ms,
        wall_ms=wall_ms,
    )


def short_exact(outcome: Outcome) -> bool:
    """The short answer equals one of the gold answers, normalized (SQuAD exact match)."""
    if outcome.refused or not outcome.short_answer:
        return False
    return any(normalize(outcome.short_answer) == normalize(a) for a in outcome.expected)


# ---------------------------------------------------------------- aggregation


class Metric(BaseModel):
    """A ratio count/total (kind "ratio") or a mean over `total` questions (kind "mean")."""

    value: float | None
    count: float
    total: int
    kind: Literal["ratio", "mean"] = "ratio"

    def show(self) -> str:
        if self.value is None:
            return f"- (0/{self.total})"
        if self.kind == "mean":
            return f"{self.value:.3f} (n={self.total})"
        return f"{self.value:.3f} ({self.count:g}/{self.total})"


def ratio(count: float, total: int) -> Metric:
    return Metric(value=count / total if total else None, count=count, total=total)


def mean(values: Sequence[float]) -> Metric:
    total = len(values)
    value = float(sum(values) / total) if total else None
    return Metric(value=value, count=float(sum(values)), total=total, kind="mean")


def summarize(outcomes: Sequence[Outcome]) -> dict[str, Metric]:
    """Answer, citation, refusal and verification metrics of one backend."""
    ok = [o for o in outcomes if not o.error]
    answerable = [o for o in ok if o.answerable]
    unanswerable = [o for o in ok if not o.answerable]
    refused = [o for o in ok if o.refused]
    answered = [o for o in answerable if not o.refused]  # answerable and not refused
    with_citations = [o for o in answered if o.cited]
    spoken = [o for o in ok if not o.refused]
    typed = [o for o in answerable if o.typed]
    return {
        "answer_accuracy": ratio(sum(o.correct for o in answerable), len(answerable)),
        "short_answer_exact": ratio(sum(short_exact(o) for o in typed), len(typed)),
        "answer_f1": mean([o.f1 for o in answerable]),
        "citation_precision": ratio(
            sum(o.cited_gold for o in with_citations), sum(len(o.cited) for o in with_citations)
        ),
        "citation_recall": ratio(
            sum(o.hits for o in with_citations), sum(o.needed for o in with_citations)
        ),
        "uncited_answers": ratio(len(answered) - len(with_citations), len(answered)),
        "citation_support": ratio(
            sum(o.supported for o in spoken), sum(o.sentences for o in spoken)
        ),
        "refusal_precision": ratio(sum(not o.answerable for o in refused), len(refused)),
        "refusal_recall": ratio(sum(o.refused for o in unanswerable), len(unanswerable)),
        "false_refusal_rate": ratio(len(answerable) - len(answered), len(answerable)),
        "dropped_sentences": ratio(sum(o.dropped for o in spoken), len(spoken)),
        "citations_out_of_range": ratio(
            sum(o.out_of_range for o in ok), sum(o.citations for o in ok)
        ),
        "errors": ratio(len(outcomes) - len(ok), len(outcomes)),
    }


def percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p95": 0.0}
    arr = np.asarray(values, dtype=float)
    return {"p50": float(np.percentile(arr, 50)), "p95": float(np.percentile(arr, 95))}


def latency(outcomes: Sequence[Outcome]) -> dict[str, dict[str, float]]:
    """p50/p95 of the wall time of a question and of each phase in `Answer.timings_ms`."""
    phases = sorted({k for o in outcomes for k in o.timings_ms})
    table = {"wall": percentiles([o.wall_ms for o in outcomes if not o.error])}
    for phase in phases:
        table[phase] = percentiles([o.timings_ms[phase] for o in outcomes if phase in o.timings_ms])
    return table


# ---------------------------------------------------------------- the runner


class EvalEngine(Protocol):
    """What the runner needs of `qa.engine.Engine`."""

    def ask(self, request: AskRequest) -> Answer: ...
    def retrieve(
        self,
        question: str,
        top_k: int | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        mode: Any = "hybrid",
    ) -> Sequence[Any]: ...


class BackendReport(BaseModel):
    metrics: dict[str, Metric]
    latency_ms: dict[str, dict[str, float]]
    outcomes: list[Outcome]


class RetrievalReport(BaseModel):
    recall: Metric  # gold sources in the top k (as in `needed`)
    mrr: Metric


class Report(BaseModel):
    """Everything one `qa eval` run measured; saved as report.json."""

    created: str
    gold: str
    questions: int
    answerable: int
    top_k: int  # passages handed to the answer step
    recall_k: int = 5  # passages the retrieval metrics look at
    settings: dict[str, Any] = Field(default_factory=dict)
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
    items = [i for i in gold if i.answerable and i.sources]
    result = {}
    for mode in modes:
        hits = rr = 0.0
        for item in items:
            passages = engine.retrieve(item.question, top_k, item.date_from, item.date_to, mode)
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
    support: Support,
    fetch: Callable[[list[str]], dict[str, str]],
) -> Outcome:
    """Ask one gold question; a backend failure is recorded as an error, not raised."""
    request = AskRequest.model_validate(
        {
            "question": item.question,
            "top_k": top_k,
            "date_from": item.date_from,
            "date_to": item.date_to,
            "backend": backend,
        }
    )
    started = time.perf_counter()
    try:
        answer = engine.ask(request)
    except QAError as exc:
        return Outcome(
            id=item.id,
            question=item.question,
            answerable=item.answerable,
            expected=item.answers,
            sources=item.sources,
            error=f"{type(exc).__name__}: {exc}",
        )
    wall = (time.perf_counter() - started) * 1000
    texts = fetch([c.chunk_id for c in answer.citations]) if answer.citations else {}
    return score(item, answer, support, texts, wall)


def evaluate_backend(
    engine: EvalEngine,
    gold: Sequence[GoldItem],
    backend: str,
    top_k: int | None,
    support: Support,
    fetch: Callable[[list[str]], dict[str, str]],
    progress: Callable[[int, int], None] | None = None,
) -> BackendReport:
    """Ask every gold question with one backend and score the answers."""
    outcomes = []
    for n, item in enumerate(gold, start=1):
        outcomes.append(ask_one(engine, item, backend, top_k, support, fetch))
        if progress:
            progress(n, len(gold))
    return BackendReport(
        metrics=summarize(outcomes), latency_ms=latency(outcomes), outcomes=outcomes
    )


def engine_support(engine: Any) -> tuple[Support, Callable[[list[str]], dict[str, str]]]:
    """The verification step's own checker, and chunk texts by id from the store."""
    from qa.verify import Verifier

    verifier = getattr(engine, "verifier", None) or Verifier(
        engine.embedder, engine.settings.support_threshold
    )

    def support(sentence: str, evidence: Sequence[str]) -> bool:
        return verifier.check(sentence, evidence).supported

    def fetch(ids: list[str]) -> dict[str, str]:
        return {c.chunk_id: c.text for c in engine.index.store.get(ids=list(dict.fromkeys(ids)))}

    return support, fetch


def run(
    engine: Any,
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
    support, fetch = engine_support(engine)
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
    )
    report.retrieval = evaluate_retrieval(engine, gold, recall_k, modes)
    for backend in backends:
        tick = (lambda d, t, b=backend: progress(b, d, t)) if progress else None
        report.backends[backend] = evaluate_backend(
            engine, gold, backend, top_k, support, fetch, tick
        )
    return report


# ---------------------------------------------------------------- thresholds and deltas


def parse_threshold(spec: str) -> tuple[str, float]:
    name, sep, value = spec.partition("=")
    try:
        if not sep:
            raise ValueError
        return name.strip(), float(value)
    except ValueError:
        raise InputError(
            f"threshold {spec!r} must look like METRIC=VALUE, e.g. answer_accuracy=0.85"
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
