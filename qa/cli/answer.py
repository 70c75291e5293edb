"""`qa ask` and `qa serve`: answers on the command line and over HTTP."""

from __future__ import annotations

from typing import Annotated

import typer

from qa.backends import BACKENDS
from qa.cli.common import fail, index_or_fail
from qa.errors import QAError


def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    backend: Annotated[str | None, typer.Option(help=" | ".join(BACKENDS))] = None,
    top_k: Annotated[int | None, typer.Option("--top-k", min=1, max=50)] = None,
    date_from: Annotated[str | None, typer.Option("--date-from", help="YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--date-to", help="YYYY-MM-DD")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer contract.")] = False,
    timeline: Annotated[
        bool | None,
        typer.Option(
            "--timeline/--no-timeline",
            help="A dated list of events, oldest first (default: detected from the question).",
        ),
    ] = None,
) -> None:
    """Answer a question from the indexed articles, with numbered citations."""
    from pydantic import ValidationError

    from qa.schema import AskRequest

    try:
        request = AskRequest.model_validate(
            {
                "question": question,
                "backend": backend,
                "top_k": top_k,
                "date_from": date_from,
                "date_to": date_to,
                "mode": None if timeline is None else ("timeline" if timeline else "answer"),
            }
        )
    except ValidationError as exc:
        typer.secho(f"error: {exc.errors()[0]['msg']}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    from qa.config import get_settings

    settings = get_settings()
    index_or_fail(settings)
    from qa.engine import Engine

    try:
        answer = Engine.open(settings).ask(request)
    except QAError as exc:
        fail(exc)
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
        link = f" {c.url}" if c.url else ""
        print(f'[{c.n}] {c.source} ({when}){link}: "{c.quote}"')


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (QA_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (QA_PORT).")] = None,
    ingest: Annotated[
        bool,
        typer.Option(
            "--ingest",
            help="Index the corpus folder before serving (builds the index when there is none).",
        ),
    ] = False,
) -> None:
    """Serve the chat page, the JSON API and the OpenAI-compatible endpoint.

    Refuses to start without an index, unless --ingest builds one."""
    from qa.config import get_settings

    settings = get_settings()
    if not ingest:
        index_or_fail(settings)
    from qa.api import serve as run

    run(settings, host or settings.host, port or settings.port, ingest=ingest)
