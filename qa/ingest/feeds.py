"""RSS/Atom feeds into corpus files: each new entry's page, read with trafilatura, becomes
`<host>/<slug>-<hash>.txt` in the feeds folder (QA_FEEDS_DIR, default QA_INDEX_DIR/feeds),
indexed as `feeds/<host>/<slug>-<hash>.txt`, with `Date:`, `Title:` and `URL:` header
lines (qa/ingest/headers.py), so the normal ingest indexes it with the entry's date, title and link.

What was seen, and each feed's ETag / Last-Modified, is kept in `feeds.json` in the index
folder. A feed or entry that fails is reported and tried again at the next poll; it never stops
the others, and one entry's bad date only makes that entry undated. Parsing a feed and reading a
page run in worker threads within QA_FEED_PARSE_TIMEOUT_S, so the service stays responsive.
Nothing is fetched unless feeds are configured (QA_FEEDS) or a feed file is read, and never from
a non-public address (qa/netguard.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import feedparser

from qa.config import Settings
from qa.errors import FeedError, FetchRefused
from qa.ingest.cleaning import Problem
from qa.ingest.fetch import Fetcher
from qa.ingest.headers import Header, to_date
from qa.ingest.webpage import parse_html

log = logging.getLogger(__name__)

FEED_TYPES = (".xml", ".rss", ".atom")
STATE_FILE = "feeds.json"
FOLDER = "feeds"  # the source names of feed entries start with feeds/ (qa.ingest.corpus.FEEDS)
MAX_SEEN = 5000  # entry keys remembered per feed
MAX_TRIES = 5  # polls an entry that keeps failing is tried at, then given up (and reported)
FIRST_YEAR = 1900  # an entry dated earlier (or later than tomorrow) is undated
PARSERS = 2  # feeds parsed and pages read at once, in worker threads
T = TypeVar("T")


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


@dataclass
class FeedStatus:
    ok: bool
    error: str | None
    last_polled: str  # ISO time, UTC
    new: int = 0  # entries written this poll
    not_modified: bool = False  # the server answered 304
    refused: list[str] = field(default_factory=list)  # URLs not fetched: non-public addresses


@dataclass
class PollReport:
    written: list[Path] = field(default_factory=list)
    feeds: dict[str, FeedStatus] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def feeds_folder(settings: Settings) -> Path:
    """Where feed entries are written (QA_FEEDS_DIR, else the index folder's feeds/); ingest
    reads its files as `feeds/<host>/<file>` (qa.ingest.corpus.Folders)."""
    return settings.feeds_folder


def entry_path(folder: Path, link: str) -> Path:
    """The file of an entry in the feeds folder: safe, deterministic, and distinct per link."""
    parts = urlsplit(link)
    host = re.sub(r"[^a-z0-9.-]+", "-", (parts.hostname or "local").lower()).strip(".-")
    last = [p for p in parts.path.split("/") if p][-1:] or ["entry"]
    slug = re.sub(r"\.(html?|php|aspx?)$", "", last[0].lower())
    slug = re.sub(r"[^a-z0-9]+", "-", slug).strip("-")[:60].strip("-") or "entry"
    digest = hashlib.sha1(link.encode()).hexdigest()[:10]
    return folder / (host or "local") / f"{slug}-{digest}.txt"


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


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")  # hidden: ingest never reads a half-written file
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


class FeedState:
    """`feeds.json`: per feed URL its ETag, Last-Modified, seen and pending entries, status."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.data: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.data = {}

    def feed(self, url: str) -> dict[str, Any]:
        return self.data.setdefault(url, {"seen": [], "pending": []})

    def save(self) -> None:
        _write(self.path, json.dumps(self.data, indent=1, sort_keys=True))


class _Workers:
    """CPU-bound feed parsing and page reading in worker threads, PARSERS at a time, each within
    QA_FEED_PARSE_TIMEOUT_S once started (a thread past its budget is abandoned, not stopped)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.slots = asyncio.Semaphore(PARSERS)

    async def run(self, what: str, work: Callable[..., T], *args: Any) -> T:
        async with self.slots:
            try:
                return await asyncio.wait_for(asyncio.to_thread(work, *args), self.seconds)
            except TimeoutError as exc:
                raise FeedError(
                    f"{what} took over {self.seconds:g} s (QA_FEED_PARSE_TIMEOUT_S): not read"
                ) from exc


def _render_file(entry: Entry, html: str, path: Path) -> None:
    _write(path, render(entry, html))


async def _entry(fetcher: Fetcher | None, workers: _Workers, entry: Entry, path: Path) -> None:
    """Write the file of an entry. Polling (`fetcher` given, no content rule) fetches the page;
    reading a saved feed uses the entry's content, else its page, else its summary."""
    name = entry.link or entry.key
    if fetcher is None or entry.content:
        text = entry.content or entry.summary
        if not text:
            raise FeedError(f"{name} has no content or summary to index")
        return await workers.run(f"reading {name}", _render_file, entry, text, path)
    if not entry.link:
        raise FeedError(f"entry {entry.key!r} has no link to fetch")
    page = await fetcher.get(entry.link)
    await workers.run(f"reading {name}", _render_file, entry, page.text(), path)


async def _store(
    fetcher: Fetcher | None,
    workers: _Workers,
    entries: list[Entry],
    folder: Path,
    report: PollReport,
    retry: bool = True,
) -> tuple[list[str], dict[str, FeedError]]:
    """Write the entries' files; (keys done, the error of each key that failed)."""

    async def one(entry: Entry) -> FeedError | None:
        path = entry_path(folder, entry.link or entry.key)
        if path.exists():
            return None
        try:
            await _entry(fetcher, workers, entry, path)
        except FeedError as exc:
            return exc
        except Exception as exc:  # a parser's or the disk's failure: this entry only
            log.exception("feed entry %s failed", entry.link or entry.key)
            return FeedError(f"{entry.link or entry.key} failed: {exc!r}")
        report.written.append(path)
        return None

    results = await asyncio.gather(*(one(e) for e in entries))
    failed = {e.key: r for e, r in zip(entries, results, strict=True) if r is not None}
    for entry, error in zip(entries, results, strict=True):
        if error is None:
            continue
        message = f"entry not indexed: {error}" + ("; tried again at the next poll" * retry)
        report.problems.append(Problem(entry.link or entry.key, message, True))
        if isinstance(error, FetchRefused):
            log.warning("feed entry %s not fetched: %s", entry.link or entry.key, error)
    if failed:
        first = next(iter(failed.values()))
        log.warning("%d of %d feed entries not indexed (first: %s)", len(failed), len(entries),
                    first)  # fmt: skip
    return [e.key for e, r in zip(entries, results, strict=True) if r is None], failed


async def _poll_one(
    fetcher: Fetcher,
    workers: _Workers,
    url: str,
    state: FeedState,
    folder: Path,
    report: PollReport,
) -> None:
    record = state.feed(url)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        got = await fetcher.get(url, record.get("etag"), record.get("last_modified"))
        fresh: list[Entry] = []
        malformed: str | None = None
        if got.status != 304:
            fresh, malformed = await workers.run(f"parsing {url}", read_feed, got.body, got.url)
        seen = set(record["seen"])
        todo = {e.key: e for e in map(_entry_from_json, record.get("pending", []))}
        todo |= {e.key: e for e in fresh if e.key not in seen}
        for entry in fresh:
            if entry.note and entry.key not in seen:  # reported once, when the entry is new
                note = f"{entry.note}: indexed undated"
                report.problems.append(Problem(entry.link or entry.key, note, False))
        before = len(report.written)
        done, failed = await _store(fetcher, workers, list(todo.values()), folder, report)
        if got.status != 304:
            record["etag"], record["last_modified"] = got.etag, got.last_modified
        tries = {k: record.get("tries", {}).get(k, 0) + 1 for k in failed}
        given_up = [k for k, n in tries.items() if n >= MAX_TRIES]
        for key in given_up:
            message = f"entry given up after {MAX_TRIES} failed polls"
            report.problems.append(Problem(todo[key].link or key, message, True))
        done += given_up
        record["seen"] = (record["seen"] + [k for k in done if k not in seen])[-MAX_SEEN:]
        record["pending"] = [_entry_json(todo[k]) for k in failed if k not in given_up]
        record["tries"] = {k: n for k, n in tries.items() if k not in given_up}
        errors = [f"{len(failed)} of {len(todo)} entries failed"] if failed else []
        if malformed:
            errors.insert(0, malformed[:300])
            report.problems.append(Problem(url, f"{malformed}; its readable entries used", False))
            log.warning("feed %s: %s", url, malformed)
        status = FeedStatus(
            ok=not errors,
            error="; ".join(errors) or None,
            last_polled=now,
            new=len(report.written) - before,
            not_modified=got.status == 304,
            refused=[todo[k].link or k for k, e in failed.items() if isinstance(e, FetchRefused)],
        )
    except Exception as exc:  # this feed only; the others go on
        if isinstance(exc, FeedError):
            log.warning("feed %s not read: %s", url, exc)
        else:
            log.exception("feed %s failed", url)
        status = FeedStatus(
            ok=False,
            error=str(exc)[:500] or repr(exc),
            last_polled=now,
            refused=[url] if isinstance(exc, FetchRefused) else [],
        )
        message = f"feed not read: {exc}; tried again at the next poll"
        report.problems.append(Problem(url, message, True))
    record["status"] = asdict(status)
    report.feeds[url] = status


def _entry_json(entry: Entry) -> dict[str, Any]:
    values = asdict(entry)
    values["day"] = entry.day.isoformat() if entry.day else None
    return values


def _entry_from_json(values: dict[str, Any]) -> Entry:
    return Entry(**{**values, "day": date.fromisoformat(values["day"]) if values["day"] else None})


async def poll(settings: Settings, urls: list[str] | None = None) -> PollReport:
    """Fetch every feed (default QA_FEEDS) once and write its new entries into the corpus."""
    report = PollReport()
    feeds = list(dict.fromkeys(urls if urls is not None else settings.feeds))
    if not feeds:
        return report
    started = time.perf_counter()
    state = FeedState(settings.index_dir / STATE_FILE)
    workers = _Workers(settings.feed_parse_timeout_s)
    folder = feeds_folder(settings)
    async with Fetcher(settings) as fetcher:
        await asyncio.gather(
            *(_poll_one(fetcher, workers, u, state, folder, report) for u in feeds)
        )
    state.save()
    log.info("polled %d feeds in %.1fs: %d new", len(feeds), time.perf_counter() - started,
             len(report.written))  # fmt: skip
    return report


async def read_feed_file(settings: Settings, path: Path, fetch: bool = True) -> PollReport:
    """Entries of a saved feed file into the corpus: their content, else their page (when
    `fetch`), else their summary."""
    report = PollReport()
    workers = _Workers(settings.feed_parse_timeout_s)
    folder = feeds_folder(settings)
    try:
        entries, _ = await workers.run(f"parsing {path}", read_feed, path.read_bytes())
    except (OSError, FeedError) as exc:
        report.problems.append(Problem(str(path), f"feed not read: {exc}", True))
        return report
    async with Fetcher(settings) as fetcher:

        async def with_fallback(entry: Entry) -> Entry:
            """An entry without content gets its page; if that fails, its summary is used."""
            if entry.content or not fetch or not entry.link:
                return entry
            try:
                page = await fetcher.get(entry.link)
            except FeedError as exc:
                log.warning("%s: %s; using the entry's summary", entry.link, exc)
                return entry
            return Entry(**{**asdict(entry), "content": page.text()})

        new = [e for e in entries if not entry_path(folder, e.link or e.key).exists()]
        todo = await asyncio.gather(*(with_fallback(e) for e in new))
        await _store(None, workers, todo, folder, report, retry=False)
    return report
