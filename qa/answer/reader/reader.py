"""The learned extractive reader: scores every candidate sentence with the fitted model, quotes
the best one per sub-question, picks a short answer, and gives the refusal probability."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

import numpy as np

from qa.answer.reader.entities import Entity, EntityTagger, Tagger
from qa.answer.reader.features import FEATURES, Unit, candidates, featurize, type_hits
from qa.answer.reader.model import ReaderModel, load_model
from qa.answer.reader.questions import (
    QuestionInfo,
    analyse,
    answers_quantity,
    asks_count,
    sub_questions,
)
from qa.answer.reader.short_answer import pick
from qa.search.embedding import Embedder
from qa.stages import LearnedReaderStage
from qa.types import Draft, Passage

_TYPE_ANYWHERE = FEATURES.index("type_anywhere")
_SIMILARITY = ("sim", "sim_gap", "sim_context", "sim_x_lex")  # the features that need vectors
SHORTLIST = LearnedReaderStage().shortlist  # QA_LEARNED__SHORTLIST; see qa/config.py


@dataclass(frozen=True)
class Scored:
    passage: int  # index into the passages
    start: int  # offsets inside the passage text
    end: int
    text: str
    score: float  # P(this sentence answers the question)
    short: tuple[int, int] | None = None  # short answer, offsets inside the passage text


@dataclass(frozen=True)
class Reading:
    chosen: list[Scored]
    confidence: float  # of the weakest sub-question's best sentence, compared with a threshold


class Reader(Protocol):
    """What the engine needs of a reader: the best sentences and a confidence to gate on."""

    @property
    def threshold(self) -> float: ...

    def read(
        self, question: str, passages: Sequence[Passage], as_of: date | None = None
    ) -> Reading: ...


def to_draft(reading: Reading, passages: Sequence[Passage]) -> Draft:
    spans: dict[int, tuple[int, int]] = {}
    parts = []
    short = None
    for c in reading.chosen:
        n = c.passage + 1
        p = passages[c.passage]
        spans.setdefault(n, (p.start + c.start, p.start + c.end))
        parts.append(f"{c.text} [{n}]")
        if short is None and c.short is not None:
            short = (n, p.start + c.short[0], p.start + c.short[1])
    return Draft(" ".join(parts), spans, short)


class LearnedReader:
    """Extractive answers from the sentences of the retrieved passages (no LLM)."""

    name = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        model: ReaderModel | None = None,
        tagger: Tagger | None = None,
        shortlist: int | None = SHORTLIST,
    ) -> None:
        self.embedder = embedder
        self.model = model or load_model()
        self.tagger: Tagger = tagger or EntityTagger()
        self.shortlist = shortlist
        self._cheap = self.model.ignoring(_SIMILARITY)

    @property
    def threshold(self) -> float:
        return self.model.threshold

    def scores(
        self, question: str, passages: Sequence[Passage], shortlist: bool = True
    ) -> tuple[list[Unit], np.ndarray]:
        """Every candidate sentence and its probability of answering `question` (0 for those
        left off the shortlist; `shortlist=False` scores them all, as a timeline needs)."""
        units = candidates(passages)
        if not units:
            return units, np.zeros(0)
        info = analyse(question)
        keep = self._shortlisted(info, passages, units) if shortlist else np.arange(len(units))
        query = np.asarray(self.embedder.embed_query(question))
        vectors = np.asarray(self.embedder.embed_documents([units[k].text for k in keep]))
        sims = np.full(len(units), float((vectors @ query).min()))  # left off: as the least
        sims[keep] = vectors @ query
        rows = featurize(info, passages, units, sims, self.tagger)
        probs = np.zeros(len(units))
        probs[keep] = self.model.probability(rows[keep])
        if info.typed and not rows[:, _TYPE_ANYWHERE].any():
            probs = np.zeros_like(probs)  # asked for a person (date...) and no passage has one
        return units, probs

    def _shortlisted(
        self, info: QuestionInfo, passages: Sequence[Passage], units: list[Unit]
    ) -> np.ndarray:
        """Indices of the candidates worth embedding: all of them when there are few, else the
        best `shortlist` by the model without its similarity features (words, names, answer
        type, passage rank and position cost no model call)."""
        if self.shortlist is None or len(units) <= self.shortlist:
            return np.arange(len(units))
        rows = featurize(info, passages, units, np.zeros(len(units)), self.tagger)
        cheap = self._cheap.probability(rows)
        return np.sort(np.argsort(-cheap, kind="stable")[: self.shortlist])

    def best(self, question: str, passages: Sequence[Passage]) -> Scored | None:
        units, probs = self.scores(question, passages)
        if not units:
            return None
        k = int(np.argmax(probs))
        return self._quote(question, units, k, float(probs[k]), passages)

    def _quote(
        self, question: str, units: list[Unit], k: int, prob: float, passages: Sequence[Passage]
    ) -> Scored:
        """The sentence, with its neighbour when only the neighbour holds what was asked
        ("He was detained on Monday." after the sentence naming him), and its short answer."""
        info = analyse(question)
        u = units[k]
        start, end = u.start, u.end
        short: Entity | None = None
        if info.typed:
            own = self.tagger([u.text])[0]
            short = pick(info, u.text, own)
            offset = u.start
            if short is None:
                for j in (k - 1, k + 1):
                    if 0 <= j < len(units) and units[j].passage == u.passage:
                        ents = self.tagger([units[j].text])[0]
                        if type_hits(info, ents):
                            short = pick(info, units[j].text, ents)
                            offset = units[j].start
                            start, end = min(start, units[j].start), max(end, units[j].end)
                            break
            if short is not None:
                span = (offset + short.start, offset + short.end)
        text = passages[u.passage].text[start:end]
        return Scored(u.passage, start, end, text, prob, span if short is not None else None)

    def read(
        self, question: str, passages: Sequence[Passage], as_of: date | None = None
    ) -> Reading:
        """The best sentence per sub-question and the refusal probability (their minimum)."""
        chosen: list[Scored] = []
        confidence = 1.0
        for part in sub_questions(question):
            found = self.best(part, passages)
            # a count ("how many troops", "the population") needs a number in the sentence,
            # and the thing counted when the question names it: else that part is unanswered
            counted = found is not None and answers_quantity(part, found.text)
            if found is not None and asks_count(part) and not counted:
                found = None
            confidence = min(confidence, found.score if found else 0.0)
            if found and all((c.passage, c.start) != (found.passage, found.start) for c in chosen):
                chosen.append(found)
        return Reading(chosen, confidence if chosen else 0.0)

    def evidence(self, question: str, passages: Sequence[Passage]) -> float:
        return self.read(question, passages).confidence
