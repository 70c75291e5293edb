"""The neural reader (default): a span model reads the question with each retrieved passage and
points at the answer; the sentence holding the best span is quoted verbatim, the span is the
short answer, and its margin over the passage's "no answer" score is the confidence the refusal
gate compares with the threshold chosen on validation (`span_reader.meta.json`)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Protocol

from qa.answer.reader.questions import sub_questions
from qa.answer.reader.reader import Reader, Reading, Scored
from qa.answer.reader.span import Span
from qa.text import sentence_spans
from qa.types import Passage

QUOTES = "\"'“”‘’«»"
_OPTIONS = re.compile(r"(?:^|\s)\(?[A-Da-d][.)]\s.+\s\(?[B-Eb-e][.)]\s")
_LINK_LINE = re.compile(r"^\s*(more|read more|related|see also|watch|listen)\s*:", re.I)
_SHORT_WORDS = 10  # a longer span is not offered as the short answer
_TRIM = " \t\n,;:.!?" + QUOTES + "()[]"


class SpanScorer(Protocol):
    threshold: float
    recency_weight: float

    def spans(self, question: str, passages: Sequence[str], top: int = 5) -> list[list[Span]]: ...


def asks(sentence: str) -> bool:
    """A sentence that asks (a question, a "More:" link line, a quiz's option list): it is
    never quoted as an answer."""
    s = sentence.strip().rstrip(QUOTES + " ")
    return s.endswith("?") or bool(_LINK_LINE.match(s)) or bool(_OPTIONS.search(s))


_PAST = re.compile(
    r"\b(?:first|originally|ago|in the past|used to|formerly|history|historic|before the"
    r"|previous(?:ly)?|earlier|once)\b",
    re.I,
)
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
UNDATED_DAYS = 30  # an undated passage counts as this much older than the newest passage


def age_penalty(day: date | None, as_of: date | None) -> float:
    """log2(1 + age in weeks) of a passage at `as_of` (0 on the day): the recency prior's
    feature. Its weight is fitted on the RealTime QA validation weeks (span_reader.meta.json)."""
    if as_of is None:
        return 0.0
    days = UNDATED_DAYS if day is None else max(0, (as_of - day).days)
    return math.log2(1 + days / 7)


def reference_day(passages: Sequence[Passage], as_of: date | None) -> date | None:
    """The day ages are counted from: as_of, or the newest passage when all are older (a 2023
    corpus asked today: the newest report is the current one, not three years stale)."""
    days = [p.date for p in passages if p.date is not None and (as_of is None or p.date <= as_of)]
    if not days:
        return None
    return min(as_of, max(days)) if as_of else max(days)


def asks_about_past(question: str, as_of: date | None = None) -> bool:
    """A question about the past (a year before as_of's, "first", "originally", "ago"): no
    recency prior. "running for president in 2024", asked in 2023, is not about the past."""
    if _PAST.search(question):
        return True
    this_year = (as_of or date.today()).year
    return any(int(y) < this_year for y in _YEAR.findall(question))


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in _TRIM:
        start += 1
    while end > start and text[end - 1] in _TRIM:
        end -= 1
    return start, end


class NeuralReader:
    """Extractive answers from the span model's best span per sub-question (no LLM)."""

    name = "neural"

    def __init__(
        self,
        scorer: SpanScorer | None = None,
        top: int = 5,
        recency_weight: float | None = None,
        backend: str = "openvino",
        model_dir: Path | None = None,
    ) -> None:
        self._scorer = scorer
        self.top = top
        self.recency_weight = recency_weight  # None: the weight fitted with the model
        self.backend = backend  # the committed model's runtime and export folder
        self.model_dir = model_dir

    @property
    def scorer(self) -> SpanScorer:
        """The given scorer, else the committed span model (loaded once per process)."""
        if self._scorer is None:
            from qa.answer.reader.span import shared_model

            self._scorer = shared_model(self.backend, self.model_dir)
        return self._scorer

    @property
    def threshold(self) -> float:
        return self.scorer.threshold

    def best(
        self, question: str, passages: Sequence[Passage], as_of: date | None = None
    ) -> Scored | None:
        """The best span that lies in a statement sentence, quoted with its sentence; newer
        passages are preferred by the fitted recency prior unless the question asks about the
        past."""
        found = self.scorer.spans(question, [p.text for p in passages], self.top)
        weight = self.scorer.recency_weight if self.recency_weight is None else self.recency_weight
        if asks_about_past(question, as_of):
            weight = 0.0
        reference = reference_day(passages, as_of)
        prior = [weight * age_penalty(p.date, reference) for p in passages]
        options: list[tuple[float, int, Span]] = [
            (s.score - prior[i], i, s) for i, spans in enumerate(found) for s in spans
        ]
        options.sort(key=lambda o: (-o[0], o[1]))
        sentences = [sentence_spans(p.text) for p in passages]
        for _score, i, s in options:
            p = passages[i]
            start, end = _trim(p.text, s.start, s.end)
            if start >= end:
                continue
            inside = [(a, b) for a, b in sentences[i] if a < end and b > start]
            if not inside or any(asks(p.text[a:b]) for a, b in inside):
                continue
            if any(a < end and b > start for a, b in p.flagged):
                continue  # an instruction to a model is never an answer
            quote = (inside[0][0], inside[-1][1])
            short = (start, end) if len(p.text[start:end].split()) <= _SHORT_WORDS else None
            # the gate compares the span's own margin, not the recency-weighted ranking score
            return Scored(i, quote[0], quote[1], p.text[quote[0] : quote[1]], s.score, short)
        return None

    def read(
        self, question: str, passages: Sequence[Passage], as_of: date | None = None
    ) -> Reading:
        """The best sentence per sub-question; the confidence is the weakest part's (a compound
        question with an unanswered part is refused)."""
        chosen: list[Scored] = []
        confidence = float("inf")
        for part in sub_questions(question):
            found = self.best(part, passages, as_of) if passages else None
            confidence = min(confidence, found.score if found else float("-inf"))
            if found and all((c.passage, c.start) != (found.passage, found.start) for c in chosen):
                chosen.append(found)
        return Reading(chosen, confidence if chosen else float("-inf"))


class FallbackReader:
    """The neural reader, and where it would refuse, the learned reader when that one is
    confident by its own validated threshold. Confidence is each reader's margin over its own
    threshold, so the gate's threshold is 0."""

    name = "neural+learned"
    threshold = 0.0

    def __init__(self, first: Reader, second: Reader) -> None:
        self.first = first
        self.second = second

    def read(
        self, question: str, passages: Sequence[Passage], as_of: date | None = None
    ) -> Reading:
        reading = self.first.read(question, passages, as_of)
        margin = reading.confidence - self.first.threshold
        if reading.chosen and margin >= 0:
            return Reading(reading.chosen, margin)
        other = self.second.read(question, passages, as_of)
        other_margin = other.confidence - self.second.threshold
        if other.chosen and other_margin >= 0:
            return Reading(other.chosen, other_margin)
        return Reading(reading.chosen, margin)
