"""The answer contract, shared by the CLI, the HTTP API and the evaluation."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    StrictInt,
    StringConstraints,
    computed_field,
    model_validator,
)

from qa.config import Backend

Question = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
BackendName = Backend
Mode = Literal["answer", "timeline"]


def _iso_date(value: object) -> object:
    """Only YYYY-MM-DD: pydantic would read 0 or "1700000000" as a Unix time, silently."""
    if isinstance(value, dt.date) or value is None:
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return value.strip()
    raise ValueError(f"{str(value)[:40]!r} is not a date; write it as YYYY-MM-DD, e.g. 2024-05-01")


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]


class Turn(BaseModel):
    role: Literal["user", "assistant", "system"]
    content: Annotated[str, StringConstraints(max_length=8000)]


class AskRequest(BaseModel):
    """A question, optionally restricted to a date range and continuing a conversation."""

    question: Question
    top_k: StrictInt | None = Field(None, ge=1, le=50)  # "7" and true are 422s, not 7 and 1
    date_from: IsoDate | None = None
    date_to: IsoDate | None = None
    as_of: IsoDate | None = Field(
        None,
        description="The date the question is asked, YYYY-MM-DD (default: today, the server's "
        "date). Relative dates (this week, on Tuesday, last month...) are read against it, and "
        "articles dated after it are not used unless date_to sets its own bound.",
    )
    history: list[Turn] = Field(default_factory=list, max_length=50)
    backend: BackendName | None = None
    mode: Mode | None = Field(
        None,
        description="answer: one cited answer; timeline: a dated list of events, oldest first; "
        "null: detected from the question.",
    )

    @model_validator(mode="after")
    def _range(self) -> AskRequest:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(
                f"date_from {self.date_from} is after date_to {self.date_to}; swap them"
            )
        if self.as_of and self.date_from and self.date_from > self.as_of and not self.date_to:
            raise ValueError(
                f"date_from {self.date_from} is after as_of {self.as_of}: no article could be "
                "used; move date_from back or set date_to"
            )
        return self


class Citation(BaseModel):
    n: int = Field(description="The [n] marker in the answer.")
    source: str = Field(description="Article file name, e.g. 003_dc7ce24594d87c5a.txt.")
    date: dt.date | None = Field(description="Article date; null means the date is unknown.")
    title: str | None
    chunk_id: str
    start: int = Field(description="Start offset of the quote in the article's clean text.")
    end: int = Field(description="End offset of the quote in the article's clean text.")
    quote: str = Field(description="The supporting text: clean_text[start:end].")
    url: str | None = Field(
        None, description="Where the article was published (feeds, canonical links), if known."
    )


class ShortAnswer(BaseModel):
    text: str = Field(description="The entity, number or date answering the question.")
    n: int = Field(description="The citation whose quote holds it.")
    start: int = Field(description="Start offset in the article's clean text (inside the quote).")
    end: int = Field(description="End offset in the article's clean text.")


class TimelineEvent(BaseModel):
    """One line of a timeline answer: a verbatim sentence, its article's date, its citations."""

    date: dt.date | None = Field(description="The article's date; null means date unknown.")
    text: str = Field(description="The sentence, verbatim from the first cited article.")
    citations: list[int] = Field(description="Its [n] citations (one per merged article).")


class NewerReport(BaseModel):
    """A newer article that answers the question differently: a verified quote, not a claim."""

    date: dt.date = Field(description="The newer article's date (after every cited one).")
    short_answer: str = Field(description="What it says, e.g. 650 where the answer says 1,100.")
    citation: Citation = Field(description="The quote holding it; n follows the answer's own.")

    def line(self) -> str:
        """'A newer report (2023-11-10) says 650: "quote" (file)'."""
        quote, source = self.citation.quote, self.citation.source
        when = self.date.isoformat()
        return f'A newer report ({when}) says {self.short_answer}: "{quote}" ({source})'


class Answer(BaseModel):
    answer: str
    short_answer: ShortAnswer | None = Field(
        None, description="The thing asked for (person, place, date, number...); null otherwise."
    )
    refused: bool
    citations: list[Citation] = Field(default_factory=list)
    backend: str = Field(description="The backend whose text this is (extractive on a fallback).")
    fallback: bool = Field(
        False, description="The requested backend's text failed verification: extractive used."
    )
    timings_ms: dict[str, float] = Field(default_factory=dict)
    dropped_sentences: int = Field(0, description="Answer sentences removed by verification.")
    question: str | None = Field(None, description="The standalone question actually searched.")
    mode: Mode = Field("answer", description="answer, or timeline when `events` lists events.")
    events: list[TimelineEvent] = Field(
        default_factory=list, description="Timeline answers: one event per line, oldest first."
    )
    as_of: dt.date | None = Field(
        None, description="The date the question was asked as of (the request's as_of or today)."
    )
    newer: list[NewerReport] = Field(
        default_factory=list,
        description="Newer articles (up to as_of) answering differently, newest first.",
    )

    @computed_field(  # type: ignore[prop-decorator]
        description="The newest cited article's date: the moment the answer describes; null "
        "when no cited article is dated."
    )
    @property
    def newest_source_date(self) -> dt.date | None:
        return max((c.date for c in self.citations if c.date), default=None)

    def moment(self) -> str:
        """The answer's moment for people: 'as of 2023-11-10', or 'date unknown'."""
        newest = self.newest_source_date
        return f"as of {newest.isoformat()}" if newest else "date unknown"


REFUSAL = "The indexed articles do not say."
