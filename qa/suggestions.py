"""Questions to offer on an empty chat page, made from the indexed articles' titles (no LLM).

An article without a title is represented by its first sentence. Newest articles first, so a
first visitor sees what the index is about today.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

_CUT = re.compile(r",\s|\s[–—-]\s|:\s|\s\|\s|;\s")


_INTRO = re.compile(
    r"(?:in|on|at|after|as|amid|according to|following|despite|while|with)\b[^,]{0,40},\s+", re.I
)


def topic(label: str, limit: int = 80) -> str:
    """The first clause of a title or sentence (past an opening "In a turn of events, ")."""
    text = " ".join(label.split()).rstrip(".!?…")
    text = _INTRO.sub("", text, count=1) if _INTRO.match(text) else text
    match = _CUT.search(text, 20)  # a clause, but not a two-word stub
    if match:
        text = text[: match.start()]
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return text[:1].upper() + text[1:]


def suggested_questions(articles: Iterable[tuple[str, date | None]], count: int = 4) -> list[str]:
    """Up to `count` questions, one per article, from (title or first sentence, date) pairs."""
    ordered = sorted(articles, key=lambda a: (a[1] is not None, a[1] or date.min), reverse=True)
    questions: list[str] = []
    seen: set[str] = set()
    for label, _ in ordered:
        about = topic(label)
        if len(about.split()) < 3 or about.lower() in seen:
            continue
        seen.add(about.lower())
        questions.append(f"What do the articles say about “{about}”?")
        if len(questions) == count:
            break
    return questions
