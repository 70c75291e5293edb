"""The OpenAI-compatible endpoints: `/v1/models` and `/v1/chat/completions`."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from qa.api.deps import EngineDep, ReadAccess, answer_off_loop, stream_off_loop
from qa.api.errors import sse_error
from qa.api.openai_compat import (
    AS_OF_HEADER,
    MODEL_ID,
    ChatRequest,
    chat_to_ask,
    chunk,
    citations_json,
    completion,
    short_line,
    short_text,
    trailer,
    usage,
)
from qa.schema import Answer, ShortAnswer

router = APIRouter()


@router.get("/v1/models", tags=["openai"], dependencies=ReadAccess)
async def models() -> dict[str, Any]:
    """The one model: the indexed articles."""
    return {
        "object": "list",
        "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "news-qa"}],
    }


@router.post("/v1/chat/completions", tags=["openai"], dependencies=ReadAccess)
async def chat_completions(
    request: Request,
    body: ChatRequest,
    engine: EngineDep,
    as_of: Annotated[
        str | None,
        Header(
            alias=AS_OF_HEADER,
            description="YYYY-MM-DD: the date the question is asked (the body's as_of wins).",
        ),
    ] = None,
) -> Response:
    """OpenAI-compatible chat; sources appended to the content and in `citations`. The
    question is asked as of the body's `as_of`, else the `X-As-Of` header, else today."""
    ask_request = chat_to_ask(body, as_of)
    model = body.model or MODEL_ID
    if not body.stream:
        answer = await answer_off_loop(request, lambda: engine.ask(ask_request))
        request.app.state.metrics.observe_answer(answer)
        return JSONResponse(completion(ask_request, answer, model))
    cid = f"chatcmpl-{uuid.uuid4().hex}"

    async def chunks() -> AsyncIterator[ServerSentEvent]:
        yield ServerSentEvent(chunk(cid, model, {"role": "assistant", "content": ""}))
        sent = ""
        try:
            async for kind, value in stream_off_loop(request, engine, ask_request):
                if kind == "short" and isinstance(value, ShortAnswer):  # the first line
                    yield ServerSentEvent(chunk(cid, model, {"content": short_text(value)}))
                elif kind == "token" and isinstance(value, str):
                    sent += value
                    yield ServerSentEvent(chunk(cid, model, {"content": value}))
                elif kind == "final" and isinstance(value, Answer):
                    # the verified text was streamed; send what is left and the sources
                    sources = trailer(value)
                    rest = value.answer[len(sent) :] if value.answer.startswith(sent) else ""
                    last = json.loads(chunk(cid, model, {"content": rest + sources}, "stop"))
                    last["usage"] = usage(ask_request, short_line(value) + value.answer + sources)
                    last["citations"] = citations_json(value.citations)
                    last["refused"] = value.refused
                    short = value.short_answer
                    last["short_answer"] = short.model_dump() if short else None
                    last["as_of"] = value.as_of.isoformat() if value.as_of else None
                    newest = value.newest_source_date
                    last["newest_source_date"] = newest.isoformat() if newest else None
                    yield ServerSentEvent(json.dumps(last))
        except Exception as exc:
            yield ServerSentEvent(json.dumps(sse_error(exc)))
        yield ServerSentEvent("[DONE]")

    return EventSourceResponse(chunks(), ping=10)
