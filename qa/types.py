"""The records every stage passes on: an `Article` from ingest, the `ChunkMeta` the index keeps
beside each chunk, a `StoredChunk` read back from the store, the `Passage` search hands to the
answer step and the `Draft` a generator writes. Plain data, no imports from qa: reading a
passage does not pull in the ingest stack."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_core.documents import Document

Spans = tuple[tuple[int, int], ...]


def encode_spans(spans: Spans) -> str:
    """Chroma metadata holds scalars: "s:e,s:e" ("" when nothing is flagged)."""
    return ",".join(f"{s}:{e}" for s, e in spans)


def decode_spans(value: object) -> Spans:
    if not isinstance(value, str) or not value:
        return ()
    pairs = (part.split(":", 1) for part in value.split(","))
    return tuple((int(s), int(e)) for s, e in pairs)


def parse_date(value: object) -> date | None:
    """ISO dates, `YYYY/MM/DD` and ISO datetimes; anything else is None (never a guess)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip().replace("/", "-")
    match = re.match(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    if not match:
        return None
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


@dataclass(frozen=True)
class Article:
    source: str  # file name (relative to the corpus folder), or FILE#ID for a record of a dump
    text: str  # the clean text; chunk offsets index into it
    date: date | None  # None: the article carries no date, and we never guess one
    title: str | None = None
    url: str | None = None  # where it was published (feeds, `URL:` lines, canonical links)
    author: str | None = None

    @property
    def content_hash(self) -> str:
        """Identity of the text alone, so the same article under two names is indexed once."""
        return hashlib.sha1(" ".join(self.text.lower().split()).encode()).hexdigest()


@dataclass(frozen=True)
class ChunkMeta:
    """What the index keeps beside a chunk's text and vector; the one place that converts to and
    from Chroma's flat metadata (absent keys, not None, for an unknown date or title)."""

    chunk_id: str
    source: str
    start: int  # character offsets into the article's clean text
    end: int
    content_hash: str
    article_hash: str
    date: date | None = None
    title: str | None = None
    flagged: Spans | None = None  # instruction-like sentences; None: not computed (old index)
    url: str | None = None  # where the article was published, when known

    @property
    def date_int(self) -> int | None:
        return int(self.date.strftime("%Y%m%d")) if self.date else None

    def to_chroma(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "chunk_id": self.chunk_id,
            "source": self.source,
            "start": self.start,
            "end": self.end,
            "content_hash": self.content_hash,
            "article_hash": self.article_hash,
        }
        if self.date:
            meta["date"] = self.date.isoformat()
            meta["date_int"] = self.date_int
        if self.title:
            meta["title"] = self.title
        if self.flagged is not None:
            meta["flagged"] = encode_spans(self.flagged)
        if self.url:
            meta["url"] = self.url
        return meta

    @classmethod
    def from_chroma(cls, meta: Mapping[str, Any], chunk_id: str = "") -> ChunkMeta:
        """Tolerant of records written by hand or by an older version (missing keys)."""
        return cls(
            chunk_id=str(meta.get("chunk_id", chunk_id)),
            source=str(meta.get("source", "")),
            start=int(meta.get("start", 0)),
            end=int(meta.get("end", 0)),
            content_hash=str(meta.get("content_hash", "")),
            article_hash=str(meta.get("article_hash", "")),
            date=parse_date(meta.get("date")),
            title=meta.get("title") or None,
            flagged=decode_spans(meta["flagged"]) if "flagged" in meta else None,
            url=meta.get("url") or None,
        )


@dataclass(frozen=True)
class StoredChunk:
    chunk_id: str
    text: str
    metadata: dict[str, Any]
    similarity: float = 0.0  # cosine similarity to the query, when from a search

    @property
    def meta(self) -> ChunkMeta:
        return ChunkMeta.from_chroma(self.metadata, self.chunk_id)


@dataclass(frozen=True, kw_only=True)
class Passage:
    chunk_id: str
    source: str
    text: str  # == the article's clean text[start:end]
    start: int
    end: int
    date: date | None
    title: str | None
    score: float  # fused (RRF) score; with a recency ordering, dated chunks add a date vote
    dense: float | None  # cosine similarity, when found by dense search
    lexical: float | None  # BM25 score, when found by BM25
    flagged: Spans = ()  # sentences that read as instructions to a model (offsets into text)
    url: str | None = None  # where the article was published, when known

    def to_document(self) -> Document:
        from langchain_core.documents import Document

        meta = {k: v for k, v in vars(self).items() if k != "text"}
        meta["date"] = self.date.isoformat() if self.date else None
        return Document(page_content=self.text, metadata=meta, id=self.chunk_id)


@dataclass(frozen=True)
class Draft:
    """Answer text whose [n] markers number the passages (1-based) handed to the backend."""

    text: str
    spans: dict[int, tuple[int, int]] = field(default_factory=dict)  # n -> quote offsets
    short: tuple[int, int, int] | None = None  # short answer: (n, start, end) in the article
