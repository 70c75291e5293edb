"""Response models of the HTTP API (requests: qa/schema.py and qa/api/openai_compat.py)."""

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
    url: str | None = Field(None, description="Where the article was published, if known.")
    author: str | None = Field(None, description="The article's author, if known.")


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


class FeedInfo(BaseModel):
    ok: bool
    error: str | None = Field(description="Why the feed or some of its entries failed.")
    last_polled: str = Field(description="ISO time (UTC) of the last poll.")
    new: int = Field(0, description="Entries written by the last poll.")
    not_modified: bool = Field(False, description="The last poll got 304 Not Modified.")
    refused: list[str] = Field(
        default_factory=list,
        description="URLs not fetched: loopback, private, link-local or metadata addresses "
        "(QA_FETCH_ALLOW allows some).",
    )


class Ready(BaseModel):
    status: Literal["ready"]
    articles: int
    chunks: int
    backend: str
    feeds: dict[str, FeedInfo] | None = Field(
        None, description="Each feed of QA_FEEDS after its last poll; null without feeds."
    )
    feeds_error: str | None = Field(None, description="Why the last feed poll failed, if it did.")


SSE_EVENT = {  # one Server-Sent Event of /ask/stream; `data` is JSON
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"enum": ["short", "token", "timeline", "citations", "final", "error", "done"]},
        "data": {
            "type": "string",
            "description": "JSON: {text, n, start, end, citation}, {text, citations}, "
            "{date, text, citations}, [citation], Answer, {error}, {}",
        },
    },
}
