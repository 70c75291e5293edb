"""The hand-weighted sentence scorer that the learned reader replaced, kept as the baseline
of training/learned_reader_squad.py (the reader is compared with it on the same split, in the
same run)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import numpy as np

from qa.answer.reader.questions import NUMERAL, answers_quantity, sub_questions
from qa.answer.reader.reader import Scored
from qa.answer.verify import content_words, key_terms
from qa.search.embedding import Embedder
from qa.text import sentence_spans
from qa.types import Draft, Passage

# -- extractive ------------------------------------------------------------------------------

_PERSON = re.compile(r"\b[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)+")
_WH_NAME = re.compile(
    r"^\s*(who|whom|which (general|leader|minister|president|official|diplomat))\b", re.I
)
_WH_NUMBER = re.compile(
    r"\b(how (many|much)|what (number|percentage|share)|population|number of)\b", re.I
)
_WH_DATE = re.compile(r"^\s*when\b|\b(what|which) (day|date|year|month)\b", re.I)
_DATE_WORDS = re.compile(
    r"\b(19|20)\d{2}\b|\b\w+day\b|\b(January|February|March|April|May|June|July|August|"
    r"September|October|November|December)\b"
)


def answer_kind(question: str) -> str | None:
    """The kind of thing the question asks for: "number", "date", "name", or None."""
    if _WH_NUMBER.search(question):
        return "number"
    if _WH_DATE.search(question):
        return "date"
    if _WH_NAME.search(question):
        return "name"
    return None


def has_answer_type(question: str, sentence: str) -> bool | None:
    """Does the sentence hold the kind of thing the question asks for (a number, a date, a
    name not already in the question)? None when the question asks for no such kind."""
    kind = answer_kind(question)
    if kind == "number":
        return bool(NUMERAL.search(sentence))
    if kind == "date":
        return bool(_DATE_WORDS.search(sentence))
    if kind == "name":
        asked = question.lower()
        return any(m.group().lower() not in asked for m in _PERSON.finditer(sentence))
    return None


_TYPE_BONUS = {"number": (0.08, -0.15), "date": (0.05, -0.1), "name": (0.08, -0.08)}  # hit, miss


def _type_bonus(question: str, sentence: str) -> float:
    kind = answer_kind(question)
    if kind is None:
        return 0.0
    hit, miss = _TYPE_BONUS[kind]
    return hit if has_answer_type(question, sentence) else miss


class HandWeighted:
    """Picks the sentences of the retrieved passages that best answer the question."""

    name = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        weights: tuple[float, float] = (0.5, 0.6),
        name_penalty: float = 0.1,
        batch: int = 8,
    ) -> None:
        self.embedder = embedder
        self.batch = batch  # sentences embedded per step of the search
        self.weights = weights  # (embedding similarity, lexical coverage): tuned on the gold set
        self.name_penalty = name_penalty

    def best(self, question: str, passages: Sequence[Passage]) -> Scored | None:
        """The sentence of the passages that best answers `question`: embedding similarity +
        lexical evidence + answer type, less a penalty when names of the question are absent
        from the sentence's passage.

        Only the similarity needs the model, and it is at most 1: sentences are embedded in
        order of their other terms, and the search stops once no sentence left could beat the
        best one even at similarity 1. The result is the same as scoring every sentence."""
        units = [
            (i, s, e)
            for i, p in enumerate(passages)
            for s, e in sentence_spans(p.text)
            if len(p.text[s:e].split()) >= 5
        ]
        if not units:
            return None
        texts = [passages[i].text[s:e] for i, s, e in units]
        q_words = content_words(question)
        q_names = {w for w in (t.lower() for t in key_terms(" " + question)) if not w[0].isdigit()}
        weight = {w: (2.0 if w in q_names else 1.0) for w in q_words}
        total = sum(weight.values()) or 1.0
        absent = [
            len(q_names - content_words(p.text)) / len(q_names) if q_names else 0.0
            for p in passages
        ]
        w_sim, w_lex = self.weights
        word_sets = [content_words(t) for t in texts]
        partial = []  # every term of the score but the similarity
        for k, ((i, _, _), text) in enumerate(zip(units, texts, strict=True)):
            own = sum(v for w, v in weight.items() if w in word_sets[k]) / total
            # neighbours in the same passage resolve "it", "the movement"...: half credit
            near = set().union(
                *(word_sets[j] for j in (k - 1, k + 1) if 0 <= j < len(units) and units[j][0] == i)
            )
            context = sum(v for w, v in weight.items() if w in near and w not in word_sets[k])
            lexical = own + 0.5 * context / total
            partial.append(
                w_lex * lexical + _type_bonus(question, text) - self.name_penalty * absent[i]
            )
        order = sorted(range(len(units)), key=lambda k: (-partial[k], k))
        query = np.asarray(self.embedder.embed_query(question))
        top, top_value = order[0], -np.inf
        for begin in range(0, len(order), self.batch):
            batch = order[begin : begin + self.batch]
            if partial[batch[0]] + w_sim <= top_value:
                break  # even a similarity of 1 would not win
            vectors = np.asarray(self.embedder.embed_documents([texts[k] for k in batch]))
            for k, sim in zip(batch, vectors @ query, strict=True):
                if (value := partial[k] + w_sim * float(sim)) > top_value:
                    top, top_value = k, value
        i, s, e = units[top]
        return Scored(i, s, e, texts[top], float(top_value))

    def select(self, question: str, passages: Sequence[Passage]) -> list[Scored]:
        """The best sentence for each part of the question (one for a simple question)."""
        chosen: list[Scored] = []
        for part in sub_questions(question):
            found = self.best(part, passages)
            if found and has_answer_type(part, found.text) is False:
                found = _with_neighbour(part, found, passages[found.passage].text)
            if found and all((r.passage, r.start) != (found.passage, found.start) for r in chosen):
                chosen.append(found)
        return chosen

    def evidence(self, question: str, passages: Sequence[Passage]) -> float:
        """How well the passages answer the weakest part of the question (refusal gate)."""
        best = []
        for part in sub_questions(question):
            found = self.best(part, passages)
            if not found or (_WH_NUMBER.search(part) and not answers_quantity(part, found.text)):
                best.append(0.0)  # asked for a number, and the best sentence holds none
            else:
                best.append(found.score)
        return min(best) if best else 0.0

    def generate(self, question: str, passages: Sequence[Passage]) -> Draft:
        spans: dict[int, tuple[int, int]] = {}
        parts = []
        for c in self.select(question, passages):
            n = c.passage + 1
            p = passages[c.passage]
            spans.setdefault(n, (p.start + c.start, p.start + c.end))
            parts.append(f"{c.text} [{n}]")
        return Draft(" ".join(parts), spans)

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        yield self.generate(question, passages).text


def _with_neighbour(question: str, found: Scored, text: str) -> Scored:
    """The best sentence lacks what was asked ("Wagner, says the spokeswoman, is a recipe for
    chaos" for "who said..."): quote it with the sentence before (or after) it that holds it,
    which is usually where the pronoun or title points."""
    spans = sentence_spans(text)
    at = next((k for k, (s, _) in enumerate(spans) if s == found.start), None)
    if at is None:
        return found
    for k in (at - 1, at + 1):
        if 0 <= k < len(spans) and has_answer_type(question, text[spans[k][0] : spans[k][1]]):
            start, end = min(found.start, spans[k][0]), max(found.end, spans[k][1])
            return Scored(found.passage, start, end, text[start:end], found.score)
    return found
