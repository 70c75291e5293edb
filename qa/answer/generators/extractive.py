"""The extractive backend (no LLM): the learned reader's chosen sentences, quoted verbatim."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from qa.answer.reader.followup import condense
from qa.answer.reader.reader import to_draft
from qa.types import Draft

if TYPE_CHECKING:
    from qa.answer.reader.reader import Reader
    from qa.schema import Turn
    from qa.types import Passage


class ExtractiveGenerator:
    """Answers with whole sentences of the passages, chosen by the learned reader."""

    name = "extractive"
    verbatim = True  # its sentences are quotes: no plain-text reduction, no relevance floor

    def __init__(self, reader: Reader) -> None:
        self.reader = reader

    def generate(self, question: str, passages: Sequence[Passage]) -> Draft:
        reading = self.reader.read(question, passages)
        return to_draft(reading, passages) if reading.chosen else Draft("")

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        yield self.generate(question, passages).text

    def condense(self, history: Sequence[Turn], question: str) -> str:
        return condense(history, question)

    def close(self) -> None:
        pass
