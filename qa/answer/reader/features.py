"""Candidate sentences of the retrieved passages and the features the reader scores them on.

The same code computes the features at training time (training/train_learned_reader.py)
and at question time, and `FEATURES` is saved with the fitted model: a model trained on other
features fails to load (see qa/answer/reader/model.py)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from qa.answer.reader.entities import Entity
from qa.answer.reader.questions import QuestionInfo
from qa.answer.verify import content_words, key_terms
from qa.text import sentence_spans
from qa.types import Passage

FEATURES: tuple[str, ...] = (
    "sim",  # cosine(question, sentence)
    "sim_gap",  # sim - best sim among the candidates
    "sim_context",  # best cosine of a neighbouring sentence of the same passage
    "lex",  # IDF-weighted share of the question's content words in the sentence
    "lex_gap",  # lex - best lex among the candidates
    "lex_context",  # IDF-weighted share found only in the neighbouring sentences
    "lex_plain",  # unweighted share of the question's content words
    "sim_x_lex",
    "names_sentence",  # share of the question's names/numbers in the sentence
    "names_passage",  # ... in the sentence's passage
    "names_anywhere",  # ... in any passage (question-level: absent names suggest refusal)
    "has_names",
    "typed",  # the question asks for a thing (person, date, number...)
    "type_hit",  # typed, and the sentence holds such an entity the question does not mention
    "type_context",  # typed, no hit here, but a neighbouring sentence has one
    "type_anywhere",  # typed, and some candidate has a hit (question-level)
    "passage_rank",  # 1 / (1 + rank of the passage)
    "passage_dense",  # the passage's cosine similarity (0 when found by BM25 only)
    "passage_lexical",  # found by BM25
    "first_sentence",
    "position",  # sentence index / sentences in the passage
    "length",  # log(1 + words)
    "question_length",  # log(1 + content words of the question)
)


@dataclass(frozen=True)
class Unit:
    """One candidate sentence: offsets inside its passage's text."""

    passage: int
    start: int
    end: int
    text: str
    index: int  # sentence number inside the passage
    count: int  # sentences in the passage


def candidates(passages: Sequence[Passage], min_words: int = 5) -> list[Unit]:
    units = []
    for i, p in enumerate(passages):
        spans = sentence_spans(p.text)
        for k, (s, e) in enumerate(spans):
            if len(p.text[s:e].split()) >= min_words:
                units.append(Unit(i, s, e, p.text[s:e], k, len(spans)))
    return units


def mentioned(entity: Entity, question: QuestionInfo) -> bool:
    """Whether the question already names the entity ("Chad" in "president of Chad")."""
    if entity.text.lower() in question.text.lower():
        return True
    words = content_words(entity.text)
    return bool(words) and words <= question.words


def type_hits(question: QuestionInfo, entities: Sequence[Entity]) -> list[Entity]:
    """Entities of the expected type that the question does not already mention."""
    if not question.typed:
        return []
    return [e for e in entities if e.label in question.labels and not mentioned(e, question)]


def _neighbours(units: Sequence[Unit], k: int) -> list[int]:
    return [
        j for j in (k - 1, k + 1) if 0 <= j < len(units) and units[j].passage == units[k].passage
    ]


def featurize(
    question: QuestionInfo,
    passages: Sequence[Passage],
    units: Sequence[Unit],
    sims: np.ndarray,
    entities: Callable[[Sequence[str]], Sequence[Sequence[Entity]]],
) -> np.ndarray:
    """One row of `FEATURES` per unit; `sims` are the question-sentence cosines."""
    n = len(units)
    if n == 0:
        return np.zeros((0, len(FEATURES)))
    word_sets = [content_words(u.text) for u in units]
    df: dict[str, int] = {}
    for words in word_sets:
        for w in words & question.words:
            df[w] = df.get(w, 0) + 1
    idf = {w: math.log((n + 1) / (df.get(w, 0) + 0.5)) for w in question.words}
    total = sum(idf.values()) or 1.0
    lex = np.array([sum(idf[w] for w in ws & question.words) / total for ws in word_sets])
    plain = np.array(
        [
            len(ws & question.words) / len(question.words) if question.words else 0.0
            for ws in word_sets
        ]
    )
    names = question.names
    p_terms = [
        {t.lower() for t in key_terms(" " + p.text)} | content_words(p.text) for p in passages
    ]
    all_terms = set().union(*p_terms) if p_terms else set()

    def share(terms: set[str]) -> float:
        return len(names & terms) / len(names) if names else 0.0

    s_terms = [
        {t.lower() for t in key_terms(" " + u.text)} | ws
        for u, ws in zip(units, word_sets, strict=True)
    ]
    hits = (
        [bool(type_hits(question, ents)) for ents in entities([u.text for u in units])]
        if question.typed
        else [False] * n
    )
    rows = np.zeros((n, len(FEATURES)))
    best_sim, best_lex = float(sims.max()), float(lex.max())
    anywhere = share(all_terms)
    any_hit = float(any(hits))
    for k, u in enumerate(units):
        near = _neighbours(units, k)
        near_words = set().union(*(word_sets[j] for j in near)) - word_sets[k] if near else set()
        p = passages[u.passage]
        rank = 1.0 / (1 + u.passage)
        rows[k] = (
            sims[k],
            sims[k] - best_sim,
            max((sims[j] for j in near), default=0.0),
            lex[k],
            lex[k] - best_lex,
            sum(idf[w] for w in near_words & question.words) / total,
            plain[k],
            sims[k] * lex[k],
            share(s_terms[k]),
            share(p_terms[u.passage]),
            anywhere,
            float(bool(names)),
            float(question.typed),
            float(hits[k]),
            float(question.typed and not hits[k] and any(hits[j] for j in near)),
            any_hit if question.typed else 0.0,
            rank,
            p.dense or 0.0,
            float(p.lexical is not None),
            float(u.index == 0),
            u.index / max(u.count, 1),
            math.log1p(len(u.text.split())),
            math.log1p(len(question.words)),
        )
    return rows
