"""RSS/Atom feeds into corpus files: each new entry's page, read with trafilatura, becomes
`feeds/<host>/<slug>-<hash>.txt` in the corpus folder, with `Date:`, `Title:` and `URL:` header
lines (qa/headers.py), so the normal ingest indexes it with the entry's date, title and link.

What was seen, and each feed's ETag / Last-Modified, is kept in `feeds.json` in the index
folder. A feed or entry that fails is reported and tried again at the next poll; it never stops
the others. Nothing is fetched unless feeds are configured (QA_FEEDS) or a feed file is read.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from qa.config import Settings
from qa.corpus import Problem
from qa.errors import FeedError
from qa.fetch import Fetcher
from qa.headers import Header, to_date
from qa.webpage import parse_html

log = logging.getLogger(__name__)

FEED_TYPES = (".xml", ".rss", ".atom")
STATE_FILE = "feeds.json"
FOLDER = "feeds"  # inside the corpus folder
MAX_SEEN = 5000  # entry keys remembered per feed
MAX_TRIES = 5  # polls an entry that keeps failing is tried at, then given up (and reported)


@dataclass(frozen=True)
class Entry:
    key: str  # the entry's id, else its link
    link: str
    title: str | None
    day: date | None  # as the feed dates it; None: undated
    content: str | None = None  # full content (content:encoded, Atom content)
    summary: str | None = None
    author: str | None = None


@dataclass
class FeedStatus:
    ok: bool
    error: str | None
    last_polled: str  # ISO time, UTC
    new: int = 0  # entries written this poll
    not_modified: bool = False  # the server answered 304


@dataclass
class PollReport:
    written: list[Path] = field(default_factory=list)
    feeds: dict[str, FeedStatus] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def entry_path(corpus_dir: Path, link: str) -> Path:
    """The corpus file of an entry: safe, deterministic, and distinct per link."""
    parts = urlsplit(link)
    host = re.sub(r"[^a-z0-9.-]+", "-", (parts.hostname or "local").lower()).strip(".-")
    last = [p for p in parts.path.split("/") if p][-1:] or ["entry"]
    slug = re.sub(r"\.(html?|php|aspx?)$", "", last[0].lower())
    slug = re.sub(r"[^a-z0-9]+", "-", slug).strip("-")[:60].strip("-") or "entry"
    digest = hashlib.sha1(link.encode()).hexdigest()[:10]
    return corpus_dir / FOLDER / (host or "local") / f"{slug}-{digest}.txt"


def parse_feed(data: bytes, base: str = "") -> list[Entry]:
    """The entries of an RSS or Atom document (links made absolute against `base`)."""
    parsed = feedparser.parse(data)
    if not parsed.entries and (parsed.bozo or not parsed.version):
        reason = parsed.get("bozo_exception") or "no RSS or Atom elements"
        raise FeedError(f"{base or 'the file'} is not an RSS or Atom feed: {reason}")
    entries = []
    for item in parsed.entries:
        link = urljoin(base, item.get("link") or "") if item.get("link") else ""
        key = item.get("id") or link
        if not key:
            continue
        raw = item.get("published") or item.get("updated")
        when = item.get("published_parsed") or item.get("updated_parsed")
        day = to_date(raw) or (date(*when[:3]) if when else None)  # as written, else UTC
        content = item.get("content")
        entries.append(
            Entry(
                key=str(key),
                link=link,
                title=" ".join(str(item.get("title") or "").split()) or None,
                day=day,
                content=str(content[0].get("value") or "") or None if content else None,
                summary=str(item.get("summary") or "") or None,
                author=" ".join(str(item.get("author") or "").split()) or None,
            )
        )
    return entries


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


async def _entry(fetcher: Fetcher | None, entry: Entry) -> str:
    """The file text of an entry. Polling (`fetcher` given, no content rule) fetches the page;
    reading a saved feed uses the entry's content, else its page, else its summary."""
    if fetcher is None or entry.content:
        text = entry.content or entry.summary
        if not text:
            raise FeedError(f"{entry.link or entry.key} has no content or summary to index")
        return await asyncio.to_thread(render, entry, text)
    if not entry.link:
        raise FeedError(f"entry {entry.key!r} has no link to fetch")
    page = await fetcher.get(entry.link)
    return await asyncio.to_thread(render, entry, page.text())


