"""The OpenAI-compatible face of the service: chat requests to questions, answers to chat
completions (and their streamed chunks), with the sources appended for plain clients."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import uuid
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from qa.ingest.chunking import count_tokens
from qa.schema import Answer, AskRequest, BackendName, Citation, IsoDate, ShortAnswer, Turn

MODEL_ID = "news-qa"
SOURCES_HEADING = "\n\nSources:\n"
AS_OF_HEADER = "X-As-Of"  # the request's as_of, for clients that cannot add body fields
_MOMENT = re.compile(r"\n\n\((?:as of \d{4}-\d{2}-\d{2}|date unknown)\)")
MAX_HISTORY = 20  # turns kept from an OpenAI client's conversation
MAX_TURN_CHARS = 8000  # the Turn limit of the answer contract


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """OpenAI chat completion request; unknown OpenAI parameters are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(MODEL_ID, max_length=200)  # constrained: a lone surrogate is a 422
    messages: list[ChatMessage] = Field(min_length=1, max_length=1000)
    stream: bool = False
    top_k: StrictInt | None = Field(None, ge=1, le=50, description="Extension: passages to use.")
    date_from: IsoDate | None = Field(None, description="Extension: oldest article date.")
    date_to: IsoDate | None = Field(None, description="Extension: newest article date.")
    as_of: IsoDate | None = Field(
        None,
        description=f"Extension: the date the question is asked, YYYY-MM-DD (default: the "
        f"{AS_OF_HEADER} header, else today); see AskRequest.as_of.",
    )
    backend: BackendName | None = Field(None, description="Extension: answer backend.")


def date_label(day: dt.date | None) -> str:
    return day.isoformat() if day else "date unknown"


def sources_text(citations: list[Citation]) -> str:
    """The numbered source list appended to OpenAI-compatible answers, for plain clients."""
    if not citations:
        return ""
    lines = [
        f"[{c.n}] {c.source} — {date_label(c.date)}" + (f" — {c.url}" if c.url else "")
        for c in citations
    ]
    return SOURCES_HEADING + "\n".join(lines)


def _message_text(message: ChatMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    parts = message.content or []
    return "\n".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")


def moment_text(answer: Answer) -> str:
    """The line stating the answer's moment, '(as of 2023-11-10)', then any newer reports;
    nothing for a refusal."""
    if answer.refused:
        return ""
    return f"\n\n({answer.moment()})" + "".join(f"\n{r.line()}" for r in answer.newer)


def trailer(answer: Answer) -> str:
    """What follows the answer text in the content: its moment, then the sources."""
    return moment_text(answer) + sources_text(answer.citations)


def chat_to_ask(chat: ChatRequest, as_of_header: str | None = None) -> AskRequest:
    """Last user message = the question; earlier user/assistant turns = the history; the
    body's `as_of`, else the X-As-Of header."""
    turns = [(m.role, _message_text(m)) for m in chat.messages]
    last = max((i for i, (role, _) in enumerate(turns) if role == "user"), default=None)
    if last is None:
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "messages"),
                    "msg": "needs at least one user message",
                    "type": "value_error",
                }
            ]
        )
    try:  # every validation failure, of a turn too (a lone surrogate), is a 422
        history: list[Turn] = []
        for role, text in turns[:last]:
            if role in ("user", "assistant"):  # without the source lists we appended to answers
                content = _MOMENT.split(text.split(SOURCES_HEADING, 1)[0], 1)[0]
                content = content[:MAX_TURN_CHARS]
                history.append(Turn(role=role, content=content))
        return AskRequest(
            question=turns[last][1],
            history=history[-MAX_HISTORY:],
            top_k=chat.top_k,
            date_from=chat.date_from,
            date_to=chat.date_to,
            as_of=chat.as_of or (as_of_header.strip() if as_of_header else None),
            backend=chat.backend,
        )
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc


def citations_json(citations: list[Citation]) -> list[dict[str, Any]]:
    return [c.model_dump(mode="json") for c in citations]


def usage(ask: AskRequest, content: str) -> dict[str, int]:
    """cl100k token counts, so clients that track usage see plausible numbers."""
    prompt, completion = count_tokens(
        [" ".join([*(t.content for t in ask.history), ask.question]), content]
    )
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def short_text(short: ShortAnswer) -> str:
    """The short answer in bold on a first line of its own."""
    return f"**{short.text}** [{short.n}]\n\n"


def short_line(answer: Answer) -> str:
    """The answer's short-answer line, or nothing."""
    return short_text(answer.short_answer) if answer.short_answer else ""


def completion(ask: AskRequest, answer: Answer, model: str) -> dict[str, Any]:
    content = short_line(answer) + answer.answer + trailer(answer)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": usage(ask, content),
        "citations": citations_json(answer.citations),
        "refused": answer.refused,
        "short_answer": answer.short_answer.model_dump() if answer.short_answer else None,
        "as_of": answer.as_of.isoformat() if answer.as_of else None,
        "newest_source_date": newest.isoformat() if (newest := answer.newest_source_date) else None,
    }


def chunk(cid: str, model: str, delta: dict[str, Any], finish: str | None = None) -> str:
    return json.dumps(
        {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }
    )
