"""What polling keeps and reports: `feeds.json` (per feed its ETag, Last-Modified, seen and
pending entries, status), where entries are written, and the poll report."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from qa.config import Settings
from qa.ingest.cleaning import Problem
from qa.ingest.feeds.parse import Entry

STATE_FILE = "feeds.json"
FOLDER = "feeds"  # the source names of feed entries start with feeds/ (qa.ingest.corpus.FEEDS)
MAX_SEEN = 5000  # entry keys remembered per feed


@dataclass
class FeedStatus:
    ok: bool
    error: str | None
    last_polled: str  # ISO time, UTC
    new: int = 0  # entries written this poll
    not_modified: bool = False  # the server answered 304
    refused: list[str] = field(default_factory=list)  # URLs not fetched: non-public addresses


@dataclass
class PollReport:
    written: list[Path] = field(default_factory=list)
    feeds: dict[str, FeedStatus] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def feeds_folder(settings: Settings) -> Path:
    """Where feed entries are written (QA_FEEDS_DIR, else the index folder's feeds/); ingest
    reads its files as `feeds/<host>/<file>` (qa.ingest.corpus.Folders)."""
    return settings.feeds_folder


def entry_path(folder: Path, link: str) -> Path:
    """The file of an entry in the feeds folder: safe, deterministic, and distinct per link."""
    parts = urlsplit(link)
    host = re.sub(r"[^a-z0-9.-]+", "-", (parts.hostname or "local").lower()).strip(".-")
    last = [p for p in parts.path.split("/") if p][-1:] or ["entry"]
    slug = re.sub(r"\.(html?|php|aspx?)$", "", last[0].lower())
    slug = re.sub(r"[^a-z0-9]+", "-", slug).strip("-")[:60].strip("-") or "entry"
    digest = hashlib.sha1(link.encode()).hexdigest()[:10]
    return folder / (host or "local") / f"{slug}-{digest}.txt"


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")  # hidden: ingest never reads a half-written file
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


class FeedState:
    """`feeds.json`: per feed URL its ETag, Last-Modified, seen and pending entries, status."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.data: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.data = {}

    def feed(self, url: str) -> dict[str, Any]:
        return self.data.setdefault(url, {"seen": [], "pending": []})

    def save(self) -> None:
        write_atomic(self.path, json.dumps(self.data, indent=1, sort_keys=True))


def entry_json(entry: Entry) -> dict[str, Any]:
    values = asdict(entry)
    values["day"] = entry.day.isoformat() if entry.day else None
    return values


def entry_from_json(values: dict[str, Any]) -> Entry:
    return Entry(**{**values, "day": date.fromisoformat(values["day"]) if values["day"] else None})
