"""Verification and citation of an answer, sentence by sentence: each [n] must support its
sentence on its own, citations are numbered in order of appearance, and each quote is the exact
passage of the article (offsets into its clean text)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from qa.answer.verify import Verifier, content_words
from qa.injection import mask, plain_text
from qa.schema import Citation, ShortAnswer
from qa.text import MARKER, sentence_spans, strip_markers
from qa.types import Draft, Passage

_REFUSAL = re.compile(r"\b(do(es)? not (say|contain|mention)|no information|cannot answer)\b", re.I)


class CitationBuilder:
    """Verifies draft sentences one at a time and numbers citations in order of appearance.

    Each [n] must support its sentence on its own, from text not flagged as instructions (a
    flagged sentence counts only when quoted verbatim). An LLM sentence is first reduced to plain
    text and must relate to the question: share a content word with the question or with the
    reader's draft (what the reader scored as answering), and reach similarity `floor` (0 turns
    both checks off). Support alone is not enough: an article sentence addressed to readers is
    supported by its article whatever was asked. With `quote_each`, every
    distinct quote of a passage is its own citation (timeline lines each cite their sentence).
    """

    def __init__(
        self,
        passages: Sequence[Passage],
        verifier: Verifier,
        draft: Draft,
        question: str = "",
        llm: bool = False,
        floor: float = 0.0,
        quote_each: bool = False,
    ) -> None:
        self.passages = passages
        self.verifier = verifier
        self.question = question
        self.llm = llm
        self.floor = floor
        self.spans = draft.spans
        self.topic = content_words(question) | content_words(strip_markers(draft.text))
        self.numbers: dict[int, int] = {}  # passage number in the draft -> citation n
        self.quote_each = quote_each
        self.quotes: dict[tuple[int, int, int], int] = {}  # (passage, start, end) -> n
        self.citations: list[Citation] = []
        self.sentences: list[str] = []
        self.dropped = 0
        self.verify_ms = 0.0
        self.short_sent = False

    def add(self, sentence: str) -> str | None:
        if self.llm:
            sentence = plain_text(sentence)
        body = strip_markers(sentence)
        if not body or _REFUSAL.search(body):
            return None
        cited = []
        for group in MARKER.findall(sentence):
            for m in (int(x) for x in group.split(",")):
                if 1 <= m <= len(self.passages) and m not in cited:
                    cited.append(m)  # markers pointing at nothing retrieved are dropped here
        if not cited:  # attribute an uncited sentence to the passage that supports it best
            probe = self.verifier.check(body, [p.text for p in self.passages])
            cited = [probe.best + 1] if probe.supported else []
        supported = [(m, span) for m in cited if (span := self._support(body, m)) is not None]
        if not supported or (self.llm and not self._relevant(body)):
            self.dropped += 1
            return None
        marks = "".join(f"[{self._cite(m, body, span)}]" for m, span in supported)
        rendered = f"{body} {marks}"
        self.sentences.append(rendered)
        return rendered

    def _support(self, body: str, m: int) -> tuple[int, int] | None:
        """The span of passage m supporting `body` by itself, or None; flagged text is blanked
        out unless `body` quotes one of its sentences verbatim."""
        p = self.passages[m - 1]
        text = mask(p.text, p.flagged) if p.flagged else p.text
        support = self.verifier.check(body, [text])
        if not support.supported and p.flagged:
            support = self.verifier.quote(body, [p.text]) or support
        if not support.supported:
            return None
        start, end = support.span
        while start < end and text[start].isspace():
            start += 1
        return start, end

    def _relevant(self, body: str) -> bool:
        if self.floor <= 0 or not self.question:
            return True
        if not content_words(body) & self.topic:
            return False
        question, sentence = self.verifier.embedder.embed_documents([self.question, body])
        return float(np.dot(question, sentence)) >= self.floor

    def short_answer(self, draft: Draft) -> ShortAnswer | None:
        """The draft's short answer, when the quote of the passage it came from holds it and it
        is not inside a sentence flagged as instructions."""
        if draft.short is None or draft.short[0] not in self.numbers:
            return None
        m, start, end = draft.short
        citation = self.citations[self.numbers[m] - 1]
        if not (citation.start <= start < end <= citation.end):
            return None
        p = self.passages[m - 1]
        lo, hi = start - p.start, end - p.start
        if any(s < hi and lo < e for s, e in p.flagged):
            return None  # never state text that reads as instructions in our own words
        return ShortAnswer(text=p.text[lo:hi], n=citation.n, start=start, end=end)

    def _cite(self, m: int, sentence: str, span: tuple[int, int] | None) -> int:
        if self.quote_each and span is not None:
            key = (m, *span)
            if key not in self.quotes:
                self.quotes[key] = self._cite_new(m, sentence, span)
            return self.quotes[key]
        if m in self.numbers:
            return self.numbers[m]
        return self._cite_new(m, sentence, span)

    def _cite_new(self, m: int, sentence: str, span: tuple[int, int] | None) -> int:
        p = self.passages[m - 1]
        if m in self.spans:
            start, end = self.spans[m]
        else:
            if span is None:  # the passage sentence sharing most content words
                words = content_words(sentence)
                span = max(
                    sentence_spans(p.text) or [(0, len(p.text))],
                    key=lambda se: len(words & content_words(p.text[se[0] : se[1]])),
                )
            start, end = p.start + span[0], p.start + span[1]
        n = len(self.citations) + 1
        self.numbers.setdefault(m, n)
        self.citations.append(
            Citation(
                n=n,
                source=p.source,
                date=p.date,
                title=p.title,
                chunk_id=p.chunk_id,
                start=start,
                end=end,
                quote=p.text[start - p.start : end - p.start],
                url=p.url,
            )
        )
        return n
