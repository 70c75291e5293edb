"""The `qa` command line: ingest, stats, ask, serve, eval."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from qa.config import Settings, get_settings
from qa.errors import QAError
from qa.evaluation import eval_app

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
app.add_typer(eval_app, name="eval")


def _fail(exc: QAError) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def _settings(**overrides: object) -> Settings:
    base = get_settings()
    values = {k: v for k, v in overrides.items() if v is not None}
    return base.model_copy(update=values) if values else base


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files to index (default: all).")
    ] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Delete the index first.")] = False,
    corpus: Annotated[Path | None, typer.Option(help="Corpus folder (QA_CORPUS_DIR).")] = None,
    index_dir: Annotated[Path | None, typer.Option(help="Index folder (QA_INDEX_DIR).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for another ingest to finish.", min=0)
    ] = 60.0,
) -> None:
    """Index the corpus folder; only what changed is embedded again."""
    from rich.progress import Progress

    from qa.indexing import Index, describe, make_embedder

    settings = _settings(corpus_dir=corpus, index_dir=index_dir)
    logging.basicConfig(level=logging.ERROR)
    try:
        if reset:
            Index.reset(settings)
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
        _fail(exc)
        return
    summary = describe(report)
    if as_json:
        print(json.dumps(summary, indent=2))
        return
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


@app.command()
def stats(
    index_dir: Annotated[Path | None, typer.Option(help="Index folder (QA_INDEX_DIR).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Articles, chunks, date range and size of the index."""
    from dataclasses import asdict

    from qa.indexing import Index, make_embedder

    settings = _settings(index_dir=index_dir)
    try:
        result = Index(settings, make_embedder(settings)).stats()
    except QAError as exc:
        _fail(exc)
        return
    if as_json:
        print(json.dumps(asdict(result), indent=2))
        return
    print(f"articles:  {result.articles} ({result.undated} with date unknown)")
    print(f"chunks:    {result.chunks}")
    print(f"dates:     {result.first_date or '-'} .. {result.last_date or '-'}")
    print(f"index:     {result.index_bytes / 1e6:.1f} MB at {settings.index_dir}")
    print(f"model:     {result.embedding_model}")


@app.command()
def verify(
    corpus: Annotated[Path | None, typer.Option(help="Corpus folder (QA_CORPUS_DIR).")] = None,
    index_dir: Annotated[Path | None, typer.Option(help="Index folder (QA_INDEX_DIR).")] = None,
) -> None:
    """Check index, record manager and BM25 state against the corpus; exit 1 on differences."""
    from qa.consistency import verify_index
    from qa.indexing import Index, make_embedder

    settings = _settings(corpus_dir=corpus, index_dir=index_dir)
    try:
        problems = verify_index(Index(settings, make_embedder(settings)))
    except QAError as exc:
        _fail(exc)
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


@app.command()
def reindex(
    corpus: Annotated[Path | None, typer.Option(help="Corpus folder (QA_CORPUS_DIR).")] = None,
    index_dir: Annotated[Path | None, typer.Option(help="Index folder (QA_INDEX_DIR).")] = None,
) -> None:
    """Delete everything derived and rebuild the index from the corpus files."""
    from qa.consistency import reindex as rebuild
    from qa.indexing import describe

    settings = _settings(corpus_dir=corpus, index_dir=index_dir)
    logging.basicConfig(level=logging.ERROR)
    try:
        summary = describe(rebuild(settings))
    except QAError as exc:
        _fail(exc)
        return
    print(
        f"reindexed {summary['added']} articles, {summary['chunks_added']} chunks "
        f"in {summary['seconds']:.1f}s"
    )


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    backend: Annotated[str | None, typer.Option(help="extractive | llamacpp | openai")] = None,
    top_k: Annotated[int | None, typer.Option("--top-k", min=1, max=50)] = None,
    date_from: Annotated[str | None, typer.Option("--date-from", help="YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--date-to", help="YYYY-MM-DD")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer contract.")] = False,
) -> None:
    """Answer a question from the indexed articles, with numbered citations."""
    from pydantic import ValidationError

    from qa.engine import Engine
    from qa.schema import AskRequest

    try:
        request = AskRequest.model_validate(
            {
                "question": question,
                "backend": backend,
                "top_k": top_k,
                "date_from": date_from,
                "date_to": date_to,
            }
        )
    except ValidationError as exc:
        typer.secho(f"error: {exc.errors()[0]['msg']}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    try:
        answer = Engine.open(get_settings()).ask(request)
    except QAError as exc:
        _fail(exc)
        return
    if as_json:
        print(answer.model_dump_json(indent=2))
        return
    print(answer.answer)
    if answer.citations:
        print()
    for c in answer.citations:
        when = c.date.isoformat() if c.date else "date unknown"
        print(f'[{c.n}] {c.source} ({when}): "{c.quote}"')


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (QA_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (QA_PORT).")] = None,
) -> None:
    """Serve the chat page, the JSON API and the OpenAI-compatible endpoint."""
    from qa.api import serve as run

    settings = get_settings()
    run(settings, host or settings.host, port or settings.port)


if __name__ == "__main__":
    app()
