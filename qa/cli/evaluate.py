"""`qa eval`: gold questions through every backend, a report, and the quality gate;
`qa eval prepare-realtimeqa` builds a RealTime QA corpus and gold file under .cache/."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qa.backends import BACKENDS
from qa.cli.common import CorpusOption, IndexDirOption, fail, index_or_fail, settings_with
from qa.errors import InputError, QAError

if TYPE_CHECKING:  # qa.evaluation imports the reader and the embedding stack: not for --help
    from qa.evaluation import Report

eval_app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,
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
    corpus: CorpusOption = None,
    index_dir: IndexDirOption = None,
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
    from qa.evaluation import check_thresholds, load_gold, run
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
        fail(exc)
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
    from pydantic import ValidationError

    from qa.evaluation import Report

    try:
        return Report.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as exc:
        raise InputError(f"--against {path} is not a readable report.json: {exc}") from exc


def _open_engine(corpus: Path | None, index_dir: Path | None, ingest: bool) -> Any:
    settings = settings_with(corpus_dir=corpus, index_dir=index_dir)
    if not ingest:  # --ingest (the default) builds the index when there is none
        index_or_fail(settings)
    from qa.answer.engine import Engine
    from qa.ingest.index import Index

    engine = Engine.open(settings, Index)
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
    split: Annotated[
        str | None,
        typer.Option(help="Only the weeks of this split (train, val, test: eval/splits/)."),
    ] = None,
    articles: Annotated[
        Path | None,
        typer.Option(
            help="Only the articles listed in this file (one id a line), no gold file: the "
            "corpus of a gold set written from them, e.g. eval/gold/changing-articles.txt."
        ),
    ] = None,
) -> None:
    """Build a corpus dump and a gold file from RealTime QA under the git-ignored .cache/."""
    from qa.evaluation.realtimeqa import prepare, prepare_articles

    name = "realtimeqa" + (f"-{split}" if split else "") + ("-sample" if sample else "")
    if articles is not None:
        name = "changing" if articles.stem == "changing-articles" else articles.stem
    folder = out or Path(".cache") / name
    try:
        if articles is not None:
            summary = prepare_articles(data, folder, articles)
            typer.echo(json.dumps(summary, indent=2))
            typer.echo(
                f"next: qa ingest --corpus {folder / 'corpus'} --index-dir {folder / 'index'}"
            )
            return
        summary = prepare(data, folder, sample, seed, split)
    except QAError as exc:
        fail(exc)
    typer.echo(json.dumps(summary, indent=2))
    typer.echo(
        f"next: qa eval --gold {folder / 'gold.jsonl'} --corpus {folder / 'corpus'} "
        f"--index-dir {folder / 'index'} --backend extractive"
    )
