"""An article's date and title from its top lines, its Markdown front matter or its HTML metadata.

Dates are read only where they are written in a known form (ISO dates and timestamps,
"December 1, 2023", "1 Dec 2023"); anything else stays unknown and becomes a note for the
ingest summary, never a guess. `12/01/2023` is refused: it means two different days.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import yaml

from qa.search.dates import MONTHS

_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>\d{4})"
_WEEKDAY = r"(?:(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|urday)?\.?,?\s+)?"
_DATE_FORMS = (
    re.compile(
        r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
        r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?!\d)"
    ),
    re.compile(r"(?P<year>\d{4})/(?P<month>\d{1,2})/(?P<day>\d{1,2})(?!\d)"),
    re.compile(rf"{_WEEKDAY}{_MONTH}\s+{_DAY},?\s+{_YEAR}(?!\d)", re.IGNORECASE),
    re.compile(rf"{_WEEKDAY}{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}(?!\d)", re.IGNORECASE),
)
_DATE_KEYS = {"date": 0, "published": 0, "published on": 0, "posted": 0, "posted on": 0}
_DATE_KEYS |= {"updated": 1, "last updated": 1, "updated on": 1}  # rank 1: only without rank 0
_KEY_LINE = re.compile(
    r"[ \t]*(?P<key>" + "|".join(sorted(_DATE_KEYS, key=len, reverse=True)) + r")[ \t]*:[ \t]*"
    r"(?P<value>[^\n]*?)[ \t]*(?:\n|\Z)",
    re.IGNORECASE,
)
_SEED_DATE = re.compile(r"[ \t]*date[ \t]+(?=\d|(?:" + "|".join(MONTHS) + r")\b)", re.IGNORECASE)
_TITLE_LINE = re.compile(
    r"[ \t]*(?:title|headline)[ \t]*:[ \t]*(?P<value>[^\n]*?)[ \t]*(?:\n|\Z)", re.I
)
_URL_LINE = re.compile(
    r"[ \t]*(?:url|link|source url)[ \t]*:[ \t]*(?P<value>https?://[^\s]+)[ \t]*(?:\n|\Z)", re.I
)
_AUTHOR_LINE = re.compile(
    r"[ \t]*(?:author|byline)[ \t]*:[ \t]*(?P<value>[^\n]+?)[ \t]*(?:\n|\Z)", re.I
)
_INLINE_TITLE = re.compile(r"[ \t]*(?:title|headline)[ \t]*:[ \t]*", re.IGNORECASE)
_HEADING = re.compile(r"[ \t]*#[ \t]+(?P<value>[^\n]+?)[ \t#]*(?:\n|\Z)")
_BLANK = re.compile(r"(?:[ \t]*\n)+")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<yaml>.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_LD_KEYS = ("datePublished", "dateModified", "headline")
_FRONT_DATES = ("date", "published", "publishdate", "pubdate", "published_at", "datepublished")
_FRONT_UPDATED = ("updated", "lastmod", "modified", "updated_at", "datemodified")


@dataclass
class Header:
    """What the top of an article says about it, and what is left as its body."""

    body: str
    date: date | None = None
    title: str | None = None
    notes: list[str] = field(default_factory=list)  # unreadable dates and metadata
    url: str | None = None  # where the article was published (`URL:` line, canonical link)
    author: str | None = None  # `Author:` line, a page's byline metadata
    date_rank: int = 9  # 0: published, 1: updated, 9: none yet

    def offer_date(self, raw: object, rank: int, where: str) -> None:
        """Take a written date unless a better-ranked one is known; note it if unreadable."""
        if rank >= self.date_rank or raw is None or (isinstance(raw, str) and not raw.strip()):
            return
        day = to_date(raw)
        if day is None:
            self.notes.append(f"{where} {str(raw).strip()!r} is not a date we can read")
            return
        self.date, self.date_rank = day, rank

    def offer_title(self, raw: object) -> None:
        text = " ".join(str(raw).split()) if raw is not None else ""
        if self.title is None and text:
            self.title = text


def match_date(text: str, pos: int = 0) -> tuple[date | None, int] | None:
    """A date written at `pos` of `text`: (the day or None when impossible, end of the match).

    None when nothing there looks like a date; (None, end) for `2023-02-30`.
    """
    for form in _DATE_FORMS:
        match = form.match(text, pos)
        if match is None:
            continue
        month = match.group("month")
        number = int(month) if month.isdigit() else MONTHS[month.lower().rstrip(".")]
        try:
            return date(int(match.group("year")), number, int(match.group("day"))), match.end()
        except ValueError:
            return None, match.end()
    return None


def to_date(value: object) -> date | None:
    """A date from YAML/JSON values or text that is a date and nothing else worth guessing."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    found = match_date(value.strip())
    return found[0] if found else None


