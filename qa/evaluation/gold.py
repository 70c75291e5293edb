"""Gold questions: the JSON Lines format `qa eval` reads, validated line by line."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from qa.errors import InputError
from qa.schema import Turn


class GoldEvent(BaseModel):
    """One event a timeline answer should list: on a line dated `date` (null: date unknown),
    holding one of the `answers` phrases."""

    model_config = ConfigDict(extra="forbid")

    date: dt.date | None
    answers: list[str] = Field(min_length=1)


class GoldChange(BaseModel):
    """The first article after `as_of` that reports a different value of a changing fact."""

    model_config = ConfigDict(extra="forbid")

    source: str
    date: dt.date
    answers: list[str] = Field(min_length=1)


class GoldItem(BaseModel):
    """One gold question; `answers` are alternatives unless `all_answers` asks for every one.
    A `kind: "timeline"` question lists `events` instead of answers; a `kind: "followup"`
    question is the last turn of a conversation: the earlier turns are in `history` (user
    questions and the answers given), `standalone` is the same question asked alone."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    kind: Literal["answer", "timeline", "followup"] = "answer"
    question: str = Field(min_length=1, max_length=2000)
    answers: list[str] = Field(default_factory=list)
    all_answers: bool = False
    sources: list[str] = Field(default_factory=list)
    answerable: bool = True
    date_from: date | None = None
    date_to: date | None = None
    as_of: date | None = Field(
        None, description="The date the question is asked as of (RealTime QA: its quiz date)."
    )
    events: list[GoldEvent] = Field(default_factory=list)
    history: list[Turn] = Field(default_factory=list, max_length=50)
    standalone: str | None = Field(
        None, description="A follow-up asked alone (what condensing should produce)."
    )
    corpus: str | None = Field(None, description="The corpus the question is asked against.")
    # changing facts (eval/gold/changing-*.jsonl): one question asked at several as_of dates
    fact: str | None = Field(None, description="The changing fact this question asks about.")
    stale_answers: list[str] = Field(
        default_factory=list,
        description="Values reported before as_of and superseded by as_of (older articles').",
    )
    stale_sources: list[str] = Field(
        default_factory=list, description="The articles (dated up to as_of) that report them."
    )
    changed_by: GoldChange | None = Field(
        None, description="The newer article (after as_of) that changes the answer, if any."
    )

    @model_validator(mode="after")
    def _complete(self) -> GoldItem:
        if self.kind == "followup" and not any(t.role == "user" for t in self.history):
            raise ValueError("a follow-up needs a history with at least one user turn")
        if self.kind == "timeline":
            if not self.events:
                raise ValueError("a timeline question needs at least one event")
            return self
        if self.answerable and not (self.answers and self.sources):
            raise ValueError("an answerable question needs at least one answer and one source")
        return self


def load_gold(path: Path) -> list[GoldItem]:
    """Read a gold JSON Lines file; a bad line is an error naming the file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read gold file {path}: {exc.strerror}; check --gold") from exc
    items: list[GoldItem] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            items.append(GoldItem.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise InputError(f"{path} line {n} is not a valid gold item: {exc}") from exc
    dupes = [k for k, v in Counter(i.id for i in items).items() if v > 1]
    if dupes:
        raise InputError(f"{path}: duplicate question ids {dupes[:5]}; make every id unique")
    if not items:
        raise InputError(f"{path} has no questions; write one JSON object per line")
    return items
