"""`qa ask` and `qa serve`: answers on the command line and over HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from qa.backends import BACKENDS
from qa.cli.common import fail, index_or_fail
from qa.errors import QAError

if TYPE_CHECKING:
    from qa.schema import Answer


def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    backend: Annotated[str | None, typer.Option(help=" | ".join(BACKENDS))] = None,
    top_k: Annotated[int | None, typer.Option("--top-k", min=1, max=50)] = None,
    date_from: Annotated[str | None, typer.Option("--date-from", help="YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--date-to", help="YYYY-MM-DD")] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="YYYY-MM-DD: ask as of this date (default: today); relative dates read "
            "against it and newer articles are not used.",
        ),
    ] = None,
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
                "as_of": as_of,
                "mode": None if timeline is None else ("timeline" if timeline else "answer"),
            }
        )
    except ValidationError as exc:
        typer.secho(f"error: {exc.errors()[0]['msg']}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    from qa.config import get_settings

    settings = get_settings()
    index_or_fail(settings)
    from qa.answer.engine import Engine
    from qa.ingest.index import Index

    try:
        answer = Engine.open(settings, Index).ask(request)
    except QAError as exc:
        fail(exc)
        return
    if as_json:
        print(answer.model_dump_json(indent=2))
        return
    print(render(answer))


def render(answer: Answer) -> str:
    """The answer as plain text: the short answer, the answer, its moment ("as of
    2023-11-10" or "date unknown") and any newer reports, then each citation with its file,
    date and quote."""
    lines = (
        [f"{answer.short_answer.text} [{answer.short_answer.n}]\n"] if answer.short_answer else []
    )
    lines.append(answer.answer)
    if not answer.refused:
        lines.append(f"\n({answer.moment()})")
        lines.extend(r.line() for r in answer.newer)
    if answer.citations:
        lines.append("")
    for c in answer.citations:
        when = c.date.isoformat() if c.date else "date unknown"
        link = f" {c.url}" if c.url else ""
        lines.append(f'[{c.n}] {c.source} ({when}){link}: "{c.quote}"')
    return "\n".join(lines)


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
