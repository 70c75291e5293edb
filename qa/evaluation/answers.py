"""Answer metrics: SQuAD normalization, whether an answer holds a gold answer, token F1, the
sentences of an answer."""

from __future__ import annotations

import re
import string
from collections import Counter

from qa.evaluation.gold import GoldItem
from qa.text import MARKER, split_cited, strip_markers

_PUNCT = set(string.punctuation) | set("‘’“”–—…«»")


_ARTICLES = re.compile(r"\b(a|an|the)\b")


_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")


def normalize(text: str) -> str:
    """SQuAD normalization: lowercase, no punctuation or articles, 1,100 -> 1100."""
    text = MARKER.sub(" ", text.lower())
    text = _THOUSANDS.sub("", text)
    text = "".join(" " if ch in _PUNCT else ch for ch in text)
    return " ".join(_ARTICLES.sub(" ", text).split())


def contains(text: str, answer: str) -> bool:
    """Whether the normalized answer occurs in the text as whole tokens ("10" is not in "100")."""
    needle = normalize(answer)
    return bool(needle) and f" {needle} " in f" {normalize(text)} "


def is_correct(text: str, item: GoldItem) -> bool:
    """Normalized containment of any gold answer (of every one when `all_answers`)."""
    if not item.answers:
        return False
    found = [contains(text, a) for a in item.answers]
    return all(found) if item.all_answers else any(found)


def f1(prediction: list[str], truth: list[str]) -> float:
    common = sum((Counter(prediction) & Counter(truth)).values())
    if not common:
        return 0.0
    precision, recall = common / len(prediction), common / len(truth)
    return 2 * precision * recall / (precision + recall)


def token_f1(text: str, item: GoldItem) -> float:
    """SQuAD token F1, best over the answers (against all of them joined when `all_answers`)."""
    prediction = normalize(text).split()
    if not prediction or not item.answers:
        return 0.0
    if item.all_answers:
        return f1(prediction, normalize(" ".join(item.answers)).split())
    return max(f1(prediction, normalize(a).split()) for a in item.answers)


def split_sentences(answer: str) -> list[str]:
    """Answer sentences with their markers; a piece that is only markers or punctuation is not
    a sentence."""
    return [s for s in split_cited(answer) if strip_markers(s).strip(" .;:,")]


SHORT_GOLD_WORDS = 5  # gold answers this short are what a short answer should be
