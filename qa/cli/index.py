"""`qa ingest`, `qa stats`, `qa verify`, `qa reindex`: the index and the corpus behind it.
Models and Chroma are imported inside the commands, so `--help` stays fast."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qa.cli.common import (
    CorpusOption,
    IndexDirOption,
    fail,
    index_or_fail,
    quiet_logging,
    settings_with,
)
from qa.errors import InputError, QAError

if TYPE_CHECKING:
    from qa.config import Settings
    from qa.ingest.feeds import PollReport

FEED_TYPES = (
    ".xml",
    ".rss",
    ".atom",
)  # qa.ingest.feeds.FEED_TYPES, without importing it for --help


def ingest(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files or folders to index (default: the whole corpus folder); a saved feed "
            "(.xml, .rss, .atom) adds its entries to the feeds folder first."
        ),
    ] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Delete the index first.")] = False,
    feeds: Annotated[
        bool, typer.Option("--feeds", help="Poll the feeds of QA_FEEDS once, then ingest.")
    ] = False,
    corpus: CorpusOption = None,
    index_dir: IndexDirOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for another ingest to finish.", min=0)
    ] = 60.0,
) -> None:
    """Index the corpus folder; only what changed is embedded again."""
    for path in paths or ():
        if not path.exists():  # before loading anything
            fail(InputError(f"{path} does not exist; give a file or a folder to index"))
    from rich.progress import Progress

    from qa.ingest.index import Index
    from qa.ingest.report import describe
    from qa.ingest.reset import reset_index
    from qa.search.embedding import make_embedder

    settings = settings_with(corpus_dir=corpus, index_dir=index_dir)
    quiet_logging()
    if feeds and not settings.feeds:
        fail(InputError("--feeds needs feed URLs in QA_FEEDS, e.g. '[\"https://…/rss\"]'"))
    polled = _feeds(settings, feeds, paths or [])
    if polled is not None:  # feed entries are files of the feeds folder (QA_FEEDS_DIR)
        folder = settings.feeds_folder
        folder.mkdir(parents=True, exist_ok=True)
        if paths:
            paths = [p for p in paths if p.suffix.lower() not in FEED_TYPES] + [folder]
    try:
        if reset:
            reset_index(settings)
        index = Index(settings, make_embedder(settings))
        if sys.stderr.isatty():
            with Progress(transient=True) as bar:
                task = bar.add_task("embedding", total=None)
                report = index.ingest(
                    paths or None,
                    progress=lambda d, t: bar.update(task, completed=d, total=t),
                    wait=wait,
                )
        else:
            report = index.ingest(
                paths or None,
                progress=lambda d, t: print(f"indexed {d}/{t} articles", flush=True),
                wait=wait,
            )
    except QAError as exc:
        fail(exc)
        return
    if polled is not None:
        report.problems[:0] = polled.problems
    summary = describe(report)
    summary["corpus"] = str(settings.corpus_dir)
    if polled is not None:
        summary["feeds"] = {url: asdict(status) for url, status in polled.feeds.items()}
        summary["feed_entries_written"] = len(polled.written)
    nothing_read = not (report.added or report.updated or report.unchanged or report.duplicates)
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        _print_ingest(summary)
    if nothing_read and (paths or report.problems):
        where = ", ".join(str(p) for p in paths) if paths else str(settings.corpus_dir)
        typer.secho(f"error: nothing could be read from {where}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)


def _feeds(settings: Settings, poll_feeds: bool, paths: list[Path]) -> PollReport | None:
    """Poll QA_FEEDS and read the saved feed files among `paths`, writing new entries into
    the feeds folder; None when there is nothing of the kind to do."""
    files = [p for p in paths if p.is_file() and p.suffix.lower() in FEED_TYPES]
    if not (poll_feeds or files):
        return None
    import asyncio

    from qa.ingest.feeds import PollReport, poll, read_feed_file

    report = asyncio.run(poll(settings)) if poll_feeds else PollReport()
    for path in files:
        one = asyncio.run(read_feed_file(settings, path))
        report.written += one.written
        report.problems += one.problems
    return report


def _print_ingest(summary: dict[str, Any]) -> None:
    print(f"corpus: {summary['corpus']}")
    for url, status in summary.get("feeds", {}).items():
        state = "not modified" if status["not_modified"] else f"{status['new']} new entries"
        print(f"feed {url}: {state if status['ok'] else 'failed: ' + str(status['error'])}")
    print(
        f"added {summary['added']}, updated {summary['updated']}, skipped {summary['skipped']}, "
        f"deleted {summary['deleted']} articles; {summary['chunks_added']} chunks added, "
        f"{summary['chunks_deleted']} deleted, {summary['embedded']} embedded "
        f"in {summary['seconds']:.1f}s"
    )
    for dup in summary["duplicates"]:
        print(f"duplicate: {dup['source']} has the same text as {dup['same_as']}: not indexed")
    for problem in summary["problems"]:
        print(f"warning: {problem['source']}: {problem['message']}")


def stats(
    index_dir: IndexDirOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Articles, chunks, date range and size of the index."""
    from qa.search.index_files import read_stats

    settings = settings_with(index_dir=index_dir)
    index_or_fail(settings)
    result = read_stats(settings)  # from the catalog file: no model, no Chroma
    if result is None:  # a database server or an older catalog: open the index
        from qa.ingest.index import Index
        from qa.search.embedding import make_embedder

        try:
            result = Index(settings, make_embedder(settings)).stats()
        except QAError as exc:
            fail(exc)
    if as_json:
        print(json.dumps(asdict(result), indent=2))
        return
    print(f"articles:  {result.articles} ({result.undated} with date unknown)")
    print(f"chunks:    {result.chunks}")
    print(f"dates:     {result.first_date or '-'} .. {result.last_date or '-'}")
    print(f"index:     {result.index_bytes / 1e6:.1f} MB at {settings.index_dir}")
    print(f"model:     {result.embedding_model}")


def verify(
    corpus: CorpusOption = None,
    index_dir: IndexDirOption = None,
) -> None:
    """Check index, record manager and BM25 state against the corpus; exit 1 on differences."""
    settings = settings_with(corpus_dir=corpus, index_dir=index_dir)
    index_or_fail(settings)
    from qa.ingest.index import Index
    from qa.ingest.index_check import verify_index
    from qa.search.embedding import make_embedder

    try:
        problems = verify_index(Index(settings, make_embedder(settings)))
    except QAError as exc:
        fail(exc)
        return
    for problem in problems:
        print(problem)
    if problems:
        typer.secho(
            f"{len(problems)} differences; run `qa ingest` or `qa reindex`",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)
    print("index is consistent with the corpus")


def reindex(
    corpus: CorpusOption = None,
    index_dir: IndexDirOption = None,
) -> None:
    """Delete everything derived and rebuild the index from the corpus files."""
    settings = settings_with(corpus_dir=corpus, index_dir=index_dir)
    index_or_fail(settings)
    from qa.ingest.index_check import reindex as rebuild
    from qa.ingest.report import describe

    quiet_logging()
    try:
        summary = describe(rebuild(settings))
    except QAError as exc:
        fail(exc)
        return
    print(
        f"reindexed {summary['added']} articles, {summary['chunks_added']} chunks "
        f"in {summary['seconds']:.1f}s"
    )
