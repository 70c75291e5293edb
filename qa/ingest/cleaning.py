"""Raw text to a clean, acceptable `Article`: boilerplate and page fragments dropped, the size
limit, and the problems a file can have (reported, never raised)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib.resources import files

from qa.ingest.dedupe import dedupe
from qa.types import Article

MAX_ARTICLE_CHARS = 1_000_000  # clean text of one article; longer ones are skipped


@dataclass(frozen=True)
class Problem:
    source: str
    message: str
    skipped: bool  # True: the file was not indexed; False: indexed with a warning


@lru_cache
def _boilerplate() -> re.Pattern[str]:
    lines = files("qa").joinpath("boilerplate.txt").read_text(encoding="utf-8").splitlines()
    patterns = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    return re.compile(r"\A\s*(?:" + "|".join(patterns) + r")\s*\Z", re.IGNORECASE)


_FRAGMENT_WORDS = 2  # a paragraph this short, with no digit and no end punctuation


def fragment(paragraph: str) -> bool:
    """A page fragment, not article text: a paragraph of at most two words with no digit and
    no sentence punctuation (a button or label left by a copy: "download jpg", "Photo gallery").
    Titles are read from headers, so nothing an answer needs is lost."""
    words = paragraph.split()
    return (
        0 < len(words) <= _FRAGMENT_WORDS
        and not any(ch.isdigit() for ch in paragraph)
        and not paragraph.rstrip("\"'”’)").endswith((".", "!", "?", ":"))
    )


def clean_text(raw: str) -> str:
    """Drop boilerplate lines and page fragments, collapse whitespace, and keep the first of
    repeated paragraphs."""
    pattern = _boilerplate()
    lines = [ln for ln in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = ["" if pattern.match(ln) else ln for ln in lines]
    paragraphs = (" ".join(p.split()) for p in re.split(r"\n\s*\n", "\n".join(lines)))
    return "\n\n".join(dedupe(p for p in paragraphs if not fragment(p)))


def to_article(
    source: str,
    raw: str,
    day: date | None,
    title: str | None,
    url: str | None = None,
    author: str | None = None,
) -> Article:
    text = clean_text(raw)
    return Article(source, text, day, title or None, url or None, author or None)


def acceptable(article: Article, problems: list[Problem]) -> bool:
    if not article.text:
        what = "record has no text" if "#" in article.source else "no text after cleaning"
        problems.append(Problem(article.source, f"{what}: skipped", True))
        return False
    if len(article.text) > MAX_ARTICLE_CHARS:
        problems.append(
            Problem(
                article.source,
                f"{len(article.text)} characters after cleaning; the limit per article is "
                f"{MAX_ARTICLE_CHARS}: split it into several files",
                True,
            )
        )
        return False
    return True
