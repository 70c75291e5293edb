"""The short answer: the entity of the expected type in the chosen sentence that the question
does not already name, nearest to where the sentence repeats the question's words."""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.answer.reader.entities import Entity
from qa.answer.reader.features import type_hits
from qa.answer.reader.questions import QuestionInfo
from qa.answer.verify import content_words

_WORD = re.compile(r"\w[\w’'-]*")
_HOW_LONG = re.compile(r"\bhow long\b", re.I)
_DURATION = re.compile(
    r"\b(seconds?|minutes?|hours?|days?|nights?|weeks?|months?|years?|decades?|centuries)\b", re.I
)


def pick(question: QuestionInfo, sentence: str, entities: Sequence[Entity]) -> Entity | None:
    """The best entity of `entities` (offsets inside `sentence`), or None for an untyped
    question or a sentence without such an entity."""
    hits = type_hits(question, entities)
    if not hits:
        return None
    anchors = [
        m.start()
        for m in _WORD.finditer(sentence)
        if (w := content_words(m.group())) and w <= question.words
    ]

    # "How long did the strike last?" asks for "three weeks", not for "Thursday"
    wants_duration = bool(_HOW_LONG.search(question.text))

    def rank(e: Entity) -> tuple[bool, int, float, int]:
        centre = (e.start + e.end) / 2
        distance = min((abs(centre - a) for a in anchors), default=0.0)
        not_duration = wants_duration and not _DURATION.search(e.text)
        return (not_duration, question.labels.index(e.label), distance, e.start)

    return min(hits, key=rank)