def split_header(raw: str) -> Header:
    """Read header lines at the top of a text article, in any order, and return the rest.

    Accepted: ` date 2023-11-10 [Title: …| body…]`, `Date:` / `Published:` / `Updated:` lines,
    `Title:` lines, a Markdown `# Title`, `Author:` and `URL: https://…` lines, separated by
    blank lines or not.
    """
    header = Header(body=raw)
    pos = _skip_blank(raw, 0)
    for _ in range(8):  # a header is a few lines; the body starts at the first other line
        if (seed := _SEED_DATE.match(raw, pos)) is not None:
            if header.date_rank == 0:
                break
            found = match_date(raw, seed.end())
            if found is None:
                break
            day, end = found
            if day is None:
                header.notes.append(f"date {raw[seed.end() : end]!r} is not a calendar date")
            header.date, header.date_rank = day, 0
            pos = end
            title = _INLINE_TITLE.match(raw, pos)
            if title is not None:
                line_end = raw.find("\n", title.end())
                line_end = len(raw) if line_end < 0 else line_end
                header.offer_title(raw[title.end() : line_end])
                pos = line_end
            else:
                rest = re.match(r"[ \t]*(?:\n|\Z)", raw[pos:])
                if rest is None:  # the body goes on on the date's line
                    pos += len(raw[pos:]) - len(raw[pos:].lstrip(" \t"))
                    break
                pos += rest.end()
        elif (line := _KEY_LINE.match(raw, pos)) is not None:
            rank = _DATE_KEYS[" ".join(line.group("key").lower().split())]
            if rank == header.date_rank:
                break
            value = line.group("value")
            title = re.search(r"[ \t]+(?:title|headline)[ \t]*:[ \t]*", value, re.IGNORECASE)
            if title is not None:
                header.offer_title(value[title.end() :])
                value = value[: title.start()]
            if rank < header.date_rank:
                header.offer_date(value, rank, f"{line.group('key').strip()}:")
            pos = line.end()
        elif header.author is None and (line := _AUTHOR_LINE.match(raw, pos)) is not None:
            header.author = line.group("value")
            pos = line.end()
        elif header.url is None and (line := _URL_LINE.match(raw, pos)) is not None:
            header.url = line.group("value")
            pos = line.end()
        elif header.title is None and (
            line := _TITLE_LINE.match(raw, pos) or _HEADING.match(raw, pos)
        ):
            header.offer_title(line.group("value"))
            pos = line.end()
        else:
            break
        pos = _skip_blank(raw, pos)
    header.body = raw[pos:]
    return header


def _skip_blank(raw: str, pos: int) -> int:
    blank = _BLANK.match(raw, pos)
    return blank.end() if blank else pos


def split_front_matter(raw: str) -> Header:
    """A Markdown article: YAML front matter (`---` … `---`) first, then the header lines."""
    match = _FRONT_MATTER.match(raw.lstrip("\ufeff"))
    if match is None:
        return split_header(raw)
    header = split_header(raw.lstrip("\ufeff")[match.end() :])
    try:
        meta = yaml.load(match.group("yaml"), Loader=yaml.BaseLoader)  # every value a string
    except yaml.YAMLError as exc:
        header.notes.append(f"front matter is not valid YAML ({type(exc).__name__}): ignored")
        return header
    if not isinstance(meta, dict):
        return header
    keys = {str(k).lower(): v for k, v in meta.items()}
    if keys.get("title") is not None:
        header.title = None
        header.offer_title(keys["title"])
    found = [k for k in _FRONT_DATES if keys.get(k) is not None]
    updated = [k for k in _FRONT_UPDATED if keys.get(k) is not None]
    if found or updated:
        header.date, header.date_rank = None, 9
        for key in found[:1]:
            header.offer_date(keys[key], 0, f"front matter {key}:")
        for key in updated[:1]:
            header.offer_date(keys[key], 1, f"front matter {key}:")
    return header


def json_ld_fields(data: str) -> dict[str, Any]:
    """`datePublished`, `dateModified` and `headline` of the first JSON-LD object having them."""
    try:
        value = json.loads(data)
    except json.JSONDecodeError:
        return {}
    todo = [value]
    while todo:
        item = todo.pop(0)
        if isinstance(item, list):
            todo.extend(item)
        elif isinstance(item, dict):
            if any(k in item for k in _LD_KEYS):
                return {k: item[k] for k in _LD_KEYS if k in item}
            todo.extend(v for v in item.values() if isinstance(v, list | dict))
    return {}
