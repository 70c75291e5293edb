"""The streaming steps of an answer: a backend's streamed draft cut into complete sentences,
each passed through verification as it completes (citations, then the short answer, then the
sentence), and the timed refusal."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence

from qa.answer.citations import CitationBuilder
from qa.answer.generators.base import Generator
from qa.schema import REFUSAL, Answer
from qa.text import TRAILING_MARKERS, sentence_spans, split_cited, strip_markers
from qa.types import Draft, Passage


def ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


def refusal(
    backend: str, question: str, timings: dict[str, float], begun: float, dropped: int = 0
) -> Answer:
    """The refusal, timed, as the final Answer."""
    timings["total"] = ms(begun)
    return Answer(
        answer=REFUSAL,
        refused=True,
        citations=[],
        backend=backend,
        timings_ms=timings,
        dropped_sentences=dropped,
        question=question,
    )


def final(events: Iterator[tuple[str, object]]) -> Answer:
    """The final Answer of a stream of events (the whole stream is consumed)."""
    answer = None
    for kind, value in events:
        if kind == "final":
            assert isinstance(value, Answer)
            answer = value
    assert answer is not None
    return answer


def verified(
    builder: CitationBuilder, sentences: Iterator[str], first: bool, draft: Draft
) -> Iterator[tuple[str, object]]:
    """("token", sentence) for each sentence that passes verification, preceded by
    ("citation", Citation) for the citations it is the first to use and once by ("short",
    ShortAnswer) as soon as a verified citation holds the short answer."""
    for sentence in sentences:
        checked = time.perf_counter()
        known = len(builder.citations)
        kept = builder.add(sentence)
        builder.verify_ms += ms(checked)
        if kept:
            for citation in builder.citations[known:]:
                yield "citation", citation
            if not builder.short_sent and (short := builder.short_answer(draft)):
                builder.short_sent = True
                yield "short", short
            yield "token", kept if first else " " + kept
            first = False


def draft_sentences(
    generator: Generator, question: str, passages: Sequence[Passage]
) -> Iterator[str]:
    """Complete sentences of a streamed draft (with their trailing [n] markers), each as
    soon as the next sentence has begun."""
    buffer = ""
    for delta in generator.stream(question, passages):
        buffer += delta
        while len(spans := sentence_spans(buffer)) >= 2:
            marks = TRAILING_MARKERS.match(buffer, spans[0][1])
            cut = marks.end() if marks else spans[0][1]
            if not re.search(r"\w", strip_markers(buffer[cut:])):
                break  # the next sentence has not really started yet
            yield buffer[:cut]
            buffer = buffer[cut:]
    yield from split_cited(buffer)
