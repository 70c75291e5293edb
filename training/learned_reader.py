"""Training and measuring the learned reader on SQuAD 2.0 (training/train_learned_reader.py).

Deterministic: a seeded split by article, every text embedded once into a vector cache under
.cache/, and a logistic regression (liblinear, no randomness) fitted with scikit-learn, which
is needed here only: at run time the coefficients are evaluated with numpy."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.answer.reader.entities import EntityTagger
from qa.answer.reader.features import FEATURES, candidates, featurize
from qa.answer.reader.model import ReaderModel
from qa.answer.reader.questions import analyse
from qa.evaluation import normalize
from qa.search.embedding import Embedder
from training.squad import Example, examples, load_articles, split_articles, texts_to_embed

SEED = 16


class VectorCache:
    """Vectors of texts, computed once with the real model and kept in an .npz file."""

    name = "vector-cache"
    max_tokens = 256

    def __init__(self, path: Path, model: Callable[[], Embedder]) -> None:
        self.path = path
        self.model = model
        self.vectors: dict[str, np.ndarray] = {}
        if path.exists():
            data = np.load(path, allow_pickle=False)
            self.vectors = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))
        self.dirty = False

    @property
    def dim(self) -> int:
        return len(next(iter(self.vectors.values())))

    def ensure(self, texts: Sequence[str], batch: int = 256) -> None:
        missing = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        if not missing:
            return
        embedder = self.model()
        for begin in range(0, len(missing), batch):
            chunk = missing[begin : begin + batch]
            for t, v in zip(chunk, embedder.embed_documents(chunk), strict=True):
                self.vectors[t] = np.asarray(v, dtype=np.float32)
        self.dirty = True

    def save(self) -> None:
        if self.dirty:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            texts = list(self.vectors)
            np.savez(
                self.path, texts=np.array(texts), vectors=np.stack([self.vectors[t] for t in texts])
            )
            self.dirty = False

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.ensure(texts)
        return [self.vectors[t].tolist() for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


@dataclass(frozen=True)
class Rows:
    x: np.ndarray
    y: np.ndarray
    group: np.ndarray  # example number of each row


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def prepare(squad: Path, cache: VectorCache, seed: int = SEED) -> dict[str, list[Example]]:
    articles = load_articles(squad)
    split = split_articles([a["title"] for a in articles], seed)
    cache.ensure(texts_to_embed(articles))
    sentences = [
        u.text
        for a in articles
        for p in a["paragraphs"]
        for u in candidates([_passage(p["context"])])
    ]
    cache.ensure(sentences)
    cache.save()
    vectors = cache.vectors
    return {
        name: examples([a for a in articles if a["title"] in set(titles)], vectors)
        for name, titles in split.items()
    }


def _passage(text: str):
    from qa.types import Passage

    return Passage(
        chunk_id="p",
        source="p",
        text=text,
        start=0,
        end=len(text),
        date=None,
        title=None,
        score=0.0,
        dense=None,
        lexical=None,
    )


def rows(items: Sequence[Example], cache: VectorCache, tagger: EntityTagger) -> Rows:
    xs, ys, gs = [], [], []
    for g, ex in enumerate(items):
        units = candidates(ex.passages)
        if not units:
            continue
        info = analyse(ex.question)
        sims = np.stack([cache.vectors[u.text] for u in units]) @ cache.vectors[ex.question]
        xs.append(featurize(info, ex.passages, units, sims.astype(float), tagger))
        ys.append([_positive(ex, u.passage, u.start, u.end) for u in units])
        gs.append(np.full(len(units), g))
    return Rows(np.vstack(xs), np.concatenate(ys).astype(int), np.concatenate(gs))


def _positive(ex: Example, passage: int, start: int, end: int) -> bool:
    return any(p == passage and start <= s < end for p, s, _ in ex.answers)


def join(parts: Sequence[Rows]) -> Rows:
    """Rows of several data sets as one (group numbers made distinct)."""
    offset, groups = 0, []
    for part in parts:
        groups.append(part.group + offset)
        offset += int(part.group.max()) + 1 if len(part.group) else 0
    return Rows(
        np.vstack([p.x for p in parts]),
        np.concatenate([p.y for p in parts]),
        np.concatenate(groups),
    )


def fit(train: Rows, c: float = 1.0, weight: np.ndarray | None = None) -> ReaderModel:
    """Logistic regression on standardised features; `weight` per row (default 1)."""
    from sklearn.linear_model import LogisticRegression

    mean = train.x.mean(axis=0)
    scale = train.x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, solver="liblinear", max_iter=1000)
    model.fit((train.x - mean) / scale, train.y, sample_weight=weight)
    return ReaderModel(
        FEATURES, mean, scale, model.coef_[0].copy(), float(model.intercept_[0]), 0.5
    )


def choose_threshold(
    items: Sequence[Example], best: dict[int, tuple[float, bool]], max_false: float = 0.1
) -> float:
    """The highest threshold refusing at most `max_false` of the answerable questions."""
    answerable = sorted(best[g][0] for g, ex in enumerate(items) if ex.answerable and g in best)
    if not answerable:
        return 0.5
    return float(answerable[int(np.floor(max_false * len(answerable)))])


def f1(prediction: str, truth: str) -> float:
    p, t = normalize(prediction).split(), normalize(truth).split()
    common = sum(min(p.count(w), t.count(w)) for w in set(p))
    if not common:
        return 0.0
    return 2 * common / (len(p) + len(t))


def summary(
    items: Sequence[Example], picks: dict[int, tuple[float, bool, str | None]], threshold: float
) -> dict[str, float]:
    """Answer-sentence accuracy, no-answer precision/recall, short-answer EM/F1 (typed
    answerable questions; a missing short answer scores 0)."""
    answerable = [g for g, ex in enumerate(items) if ex.answerable]
    impossible = [g for g, ex in enumerate(items) if not ex.answerable]
    refused = {g for g, (p, _, _) in picks.items() if p < threshold} | {
        g for g in range(len(items)) if g not in picks
    }
    typed = [g for g in answerable if analyse(items[g].question).typed]
    em = [
        max((normalize(picks[g][2] or "") == normalize(t)) for t in items[g].texts)
        if g in picks
        else False
        for g in typed
    ]
    f = [
        max(f1(picks[g][2] or "", t) for t in items[g].texts) if g in picks else 0.0 for g in typed
    ]
    correct = [g in picks and picks[g][1] for g in answerable]
    right = sum(c and g not in refused for c, g in zip(correct, answerable, strict=True))
    right += len(refused & set(impossible))
    return {
        "questions": len(items),
        "question_accuracy": right / len(items) if items else 0.0,
        "answer_sentence_accuracy": float(np.mean(correct)) if correct else 0.0,
        "answered_and_correct": float(
            np.mean([c and g not in refused for c, g in zip(correct, answerable, strict=True)])
        )
        if correct
        else 0.0,
        "no_answer_precision": len(refused & set(impossible)) / len(refused) if refused else 0.0,
        "no_answer_recall": len(refused & set(impossible)) / len(impossible) if impossible else 0.0,
        "false_refusals": len(refused & set(answerable)) / len(answerable) if answerable else 0.0,
        "typed_questions": len(typed),
        "short_answer_em": float(np.mean(em)) if em else 0.0,
        "short_answer_f1": float(np.mean(f)) if f else 0.0,
    }


def save(model: ReaderModel, meta: dict[str, object], path: Path) -> None:
    path.write_text(json.dumps(model.to_json(), indent=1) + "\n", encoding="utf-8")
    path.with_suffix(".meta.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")


ReadTuple = tuple[object | None, float, str | None]  # (chosen sentence, probability, short answer)


def read_all(
    read: Callable[[str, Sequence[object]], ReadTuple], items: Sequence[Example]
) -> dict[int, tuple[float, bool, str | None]]:
    """Run a reader over examples: per example (probability, sentence right, short answer)."""
    picks: dict[int, tuple[float, bool, str | None]] = {}
    for g, ex in enumerate(items):
        chosen, prob, short = read(ex.question, ex.passages)
        if chosen is None:
            continue
        right = any(
            p == chosen.passage and chosen.start <= s < chosen.end  # type: ignore[attr-defined]
            for p, s, _ in ex.answers
        )
        picks[g] = (prob, right, short)
    return picks


def learned_read(reader: object) -> Callable[[str, Sequence[object]], ReadTuple]:
    def read(question: str, passages: Sequence[object]) -> ReadTuple:
        r = reader.read(question, passages)  # type: ignore[attr-defined]
        if not r.chosen:
            return None, 0.0, None
        c = r.chosen[0]
        text = passages[c.passage].text
        return c, r.confidence, text[c.short[0] : c.short[1]] if c.short else None

    return read


def hand_read(generator: object) -> Callable[[str, Sequence[object]], ReadTuple]:
    def read(question: str, passages: Sequence[object]) -> ReadTuple:
        return generator.best(question, passages), generator.evidence(question, passages), None  # type: ignore[attr-defined]

    return read
