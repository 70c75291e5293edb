"""Citation verification: is an answer sentence supported by the passages it cites?

A sentence passes when every number, name and date in it appears in its evidence, and its
support score (lexical recall of its content words, and embedding similarity to the best
evidence sentence) reaches the threshold. The evaluation uses the same checker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.search.embedding import Embedder
from qa.text import TOKEN, content_words, key_terms, norm, sentence_spans, strip_markers

__all__ = ["Support", "Verifier", "content_words", "key_terms", "strip_markers"]


@dataclass(frozen=True)
class Support:
    supported: bool
    score: float
    missing: tuple[str, ...]  # numbers, names and dates of the sentence absent from the evidence
    best: int = -1  # index of the evidence text holding the best-matching sentence
    span: tuple[int, int] = (0, 0)  # that sentence's offsets inside evidence[best]


class Verifier:
    def __init__(self, embedder: Embedder, threshold: float = 0.5) -> None:
        self.embedder = embedder
        self.threshold = threshold

    def check(self, sentence: str, evidence: Sequence[str]) -> Support:
        sentence = strip_markers(sentence)
        if not evidence or not sentence:
            return Support(False, 0.0, tuple(key_terms(sentence)))
        quoted = self._verbatim(sentence, evidence)
        if quoted is not None:
            return quoted
        joined = " ".join(evidence)
        present = {norm(m.group()).rstrip(".") for m in TOKEN.finditer(joined)}
        missing = tuple(t for t in key_terms(sentence) if t not in present)
        words = content_words(sentence)
        lexical = len(words & content_words(joined)) / len(words) if words else 0.0
        units: list[tuple[int, int, int]] = [
            (i, s, e) for i, text in enumerate(evidence) for s, e in sentence_spans(text)
        ]
        if not units:
            return Support(False, 0.0, missing)
        vectors = np.array(
            self.embedder.embed_documents([sentence] + [evidence[i][s:e] for i, s, e in units])
        )
        sims = vectors[1:] @ vectors[0]
        best = int(np.argmax(sims))
        score = 0.5 * lexical + 0.5 * float(sims[best])
        i, s, e = units[best]
        return Support(not missing and score >= self.threshold, score, missing, i, (s, e))

    @staticmethod
    def quote(sentence: str, evidence: Sequence[str]) -> Support | None:
        """Support of a sentence that is a whole sentence of the evidence, word for word."""
        return Verifier._verbatim(strip_markers(sentence), evidence)

    @staticmethod
    def _verbatim(sentence: str, evidence: Sequence[str]) -> Support | None:
        """A sentence that is one whole sentence of its evidence, word for word, is supported
        by definition (content-word recall 1, similarity 1 to itself): no model call needed.
        Extractive answers are made of such quotes."""
        for i, text in enumerate(evidence):
            if sentence not in text:
                continue
            for span in sentence_spans(text):
                if text[span[0] : span[1]] == sentence:
                    return Support(True, 1.0, (), i, span)
        return None
