"""Timeline answers: for a question about how something developed, one dated line per event,
oldest first. Each line is a verbatim sentence chosen by the reader from more passages than a
normal answer (at most two per article), near-duplicates across articles merged into one line
that keeps all their citations, undated articles last. Citations are verified and numbered by
the same CitationBuilder as every answer."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from qa.answer.citations import CitationBuilder
from qa.answer.events import PosTagger, happened, spacy_pos, subject
from qa.answer.reader.reader import LearnedReader
from qa.answer.verify import Verifier
from qa.config import Settings
from qa.schema import TimelineEvent
from qa.search.dates import MONTHS, DateFilter, order_key
from qa.search.embedding import Embedder
from qa.search.index import SearchIndex
from qa.search.retrieval import Retriever
from qa.stages import TimelineStage
from qa.text import content_words, markers, strip_markers
from qa.types import Draft, Passage

TUNED = TimelineStage()  # the defaults (qa/config.py says how each was chosen)

_DEVELOP = r"(?:develop|evolve|unfold|progress|escalate|change|play out|turn out)(?:e?d|s)?"
_MONTHS = "|".join(sorted(MONTHS, key=len, reverse=True))
# (pattern, group holding the topic or None): detection rules, each with its topic
_RULES: tuple[tuple[re.Pattern[str], int | None], ...] = tuple(
    (re.compile(p, re.I), group)
    for p, group in (
        (r"\b(?:timeline|chronology|sequence of events)\b(?:\s+(?:of|for|on|about)\s+(.+))?", 1),
        (rf"^\s*how\s+(?:did|has|have|does|do)\s+(.+?)\s+{_DEVELOP}\b", 1),
        (r"^\s*what\s+(?:has\s+)?happened\s+(?:with|to|between)\s+(.+)", 1),
        (r"\b(?:history|course|development|developments|evolution)\s+of\s+(.+)", 1),
        (r"\bover time\b|\bstep by step\b|\bevents\s+(?:leading|since)\b", None),
        (
            rf"^\s*(?:what|how)\b(?!\s+(?:many|much|long|old)\b).*\bsince\s+(?:{_MONTHS}|\d{{4}})\b",
            None,
        ),
    )
)


def detect(question: str) -> bool:
    """Whether the question asks how something developed (a timeline), not for one fact."""
    return any(pattern.search(question) for pattern, _ in _RULES)


def topic(question: str) -> str:
    """What the timeline is about: 'How did the standoff develop?' -> 'the standoff'."""
    for pattern, group in _RULES:
        match = pattern.search(question)
        if match and group is not None and match.group(group):
            text = match.group(group).strip(" ?.!")
            if len(text.split()) >= 2 or text[:1].isupper():
                return text
    return question


@dataclass(frozen=True)
class Pick:
    """One event sentence: its passage (0-based), offsets in the article, text, reader score."""

    passage: int
    start: int
    end: int
    text: str
    score: float
    date: date | None


@dataclass(frozen=True)
class Event:
    """Picks that tell the same event, oldest article first."""

    picks: tuple[Pick, ...]

    @property
    def date(self) -> date | None:
        return self.picks[0].date

    @property
    def text(self) -> str:
        return self.picks[0].text


def select(
    scores: np.ndarray,
    units: Sequence[tuple[int, int, int, str]],
    passages: Sequence[Passage],
    per_article: int = TUNED.per_article,
    floor: float = TUNED.floor,
    relative: float = TUNED.relative,
    words: frozenset[str] = frozenset(),
    keep: Callable[[str], bool] | None = None,
) -> list[Pick]:
    """The best sentences of each article (passage, start, end, text per unit): at most
    `per_article`, each above the floor, a second one only when it scores at least `relative`
    times the first, and one of the topic's content `words` when given; a sentence repeated by
    overlapping chunks counts once. `keep`, the costly test, is asked only of sentences that
    pass every other one."""
    kept: dict[str, list[Pick]] = {}
    seen: set[tuple[str, int]] = set()
    for k in np.argsort(-scores, kind="stable"):
        if scores[k] < floor:
            break
        i, start, end, text = units[k]
        p = passages[i]
        where = (p.source, p.start + start)
        chosen = kept.setdefault(p.source, [])
        if where in seen or len(chosen) >= per_article:
            continue
        if chosen and scores[k] < relative * chosen[0].score:
            continue
        if words and not words & content_words(text):
            continue
        if keep is not None and not keep(text):
            continue
        seen.add(where)
        chosen.append(Pick(i, p.start + start, p.start + end, text, float(scores[k]), p.date))
    return [pick for picks in kept.values() for pick in picks]


def merge(picks: Sequence[Pick], embedder: Embedder, threshold: float = TUNED.merge) -> list[Event]:
    """Picks grouped into events, oldest first (undated last): a pick whose sentence is about the
    same as an earlier event's (cosine >= threshold) joins it; it keeps the earliest date."""
    ordered = sorted(picks, key=lambda p: (order_key(p.date), p.start, p.passage))
    if not ordered:
        return []
    vectors = np.asarray(embedder.embed_documents([p.text for p in ordered]))
    groups: list[list[int]] = []
    for j in range(len(ordered)):
        sims = [max(float(vectors[j] @ vectors[i]) for i in group) for group in groups]
        best = int(np.argmax(sims)) if sims else -1
        if best >= 0 and sims[best] >= threshold:
            groups[best].append(j)
        else:
            groups.append([j])
    return [Event(tuple(ordered[j] for j in group)) for group in groups]


