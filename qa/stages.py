"""The tuning of each pipeline stage (retrieval, the learned reader, timelines, newer reports):
one settings group per stage, a field of `qa.config.Settings`, each field saying how its value
was chosen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Stage(BaseModel):
    """Tuning of one pipeline stage: set as a whole (`QA_TIMELINE='{"floor": 0.01}'`) or one
    field at a time (`QA_TIMELINE__FLOOR=0.01`). Each description says how its value was
    chosen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RetrievalStage(Stage):
    filter_in_code_from: float = Field(
        0.3,
        gt=0,
        le=1,
        description="Share of chunks inside a date range from which an over-fetched plain search "
        "is filtered in code: bench/date_filter.py (Chroma's `where` 10-300x slower).",
    )
    max_overfetch: int = Field(
        500, ge=1, description="Largest over-fetch of that search: bench/date_filter.py."
    )
    ids_up_to: int = Field(
        50_000,
        ge=1,
        description="Longest list of in-range chunk ids handed to Chroma; beyond it, `where`: "
        "bench/date_filter.py at 87.5k chunks.",
    )
    exact_up_to: int = Field(
        500,
        ge=0,
        description="Date ranges this small are ranked by exact cosine in numpy (3 ms against "
        "58 ms HNSW among 34 ids at 87.5k chunks: bench/date_filter.py).",
    )


class LearnedReaderStage(Stage):
    shortlist: int = Field(
        16,
        ge=1,
        description="Candidate sentences the learned reader embeds per question (embedding is "
        "most of its cost): hand-set, same seed answers as no shortlist (issue 16).",
    )


class TimelineStage(Stage):
    passages: int = Field(
        20,
        ge=1,
        le=100,
        description="Candidate passages of a timeline, more than an answer's top_k: hand-set on "
        "the seed timeline questions (eval/gold/seeds-timeline.jsonl).",
    )
    per_passage_article: int = Field(
        4, ge=1, description="Chunks per article among them: hand-set, seed timeline questions."
    )
    per_article: int = Field(
        2, ge=1, description="Events kept per article: hand-set, seed timeline questions."
    )
    floor: float = Field(
        0.003,
        ge=0,
        le=1,
        description="Least learned-reader probability of an event sentence: hand-set, seed "
        "timeline questions.",
    )
    relative: float = Field(
        0.5,
        ge=0,
        le=1,
        description="A second event of an article needs this share of its first one's score: "
        "hand-set, seed timeline questions.",
    )
    merge: float = Field(
        0.8,
        ge=0,
        le=1,
        description="Cosine at which two event sentences are one event: hand-set, seed timeline "
        "questions.",
    )


class NewerStage(Stage):
    passages: int = Field(
        5, ge=1, description="Newer passages read: hand-set (qa/answer/newer.py)."
    )
    max_reports: int = Field(
        2, ge=1, description="Newer reports listed, newest first: hand-set (qa/answer/newer.py)."
    )
