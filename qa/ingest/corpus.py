"""Read news articles from files and dumps into clean, dated `Article`s.

The clean text is the one text per article that chunk offsets and UI highlights index into.
"""

from __future__ import annotations

import csv
import logging
import threading
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import CorpusError
from qa.ingest.cleaning import Problem, acceptable, to_article
from qa.ingest.dumps import parse_dump
from qa.ingest.headers import split_front_matter, split_header
from qa.ingest.webpage import parse_html
from qa.text import has_control
from qa.types import Article

log = logging.getLogger(__name__)

FILE_TYPES = (".txt", ".md", ".html", ".htm")
DUMP_TYPES = (".jsonl", ".csv")
SUPPORTED = FILE_TYPES + DUMP_TYPES


@dataclass
class ReadResult:
    articles: list[Article] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _decode(data: bytes, source: str, problems: list[Problem]) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.append(Problem(source, "not valid UTF-8: decoded with replacement", False))
        return data.decode("utf-8", errors="replace")


def parse_document(source: str, raw: str, problems: list[Problem] | None = None) -> Article:
    """One article from the text of a .txt, .md or .html file.

    An unreadable or missing date is appended to `problems`: the article stays undated.
    """
    if source.lower().endswith((".html", ".htm")):
        header = parse_html(raw)
    elif source.lower().endswith(".md"):
        header = split_front_matter(raw)
    else:
        header = split_header(raw)
    if problems is not None:
        dated = "shown as date unknown" if header.date is None else f"dated {header.date} instead"
        problems.extend(Problem(source, f"{note}: {dated}", False) for note in header.notes)
        if header.date is None and not header.notes:
            problems.append(Problem(source, "no date found: shown as date unknown", False))
    return to_article(source, header.body, header.date, header.title, header.url, header.author)


def read_bytes(source: str, data: bytes) -> ReadResult:
    """Parse one file's bytes; problems are reported, never raised."""
    result = ReadResult()
    if not source.lower().endswith(SUPPORTED):
        result.problems.append(
            Problem(source, f"unsupported file type (use {', '.join(SUPPORTED)})", True)
        )
    elif not data.strip():
        result.problems.append(Problem(source, "empty file: skipped", True))
    elif b"\x00" in data:  # anywhere: a NUL deep in a file is as binary as one at the start
        result.problems.append(Problem(source, "binary file: skipped", True))
    else:
        raw = _decode(data, source, result.problems)
        try:
            if source.lower().endswith(DUMP_TYPES):
                result.articles.extend(parse_dump(source, raw, result.problems))
            else:
                notes: list[Problem] = []
                article = parse_document(source, raw, notes)
                if acceptable(article, result.problems):
                    result.articles.append(article)
                    result.problems.extend(notes)
        except (CorpusError, csv.Error) as exc:
            result.problems.append(Problem(source, f"{exc}: skipped", True))
        except (RecursionError, ValueError) as exc:  # parsers' own limits: this file only
            result.problems.append(Problem(source, f"cannot be parsed ({exc}): skipped", True))
    fingerprint = zlib.crc32(data)
    for problem in result.problems:
        _warn_once(problem, fingerprint)
    return result


_warned: dict[tuple[str, str], int] = {}  # (source, message) -> checksum of the file then
_warned_lock = threading.Lock()


def _warn_once(problem: Problem, fingerprint: int) -> None:
    """Log a file's problem once per version of the file: a rescan every few seconds reads the
    same bad file again and again (its problem is still in each ingest report)."""
    key = (problem.source, problem.message)
    with _warned_lock:
        if _warned.get(key) == fingerprint:
            return
        if len(_warned) >= 10_000:
            _warned.clear()
        _warned[key] = fingerprint
    log.warning("%s: %s", problem.source, problem.message)


def corpus_files(root: Path) -> list[Path]:
    """Supported files under `root`, sorted, hidden files excluded."""
    if not root.is_dir():
        raise CorpusError(f"corpus folder {root} does not exist; create it or set QA_CORPUS_DIR")
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUPPORTED
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """Files as given, folders as every supported file under them (recursively)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(corpus_files(path))
        elif path.exists():
            files.append(path)
        else:
            raise CorpusError(f"{path} does not exist; give a file or a folder to index")
    return list(dict.fromkeys(files))


def corpus_file(root: Path, source: str) -> Path | None:
    """The corpus file named `source`, if it is a supported, visible file inside `root`."""
    if has_control(source):  # the OS refuses a NUL with ValueError, not OSError
        return None
    root = root.resolve()
    path = (root / source).resolve()
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return None
    try:
        if not parts or any(p.startswith(".") for p in parts) or not path.is_file():
            return None
    except OSError:  # a name the filesystem cannot even look up (too long, ...)
        return None
    return path if path.suffix.lower() in SUPPORTED else None


def source_name(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name


FEEDS = "feeds"  # the source names of the feeds folder's files start with feeds/


@dataclass(frozen=True)
class Folders:
    """Where articles are read from: the corpus folder, and the feeds folder that feed entries
    are written to (kept out of the corpus folder, which may be tracked); a file of the feeds
    folder is named `feeds/<host>/<file>`, one of the corpus folder by its relative path."""

    corpus: Path
    feeds: Path | None = None

    def files(self) -> list[Path]:
        """Every supported file of both folders (the feeds folder only if it exists; the
        corpus folder must exist unless the feeds folder does)."""
        feeds = self.feeds is not None and self.feeds.is_dir()
        files = [] if feeds and not self.corpus.exists() else corpus_files(self.corpus)
        if feeds and self.feeds is not None:
            files += corpus_files(self.feeds)
        return list(dict.fromkeys(files))

    def name(self, path: Path) -> str:
        """The source name of a file of either folder."""
        if self.feeds is not None:
            try:
                inside = path.resolve().relative_to(self.feeds.resolve()).as_posix()
            except ValueError:
                pass
            else:
                return f"{FEEDS}/{inside}"
        return source_name(path, self.corpus)

    def file(self, source: str) -> Path | None:
        """The file named `source` (see corpus_file), in the feeds folder for `feeds/…`."""
        if self.feeds is not None and source.startswith(f"{FEEDS}/"):
            found = corpus_file(self.feeds, source[len(FEEDS) + 1 :])
            if found is not None:
                return found
        return corpus_file(self.corpus, source)


def read_paths(paths: Iterable[Path], root: Path | Folders) -> ReadResult:
    """Read files (names relative to `root`); a bad file never stops the batch."""
    result = ReadResult()
    folders = root if isinstance(root, Folders) else Folders(root)
    for path in paths:
        name = folders.name(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            result.problems.append(Problem(name, f"cannot read: {exc.strerror}", True))
            continue
        try:
            one = read_bytes(name, data)
        except Exception as exc:  # one bad file never aborts the ingest of the rest
            log.exception("cannot read %s", name)
            result.problems.append(Problem(name, f"cannot be read ({exc!r}): skipped", True))
            continue
        result.articles.extend(one.articles)
        result.problems.extend(one.problems)
    return result
