"""The short answer: the entity of the expected type in the chosen sentence that the question
does not already name, nearest to where the sentence repeats the question's words."""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.reader.entities import Entity
from qa.reader.features import type_hits
from qa.reader.questions import QuestionInfo
from qa.verify import content_words

_WORD = re.compile(r"\w[\w’'-]*")


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

    def rank(e: Entity) -> tuple[int, float, int]:
        centre = (e.start + e.end) / 2
        distance = min((abs(centre - a) for a in anchors), default=0.0)
        return (question.labels.index(e.label), distance, e.start)

    return min(hits, key=rank)
