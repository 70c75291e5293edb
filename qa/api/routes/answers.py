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
from qa.openai_compat import (
    citations_json,
)
from qa.schema import Answer, AskRequest, TimelineEvent

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
    """Server-Sent Events: `token`*, `citations`, `final` (the verified Answer), `done`.

    A timeline answer sends one `timeline` event per line (`{"date", "text", "citations"}`,
    oldest first, undated last) instead of `token`s. A failure becomes an `error` event
    (`{"error": {"type", "message"}}`) before `done`.
    """

    async def events() -> AsyncIterator[ServerSentEvent]:
        try:
            async for kind, value in stream_off_loop(request, engine, body):
                if kind == "token":
                    yield ServerSentEvent(json.dumps({"text": value}), event="token")
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
