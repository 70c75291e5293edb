"""Text helpers every step shares, each defined once: sentences, citation markers, stop words,
stemming, content words and key terms.

Sentence boundaries here are rule-based and cheap (they run on every chunk at ingest); the
reader's linguistic annotations (entities, lemmas) come from spaCy in its own module.
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN

STOP_WORDS = frozenset(STOPWORDS_EN)

# -- sentences -------------------------------------------------------------------------------

_ABBREVIATION_WORDS = (
    "mr mrs ms dr gen col lt sgt sen rep gov pres st jr sr prof capt maj adm cmdr co corp inc "
    "ltd no vol vs etc jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n e.g i.e"
)
_ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())
_BOUNDARY = re.compile(r"[.!?…]+[\"”’')\]]*\s+(?=[\"“‘'(\[]?[A-Z0-9])")
_LAST_WORD = re.compile(r"([\w.]+)[.!?…]+[\"”’')\]]*\s+\Z")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence; paragraph breaks always end a sentence."""
    spans: list[tuple[int, int]] = []
    for para in re.finditer(r"[^\n]+", text):
        start = para.start()
        for boundary in _BOUNDARY.finditer(para.group()):
            cut = para.start() + boundary.end()
            last = _LAST_WORD.search(text[start:cut])
            word = last.group(1).lower() if last else ""
            if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
                continue
            spans.append((start, para.start() + boundary.start() + len(boundary.group().rstrip())))
            start = cut
        spans.append((start, para.end()))
    return [(s, e) for s, e in spans if text[s:e].strip()]


# -- citation markers: "[1]", "[1, 2]" -------------------------------------------------------

MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
LEADING_MARKERS = re.compile(r"\A(?:\s*\[\d+(?:\s*,\s*\d+)*\])+")
TRAILING_MARKERS = re.compile(r"(?:\s*\[\d+(?:\s*,\s*\d+)*\])+")
_MARKER_WITH_SPACE = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


def strip_markers(text: str) -> str:
    return _MARKER_WITH_SPACE.sub("", text).strip()


def markers(sentence: str) -> list[int]:
    """The citation numbers [n] / [n, m] in a sentence, in order."""
    return [int(n) for group in MARKER.findall(sentence) for n in group.split(",")]


def split_cited(text: str) -> list[str]:
    """Sentences of an answer, each keeping the [n] markers written right after it (a marker
    that follows the full stop belongs to the sentence before it)."""
    sentences: list[str] = []
    for s, e in sentence_spans(text):
        piece = text[s:e]
        lead = LEADING_MARKERS.match(piece)
        if lead and sentences:
            sentences[-1] += " " + lead.group().strip()
            piece = piece[lead.end() :]
        if piece.strip():
            sentences.append(piece.strip())
    return sentences


# -- words -----------------------------------------------------------------------------------

TOKEN = re.compile(r"[A-Za-zÀ-ÿ][\w’'-]*|\d[\d,.]*\d|\d")
_POSSESSIVE = re.compile(r"[’']s$")


def norm(word: str) -> str:
    """Lowercase, no possessive, no edge punctuation, no thousands separators."""
    word = _POSSESSIVE.sub("", word.lower()).strip(".,'’-")
    return word.replace(",", "")


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball (Porter 2) English stem from PyStemmer: visited/visits/visiting -> visit."""
    return str(_stemmer().stemWord(word))


def content_words(text: str) -> set[str]:
    """Stems of the words that carry content (no stop words, no 1–2 letter words)."""
    words = (norm(m.group()) for m in TOKEN.finditer(text))
    return {stem(w) for w in words if w and w not in STOP_WORDS and len(w) > 2}


def key_terms(sentence: str) -> list[str]:
    """Numbers and capitalized names (not sentence-initial, not stopwords)."""
    terms = []
    for i, match in enumerate(TOKEN.finditer(sentence)):
        token = match.group()
        if token[0].isdigit():
            terms.append(norm(token).rstrip("."))
        elif i > 0 and token[0].isupper() and norm(token) not in STOP_WORDS and len(token) > 1:
            terms.append(norm(token))
    return terms


def lead(text: str, limit: int = 140) -> str:
    """The first sentence of `text`, cut at a word near `limit` characters: a label for it."""
    first = text.strip().split("\n", 1)[0]
    match = re.search(r"(?<=[.!?…])[\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9])", first)
    sentence = first[: match.start()] if match else first
    if len(sentence) <= limit:
        return sentence
    cut = sentence[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def has_control(name: str) -> bool:
    """Whether a name holds a NUL or another control character (never a file or record name)."""
    return _CONTROL.search(name) is not None