async def _store(
    fetcher: Fetcher | None,
    entries: list[Entry],
    corpus_dir: Path,
    report: PollReport,
    retry: bool = True,
) -> tuple[list[str], list[Entry]]:
    """Write the entries' files; (keys done, entries that failed)."""

    async def one(entry: Entry) -> Exception | None:
        path = entry_path(corpus_dir, entry.link or entry.key)
        if path.exists():
            return None
        try:
            _write(path, await _entry(fetcher, entry))
        except FeedError as exc:
            return exc
        except Exception as exc:  # a parser's or the disk's failure: this entry only
            log.exception("feed entry %s failed", entry.link or entry.key)
            return FeedError(f"{entry.link or entry.key} failed: {exc!r}")
        report.written.append(path)
        return None

    results = await asyncio.gather(*(one(e) for e in entries))
    failed = []
    for entry, error in zip(entries, results, strict=True):
        if error is not None:
            failed.append(entry)
            message = f"entry not indexed: {error}" + ("; tried again at the next poll" * retry)
            report.problems.append(Problem(entry.link or entry.key, message, True))
    return [e.key for e, r in zip(entries, results, strict=True) if r is None], failed


async def _poll_one(
    fetcher: Fetcher, url: str, state: FeedState, corpus_dir: Path, report: PollReport
) -> None:
    record = state.feed(url)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        got = await fetcher.get(url, record.get("etag"), record.get("last_modified"))
        fresh = [] if got.status == 304 else parse_feed(got.body, got.url)
        seen = set(record["seen"])
        todo = {e.key: e for e in map(_entry_from_json, record.get("pending", []))}
        todo |= {e.key: e for e in fresh if e.key not in seen}
        before = len(report.written)
        done, failed = await _store(fetcher, list(todo.values()), corpus_dir, report)
        if got.status != 304:
            record["etag"], record["last_modified"] = got.etag, got.last_modified
        tries = {e.key: record.get("tries", {}).get(e.key, 0) + 1 for e in failed}
        given_up = [k for k, n in tries.items() if n >= MAX_TRIES]
        for key in given_up:
            message = f"entry given up after {MAX_TRIES} failed polls"
            report.problems.append(Problem(todo[key].link or key, message, True))
        done += given_up
        record["seen"] = (record["seen"] + [k for k in done if k not in seen])[-MAX_SEEN:]
        record["pending"] = [_entry_json(e) for e in failed if e.key not in given_up]
        record["tries"] = {k: n for k, n in tries.items() if k not in given_up}
        error = f"{len(failed)} of {len(todo)} entries failed" if failed else None
        status = FeedStatus(
            ok=not failed,
            error=error,
            last_polled=now,
            new=len(report.written) - before,
            not_modified=got.status == 304,
        )
    except Exception as exc:  # this feed only; the others go on
        if not isinstance(exc, FeedError):
            log.exception("feed %s failed", url)
        status = FeedStatus(ok=False, error=str(exc)[:500] or repr(exc), last_polled=now)
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
    async with Fetcher(settings) as fetcher:
        await asyncio.gather(
            *(_poll_one(fetcher, u, state, settings.corpus_dir, report) for u in feeds)
        )
    state.save()
    log.info("polled %d feeds in %.1fs: %d new", len(feeds), time.perf_counter() - started,
             len(report.written))  # fmt: skip
    return report


async def read_feed_file(settings: Settings, path: Path, fetch: bool = True) -> PollReport:
    """Entries of a saved feed file into the corpus: their content, else their page (when
    `fetch`), else their summary."""
    report = PollReport()
    try:
        entries = parse_feed(path.read_bytes())
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

        new = [e for e in entries if not entry_path(settings.corpus_dir, e.link or e.key).exists()]
        todo = await asyncio.gather(*(with_fallback(e) for e in new))
        await _store(None, todo, settings.corpus_dir, report, retry=False)
    return report
