"""The `qa` command line: ingest, stats, verify, reindex, ask, serve, eval."""

from __future__ import annotations

from typing import Annotated

import typer

from qa.cli import answer, evaluate, index

# rich_markup_mode=None: plain help, without importing rich (0.7 s of `qa --help`)
app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__, rich_markup_mode=None)


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


for command in (index.ingest, index.stats, index.verify, index.reindex, answer.ask, answer.serve):
    app.command()(command)
app.add_typer(evaluate.eval_app, name="eval")
eval_app = evaluate.eval_app

__all__ = ["app", "eval_app"]
