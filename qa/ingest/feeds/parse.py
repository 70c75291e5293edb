"""Feed documents into entries: RSS/Atom parsed with feedparser, links made absolute, dates
checked; an entry rendered as a corpus file with `Date:`, `Title:` and `URL:` header lines."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import feedparser

from qa.errors import FeedError
from qa.ingest.headers import Header, to_date
from qa.ingest.webpage import parse_html

log = logging.getLogger("qa.ingest.feeds")  # one logger for the feeds package

FEED_TYPES = (".xml", ".rss", ".atom")
FIRST_YEAR = 1900  # an entry dated earlier (or later than tomorrow) is undated


@dataclass(frozen=True)
class Entry:
    key: str  # the entry's id, else its link
    link: str
    title: str | None
    day: date | None  # as the feed dates it; None: undated
    content: str | None = None  # full content (content:encoded, Atom content)
    summary: str | None = None
    author: str | None = None
    note: str | None = None  # why its date was not used, when it was not


def parse_feed(data: bytes, base: str = "") -> list[Entry]:
    """The entries of an RSS or Atom document (links made absolute against `base`)."""
    return read_feed(data, base)[0]


def read_feed(data: bytes, base: str = "") -> tuple[list[Entry], str | None]:
    """(the entries of an RSS or Atom document, the parser's error if the document is malformed
    but entries could be read).

    A document with no entries and a parser error, or no feed elements, is a FeedError naming
    the parser's reason; an entry that cannot be read is left out, a bad date leaves its entry
    undated (with a note)."""
    parsed = feedparser.parse(data)
    reason = parsed.get("bozo_exception") if parsed.bozo else None
    if not parsed.entries and (reason or not parsed.version):
        why = reason or "no RSS or Atom elements"
        raise FeedError(f"{base or 'the file'} is not an RSS or Atom feed: {why}")
    benign = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
    error = None if reason is None or isinstance(reason, benign) else f"malformed feed: {reason}"
    entries = []
    for n, item in enumerate(parsed.entries):
        try:
            entry = _read_entry(item, base)
        except Exception as exc:  # this entry only
            log.warning("%s: entry %d cannot be read: %r", base or "feed", n + 1, exc)
            continue
        if entry is not None:
            entries.append(entry)
    return entries, error


def _read_entry(item: Any, base: str) -> Entry | None:
    link = urljoin(base, item.get("link") or "") if item.get("link") else ""
    key = item.get("id") or link
    if not key:
        return None
    day, note = _entry_date(item)
    content = item.get("content")
    return Entry(
        key=str(key),
        link=link,
        title=" ".join(str(item.get("title") or "").split()) or None,
        day=day,
        content=str(content[0].get("value") or "") or None if content else None,
        summary=str(item.get("summary") or "") or None,
        author=" ".join(str(item.get("author") or "").split()) or None,
        note=note,
    )


def _written_in(day: date, raw: str) -> bool:
    """Whether `raw` contains the year and the day of month of `day` (feedparser turns
    `-2023-05-05` into 2026-07-21 and `2024-02-30` into 2024-03-01)."""
    year = re.search(rf"(?<![\d-]){day.year}(?!\d)", raw)
    return year is not None and re.search(rf"(?<!\d)0?{day.day}(?!\d)", raw) is not None


def _entry_date(item: Any) -> tuple[date | None, str | None]:
    """(the entry's date as written, else as feedparser read it in UTC; None and why when it
    is not a calendar date, not written in the text, before 1900 or after tomorrow)."""
    raw = item.get("published") or item.get("updated")
    if not raw:
        return None, None
    try:
        day = to_date(raw)
        if day is None:
            when = item.get("published_parsed") or item.get("updated_parsed")
            day = date(*when[:3]) if when else None
            if day is not None and not _written_in(day, str(raw)):
                return None, f"date {raw!r} was read as {day}, a day it does not contain"
    except (ValueError, TypeError, OverflowError) as exc:
        return None, f"date {raw!r} is not a calendar date ({exc})"
    if day is None:
        return None, None
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    if not date(FIRST_YEAR, 1, 1) <= day <= tomorrow:
        return None, f"date {raw!r} is before {FIRST_YEAR} or after tomorrow"
    return day, None


def render(entry: Entry, html: str) -> str:
    """The corpus file of an entry: header lines, then the article text of `html`.

    The feed's date and title win over the page's; the page's date is used when the feed has
    none (read only from its markup, never guessed)."""
    if not re.search(r"<[a-zA-Z!?/]", html):  # a plain-text summary: no markup to read
        page = Header(body=html)
    else:
        try:
            page = parse_html(html)
        except ValueError as exc:
            raise FeedError(f"{entry.link or entry.key} cannot be parsed: {exc}") from exc
    body = page.body.strip()
    if not body:
        raise FeedError(f"{entry.link or entry.key} has no article text")
    lines = []
    if day := entry.day or page.date:
        lines.append(f"Date: {day.isoformat()}")
    if title := entry.title or page.title:
        lines.append(f"Title: {title}")
    if author := entry.author or page.author:
        lines.append(f"Author: {author}")
    if entry.link:
        lines.append(f"URL: {entry.link}")
    return "\n".join(lines) + "\n\n" + body + "\n"
