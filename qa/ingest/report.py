"""What an ingest, upload or delete did (IngestReport), and what an index holds (Stats)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qa.ingest.cleaning import Problem
from qa.search.index_files import Stats

__all__ = ["IngestReport", "Stats", "describe"]


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (source, same text as)
    problems: list[Problem] = field(default_factory=list)
    chunks_added: int = 0
    chunks_deleted: int = 0
    embedded: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deleted)


def describe(report: IngestReport) -> dict[str, Any]:
    return {
        "added": len(report.added),
        "updated": len(report.updated),
        "skipped": len(report.unchanged),
        "deleted": len(report.deleted),
        "duplicates": [{"source": s, "same_as": o} for s, o in report.duplicates],
        "problems": [
            {"source": p.source, "message": p.message, "skipped": p.skipped}
            for p in report.problems
        ],
        "chunks_added": report.chunks_added,
        "chunks_deleted": report.chunks_deleted,
        "embedded": report.embedded,
        "seconds": round(report.seconds, 3),
    }
