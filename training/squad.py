"""SQuAD 2.0 as reader training data: each question against the top paragraphs of its article
(retrieved as the service would: dense + BM25, fused by reciprocal rank), the positive being the
sentence that holds the answer span; unanswerable questions have no positive."""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.search.lexical import tokenize
from qa.search.retrieval import rrf_vote
from qa.types import Passage


@dataclass(frozen=True)
class Example:
    id: str
    question: str
    article: str
    passages: tuple[Passage, ...]
    answers: tuple[tuple[int, int, int], ...]  # (passage index, start, end) of gold spans
    texts: tuple[str, ...]  # gold answer texts
    answerable: bool


def load_articles(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return list(json.load(f)["data"])


def split_articles(titles: Sequence[str], seed: int = 16) -> dict[str, list[str]]:
    """By article, so no paragraph is seen in two splits: 10 train, 3 validation, 3 test."""
    order = sorted(titles)
    random.Random(seed).shuffle(order)
    n = len(order)
    val, test = max(1, round(n * 3 / 16)), max(1, round(n * 3 / 16))
    return {
        "train": order[: n - val - test],
        "val": order[n - val - test : n - test],
        "test": order[n - test :],
    }


def _bm25(
    question: list[str], docs: list[list[str]], k1: float = 1.5, b: float = 0.75
) -> np.ndarray:
    n = len(docs)
    avg = sum(len(d) for d in docs) / max(n, 1)
    df: dict[str, int] = {}
    for d in docs:
        for w in set(d):
            df[w] = df.get(w, 0) + 1
    scores = np.zeros(n)
    for i, d in enumerate(docs):
        counts: dict[str, int] = {}
        for w in d:
            counts[w] = counts.get(w, 0) + 1
        for w in set(question):
            if w in counts:
                idf = np.log(1 + (n - df[w] + 0.5) / (df[w] + 0.5))
                tf = counts[w]
                scores[i] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(d) / avg))
    return scores


def examples(
    articles: Sequence[dict],
    vectors: dict[str, np.ndarray],
    top_k: int = 5,
    rrf_k: int = 60,
) -> list[Example]:
    """Every question of `articles` with its top_k retrieved paragraphs; `vectors` embeds every
    paragraph and question text."""
    out = []
    for article in articles:
        title = article["title"]
        paragraphs = [p["context"] for p in article["paragraphs"]]
        tokens = [tokenize(p) for p in paragraphs]
        matrix = np.stack([vectors[p] for p in paragraphs])
        for pi, para in enumerate(article["paragraphs"]):
            for qa in para["qas"]:
                dense = matrix @ vectors[qa["question"]]
                lexical = _bm25(tokenize(qa["question"]), tokens)
                by_dense = np.argsort(-dense, kind="stable")
                by_lex = [i for i in np.argsort(-lexical, kind="stable") if lexical[i] > 0]
                fused: dict[int, float] = {}
                for ranking in (list(by_dense), by_lex):
                    rrf_vote(fused, [int(i) for i in ranking[:40]], rrf_k)
                top = sorted(fused, key=lambda i: (-fused[i], i))[:top_k]
                lex_top = {int(i) for i in by_lex[:40]}
                passages = tuple(
                    Passage(
                        chunk_id=f"{title}-{i}",
                        source=title,
                        text=paragraphs[i],
                        start=0,
                        end=len(paragraphs[i]),
                        date=None,
                        title=title,
                        score=fused[i],
                        dense=float(dense[i]),
                        lexical=float(lexical[i]) if i in lex_top else None,
                    )
                    for i in top
                )
                spans = tuple(
                    (top.index(pi), a["answer_start"], a["answer_start"] + len(a["text"]))
                    for a in qa["answers"]
                    if pi in top
                )
                out.append(
                    Example(
                        qa["id"],
                        qa["question"],
                        title,
                        passages,
                        spans,
                        tuple(a["text"] for a in qa["answers"]),
                        not qa["is_impossible"],
                    )
                )
    return out


def texts_to_embed(articles: Sequence[dict]) -> list[str]:
    out = []
    for article in articles:
        for para in article["paragraphs"]:
            out.append(para["context"])
            out.extend(qa["question"] for qa in para["qas"])
    return list(dict.fromkeys(out))
