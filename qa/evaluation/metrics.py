"""Metrics: an answer scored against its gold item (the answer and retrieval metrics of
answers.py and retrieval.py, citation and refusal counts), and their aggregation with counts
beside every ratio."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from qa.answer.reader.questions import expected_labels
from qa.evaluation.answers import (
    SHORT_GOLD_WORDS,
    f1,
    is_correct,
    normalize,
    split_sentences,
    token_f1,
)
from qa.evaluation.gold import GoldItem
from qa.evaluation.retrieval import in_range, needed, source_hits
from qa.schema import Answer
from qa.text import markers

LOWER_IS_BETTER = {
    "false_refusal_rate",
    "dropped_sentences",
    "uncited_answers",
    "citations_out_of_range",
    "errors",
    "fallback_answers",
    "timeline_refused",
    "followup_false_refusal_rate",
    "stale_answer_rate",
}


# ---------------------------------------------------------------- source metrics


__all__ = ["markers", "split_sentences"]


# ---------------------------------------------------------------- per-question outcomes


class Outcome(BaseModel):
    """What one backend did on one gold question, with the per-question metric inputs."""

    id: str
    kind: str = "answer"  # or "timeline": scored by qa/evaluation/timeline.py
    question: str
    answerable: bool
    expected: list[str]
    sources: list[str]
    answer: str = ""
    short_answer: str | None = None
    typed: bool = False  # the question asks for a thing (person, date, number...)
    refused: bool = False
    cited: list[str] = Field(default_factory=list)
    correct: bool = False  # a gold answer anywhere in the reply
    first_correct: bool = False  # a gold answer in the reply's first sentence or short answer
    quote_has_gold: bool = False  # a gold answer inside a cited quote (independent of verify)
    fallback: bool = False  # the backend's text was replaced by the extractive answer
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
    # timeline questions
    timeline: bool = False  # answered as a timeline
    events: int = 0  # event lines listed
    events_found: int = 0  # gold events on a line with the right date
    events_needed: int = 0
    events_dated: int = 0  # lines whose date is the oldest date of the articles they cite
    pairs_ordered: int = 0  # pairs of lines in date order (undated last)
    pairs: int = 0
    # follow-up questions (qa/evaluation/followup.py)
    condensed: str | None = None  # the standalone question the engine asked
    condensed_standalone: bool | None = None  # it equals the gold standalone (normalized)
    baseline_condensed: str | None = None  # the pre-issue-30 condensing's question
    baseline_correct: bool = False  # ... its answer contains a gold answer
    baseline_first_correct: bool = False
    # changing facts (qa/evaluation/changing.py)
    changing: bool = False  # a question whose right answer depends on as_of
    can_be_stale: bool = False  # an older value was superseded by as_of
    as_of_correct: bool = False  # the value valid at as_of in the first sentence / short answer
    stale: bool = False  # only a superseded value there
    newer: list[str] = Field(default_factory=list)  # short answers of the newer reports listed
    newer_real: int = 0  # of them, gold values newer than the one answered
    newer_current: bool = False  # one of them is the value valid at as_of

    @property
    def miss(self) -> bool:
        """Wrong answer, false refusal, or an unanswerable question answered."""
        if self.error:
            return True
        return not self.correct if self.answerable else not self.refused


SupportCheck = Callable[[str, Sequence[str]], bool]  # the engine's yes/no (not verify.Support)


def score(
    item: GoldItem,
    answer: Answer,
    support: SupportCheck,
    chunk_texts: dict[str, str],
    wall_ms: float = 0.0,
) -> Outcome:
    """Score one answer against its gold item; `support` is the verifier's yes/no."""
    cited = list(dict.fromkeys(c.source for c in answer.citations))
    first = split_sentences(answer.answer)[:1]
    shown = " ".join(first + ([answer.short_answer.text] if answer.short_answer else []))
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
        first_correct=not answer.refused and is_correct(shown, item),
        quote_has_gold=not answer.refused
        and any(is_correct(c.quote, item) for c in answer.citations),
        fallback=answer.fallback,
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


# ---------------------------------------------------------------- aggregation


def short_exact(outcome: Outcome) -> bool:
    """The short answer equals one of the gold answers, normalized (SQuAD exact match)."""
    if outcome.refused or not outcome.short_answer:
        return False
    return any(normalize(outcome.short_answer) == normalize(a) for a in outcome.expected)


def short_f1(outcome: Outcome) -> float:
    """SQuAD token F1 of the short answer against the best gold answer (0 without one)."""
    if outcome.refused or not outcome.short_answer:
        return 0.0
    guess = normalize(outcome.short_answer).split()
    return max((f1(guess, normalize(a).split()) for a in outcome.expected), default=0.0)


def wants_short(outcome: Outcome) -> bool:
    """Answerable, and some gold answer is at most SHORT_GOLD_WORDS words: the denominator of
    the short-answer metrics comes from the gold, not from the system's own question types."""
    return outcome.answerable and any(
        0 < len(normalize(a).split()) <= SHORT_GOLD_WORDS for a in outcome.expected
    )


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
    short = [o for o in ok if wants_short(o)]
    return {
        "answer_contains_gold": ratio(sum(o.correct for o in answerable), len(answerable)),
        "first_sentence_accuracy": ratio(sum(o.first_correct for o in answerable), len(answerable)),
        "short_answer_exact": ratio(sum(short_exact(o) for o in short), len(short)),
        "short_answer_f1": mean([short_f1(o) for o in short]),
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
        "cited_quote_has_gold": ratio(sum(o.quote_has_gold for o in answered), len(answered)),
        "fallback_answers": ratio(sum(o.fallback for o in spoken), len(spoken)),
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
