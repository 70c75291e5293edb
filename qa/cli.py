"""The `qa` command line: ingest, stats, ask, serve, eval."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from qa.config import BACKENDS, Settings, get_settings
from qa.errors import InputError, QAError
from qa.evaluation import Report, check_thresholds, load_gold, run

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


def _version(value: bool) -> None:
    if value:
        from qa import __version__

        typer.echo(f"news-qa {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Question answering over dated news articles, with verified citations."""


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
        list[Path] | None,
        typer.Argument(help="Files or folders to index (default: the whole corpus folder)."),
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
    for path in paths or ():
        if not path.exists():  # before loading anything
            _fail(InputError(f"{path} does not exist; give a file or a folder to index"))
    from rich.progress import Progress

    from qa.embedding import make_embedder
    from qa.indexing import Index, describe

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
    summary["corpus"] = str(settings.corpus_dir)
    nothing_read = not (report.added or report.updated or report.unchanged or report.duplicates)
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        _print_ingest(summary)
    if nothing_read and (paths or report.problems):
        where = ", ".join(str(p) for p in paths) if paths else str(settings.corpus_dir)
        typer.secho(f"error: nothing could be read from {where}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)


def _print_ingest(summary: dict[str, Any]) -> None:
    print(f"corpus: {summary['corpus']}")
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

    from qa.embedding import make_embedder
    from qa.indexing import Index

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
    from qa.embedding import make_embedder
    from qa.indexing import Index

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
    backend: Annotated[str | None, typer.Option(help=" | ".join(BACKENDS))] = None,
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
    if answer.short_answer:
        print(f"{answer.short_answer.text} [{answer.short_answer.n}]\n")
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


# -- qa eval ---------------------------------------------------------------------------------

eval_app = typer.Typer(
    add_completion=False,
    help="Evaluate answers, citations, refusals and retrieval against gold questions.",
)


def _default_out() -> Path:
    return Path("eval/reports") / datetime.now().strftime("%Y%m%d-%H%M%S")


@eval_app.callback(invoke_without_command=True)
def evaluate(
    ctx: typer.Context,
    gold: Annotated[Path | None, typer.Option(help="Gold questions (JSON Lines).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Report folder (default: eval/reports/<time>).")
    ] = None,
    backend: Annotated[
        list[str] | None, typer.Option(help="Backend(s) to compare (default: QA_LLM_BACKEND).")
    ] = None,
    against: Annotated[
        Path | None, typer.Option(help="An earlier report.json to compare to.")
    ] = None,
    fail_under: Annotated[
        list[str] | None, typer.Option(help="METRIC=VALUE: exit 1 when a metric is below.")
    ] = None,
    fail_over: Annotated[
        list[str] | None, typer.Option(help="METRIC=VALUE: exit 1 when a metric is above.")
    ] = None,
    top_k: Annotated[
        int | None, typer.Option(min=1, max=50, help="Passages per answer (default QA_TOP_K).")
    ] = None,
    recall_k: Annotated[
        int, typer.Option(min=1, max=50, help="k of the retrieval recall@k and MRR.")
    ] = 5,
    corpus: Annotated[Path | None, typer.Option(help="Corpus folder (QA_CORPUS_DIR).")] = None,
    index_dir: Annotated[Path | None, typer.Option(help="Index folder (QA_INDEX_DIR).")] = None,
    ingest: Annotated[bool, typer.Option(help="Bring the index up to date first.")] = True,
) -> None:
    """Run the gold questions through every backend; write report.json, report.md, chart.png."""
    if ctx.invoked_subcommand is not None:
        return
    if gold is None:
        typer.secho(
            "error: --gold FILE is required (e.g. eval/gold/seeds.jsonl)", fg="red", err=True
        )
        raise typer.Exit(2)
    from qa.evaluation.report import console_table, write_report

    try:
        names = _backends(backend)
        earlier = _load_report(against) if against else None
        load_gold(gold)  # fail on a bad gold file before loading any model
        engine = _open_engine(corpus, index_dir, ingest)
        report = run(
            engine,
            gold,
            names,
            top_k,
            progress=_progress,
            recall_k=recall_k,
        )
        folder = out or _default_out()
        write_report(report, folder, earlier)
        failures = check_thresholds(report, fail_under or (), fail_over or ())
    except QAError as exc:
        _fail(exc)
    console_table(report, earlier)
    typer.echo(f"report: {folder / 'report.md'} (json, chart beside it)")
    for failure in failures:
        typer.secho(f"FAIL {failure}", fg="red", err=True)
    if failures:
        raise typer.Exit(1)


def _progress(backend: str, done: int, total: int) -> None:
    if sys.stderr.isatty():
        typer.echo(f"\r{backend}: {done}/{total}", nl=done == total, err=True)
    elif done == total:
        typer.echo(f"{backend}: {total} questions", err=True)


def _backends(requested: list[str] | None) -> list[str]:
    from qa.config import get_settings

    names = list(dict.fromkeys(requested or [get_settings().llm_backend]))
    bad = [n for n in names if n not in BACKENDS]
    if bad:
        raise InputError(f"unknown backend {bad[0]!r}; use one of {', '.join(BACKENDS)}")
    return names


def _load_report(path: Path) -> Report:
    try:
        return Report.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as exc:
        raise InputError(f"--against {path} is not a readable report.json: {exc}") from exc


def _open_engine(corpus: Path | None, index_dir: Path | None, ingest: bool) -> Any:
    from qa.config import get_settings
    from qa.engine import Engine

    updates = {k: v for k, v in {"corpus_dir": corpus, "index_dir": index_dir}.items() if v}
    settings = get_settings().model_copy(update=updates)
    engine = Engine.open(settings)
    if ingest:
        done = engine.index.ingest()
        if done.changed:
            typer.echo(f"indexed {len(done.added) + len(done.updated)} articles", err=True)
    return engine


@eval_app.command("prepare-realtimeqa")
def prepare_realtimeqa(
    data: Annotated[
        Path, typer.Option(help="The RealTime QA folder (SOURCE.md, questions.jsonl, ...).")
    ] = Path("../shared/data/realtimeqa"),
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default .cache/realtimeqa[-sample]).")
    ] = None,
    sample: Annotated[int | None, typer.Option(min=1, help="Keep N seeded questions.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sample.")] = 0,
) -> None:
    """Build a corpus dump and a gold file from RealTime QA under the git-ignored .cache/."""
    from qa.evaluation.realtimeqa import prepare

    folder = out or Path(".cache/realtimeqa" + ("-sample" if sample else ""))
    try:
        summary = prepare(data, folder, sample, seed)
    except QAError as exc:
        _fail(exc)
    typer.echo(json.dumps(summary, indent=2))
    typer.echo(
        f"next: qa eval --gold {folder / 'gold.jsonl'} --corpus {folder / 'corpus'} "
        f"--index-dir {folder / 'index'} --backend extractive"
    )


app.add_typer(eval_app, name="eval")


if __name__ == "__main__":
    app()