def cite(
    events: Sequence[Event], passages: Sequence[Passage], verifier: Verifier
) -> tuple[CitationBuilder, list[TimelineEvent]]:
    """Each event verified and cited like any answer sentence: its text with one marker per
    merged article; a marker whose article does not support the text is dropped, and an event
    none supports is dropped."""
    builder = CitationBuilder(passages, verifier, Draft(""), quote_each=True)
    lines = []
    for event in events:
        cited = list(dict.fromkeys(p.passage + 1 for p in event.picks))
        rendered = builder.add(event.text + " " + "".join(f"[{m}]" for m in cited))
        if rendered is not None:
            lines.append(
                TimelineEvent(
                    date=event.date, text=strip_markers(rendered), citations=markers(rendered)
                )
            )
    return builder, lines


def line(event: TimelineEvent) -> str:
    """The event as a line of plain text: 'YYYY-MM-DD: sentence [1][2]'."""
    when = event.date.isoformat() if event.date else "date unknown"
    return f"{when}: {event.text} " + "".join(f"[{n}]" for n in event.citations)


class Timeline:
    """The timeline step: candidates from more passages, the reader's picks, merged and cited."""

    def __init__(
        self,
        index: SearchIndex,
        embedder: Embedder,
        reader: LearnedReader,
        verifier: Verifier,
        settings: Settings,
        pos: PosTagger = spacy_pos,
    ) -> None:
        self.embedder = embedder
        self.pos = pos
        self.reader = reader
        self.verifier = verifier
        self.tuning = tuning = settings.timeline
        cap = max(settings.max_chunks_per_source, tuning.per_passage_article)
        self.retriever = Retriever.from_settings(index, embedder, settings, cap)

    def passages(self, question: str, dates: DateFilter, top_k: int | None = None) -> list[Passage]:
        return self.retriever.search(question, top_k or self.tuning.passages, dates)

    def events(self, question: str, passages: Sequence[Passage]) -> list[Event]:
        about = topic(question)
        # the reader scores answers to questions: ask it what happened with the topic
        probe = question if about == question else f"What happened with {about}?"
        # every article's best sentence, not the best 16 of all: no shortlist
        units, probs = self.reader.scores(probe, passages, shortlist=False)
        rows = [(u.passage, u.start, u.end, u.text) for u in units]
        t = self.tuning
        candidates = [u.text for u, p in zip(units, probs, strict=True) if p >= t.floor]
        keep = self.of_subject(about, candidates)
        picks = select(probs, rows, passages, t.per_article, t.floor, t.relative, keep=keep)
        return merge(picks, self.embedder, t.merge)

    def of_subject(self, about: str, texts: Sequence[str]) -> Callable[[str], bool]:
        """Whether a sentence is an event of the topic's subject: it names the subject or an
        alias (found among the entities of `texts`, the candidates), and reports something
        that happened (qa/answer/events.py)."""
        tagger = self.reader.tagger
        seen = [e for ents in tagger(list(texts)) for e in ents]
        who = subject(about, tagger([about])[0], seen)

        def event(text: str) -> bool:
            if not who.named_in(text):
                return False
            return happened(self.pos([text])[0], tagger([text])[0], text)

        return event

    def build(
        self, question: str, passages: Sequence[Passage]
    ) -> tuple[CitationBuilder, list[TimelineEvent]]:
        return cite(self.events(question, passages), passages, self.verifier)
