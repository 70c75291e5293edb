"""Polling: every configured feed fetched once, its new entries written into the feeds folder
(failures kept for the next poll), and saved feed files read the same way."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from qa.config import Settings
from qa.errors import FeedError, FetchRefused
from qa.ingest.cleaning import Problem
from qa.ingest.feeds.parse import Entry, read_feed, render
from qa.ingest.feeds.state import (
    MAX_SEEN,
    STATE_FILE,
    FeedState,
    FeedStatus,
    PollReport,
    entry_from_json,
    entry_json,
    entry_path,
    feeds_folder,
    write_atomic,
)
from qa.ingest.fetch import Fetcher

log = logging.getLogger("qa.ingest.feeds")  # one logger for the feeds package

MAX_TRIES = 5  # polls an entry that keeps failing is tried at, then given up (and reported)
PARSERS = 2  # feeds parsed and pages read at once, in worker threads
T = TypeVar("T")


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
    write_atomic(path, render(entry, html))


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
        todo = {e.key: e for e in map(entry_from_json, record.get("pending", []))}
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
        record["pending"] = [entry_json(todo[k]) for k in failed if k not in given_up]
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
