"""Answers: `/ask` (JSON) and `/ask/stream` (Server-Sent Events)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from qa.api.deps import EngineDep, ReadAccess, answer_off_loop, stream_off_loop
from qa.api.errors import sse_error
from qa.api.models import SSE_EVENT
from qa.api.openai_compat import citations_json
from qa.schema import Answer, AskRequest, Citation, ShortAnswer, TimelineEvent
from qa.text import markers

router = APIRouter()


@router.post("/ask", response_model=Answer, tags=["answers"], dependencies=ReadAccess)
async def ask(request: Request, body: AskRequest, engine: EngineDep) -> Answer:
    """Answer a question from the indexed articles, every sentence cited and verified."""
    answer = await answer_off_loop(request, lambda: engine.ask(body))
    request.app.state.metrics.observe_answer(answer)
    return answer


@router.post(
    "/ask/stream",
    tags=["answers"],
    dependencies=ReadAccess,
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {"schema": SSE_EVENT}}}},
)
async def ask_stream(request: Request, body: AskRequest, engine: EngineDep) -> Response:
    """Server-Sent Events: `short`? (the short answer and its citation, as soon as a verified
    quote holds it), `token`* (one per verified sentence, `{"text", "citations"}`: the
    citations its markers name), `citations`, `final` (the verified Answer), `done`.

    A timeline answer sends one `timeline` event per line (`{"date", "text", "citations"}`,
    oldest first, undated last) instead of `token`s. A failure becomes an `error` event
    (`{"error": {"type", "message"}}`) before `done`.
    """

    async def events() -> AsyncIterator[ServerSentEvent]:
        cited: dict[int, Citation] = {}
        try:
            async for kind, value in stream_off_loop(request, engine, body):
                if kind == "citation" and isinstance(value, Citation):
                    cited[value.n] = value
                elif kind == "short" and isinstance(value, ShortAnswer):
                    short = value.model_dump(mode="json")
                    short["citation"] = citations_json([cited[value.n]])[0]
                    yield ServerSentEvent(json.dumps(short), event="short")
                elif kind == "token" and isinstance(value, str):
                    named = [cited[n] for n in markers(value) if n in cited]
                    piece = {"text": value, "citations": citations_json(named)}
                    yield ServerSentEvent(json.dumps(piece), event="token")
                elif kind == "timeline" and isinstance(value, TimelineEvent):
                    yield ServerSentEvent(value.model_dump_json(), event="timeline")
                elif kind == "final" and isinstance(value, Answer):
                    cites = json.dumps(citations_json(value.citations))
                    yield ServerSentEvent(cites, event="citations")
                    yield ServerSentEvent(value.model_dump_json(), event="final")
        except Exception as exc:
            yield ServerSentEvent(json.dumps(sse_error(exc)), event="error")
        yield ServerSentEvent("{}", event="done")

    return EventSourceResponse(events(), ping=10)
