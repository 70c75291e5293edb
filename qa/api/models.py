"""Response models of the HTTP API (requests: qa/schema.py and qa/openai_compat.py)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = Field(description="snake_case error class, e.g. validation_error.")
    message: str = Field(description="What was wrong and what to do.")


class ErrorBody(BaseModel):
    """Every error response: {"error": {"type", "message"}}."""

    model_config = ConfigDict(extra="forbid")
    error: ErrorDetail


class DocumentInfo(BaseModel):
    source: str = Field(description="File name, or FILE#ID for a record of a dump.")
    title: str | None
    date: dt.date | None = Field(description="null means the date is unknown.")
    chunks: int
    lead: str | None = Field(None, description="The first sentence, a label when title is null.")


class DocumentPage(BaseModel):
    total: int
    offset: int
    limit: int
    documents: list[DocumentInfo]


class DocumentText(DocumentInfo):
    text: str = Field(description="The clean text; citation offsets index into it.")


class Duplicate(BaseModel):
    source: str
    same_as: str


class ProblemInfo(BaseModel):
    source: str
    message: str
    skipped: bool


class IngestSummary(BaseModel):
    added: int
    updated: int
    skipped: int
    deleted: int
    duplicates: list[Duplicate]
    problems: list[ProblemInfo]
    chunks_added: int
    chunks_deleted: int
    embedded: int
    seconds: float


class Suggestions(BaseModel):
    questions: list[str] = Field(description="Questions made from the articles' titles.")


class Ready(BaseModel):
    status: Literal["ready"]
    articles: int
    chunks: int
    backend: str


SSE_EVENT = {  # one Server-Sent Event of /ask/stream; `data` is JSON
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"enum": ["token", "timeline", "citations", "final", "error", "done"]},
        "data": {
            "type": "string",
            "description": "JSON: {text}, {date, text, citations}, [citation], Answer, {error}, {}",
        },
    },
}
