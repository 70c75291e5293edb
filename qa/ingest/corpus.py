"""Read news articles from files and dumps into clean, dated `Article`s.

The clean text is the one text per article that chunk offsets and UI highlights index into.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from qa.errors import CorpusError
from qa.ingest.dedupe import dedupe
from qa.ingest.headers import split_front_matter, split_header
from qa.ingest.webpage import parse_html
from qa.types import Article, parse_date

log = logging.getLogger(__name__)

FILE_TYPES = (".txt", ".md", ".html", ".htm")
DUMP_TYPES = (".jsonl", ".csv")
SUPPORTED = FILE_TYPES + DUMP_TYPES

MAX_ARTICLE_CHARS = 1_000_000  # clean text of one article; longer ones are skipped
MAX_RECORD_CHARS = 2_000_000  # one .jsonl line (a .csv field: the csv module's 131,072)


@dataclass(frozen=True)
class Problem:
    source: str
    message: str
    skipped: bool  # True: the file was not indexed; False: indexed with a warning


@dataclass
class ReadResult:
    articles: list[Article] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@lru_cache
def _boilerplate() -> re.Pattern[str]:
    lines = files("qa").joinpath("boilerplate.txt").read_text(encoding="utf-8").splitlines()
    patterns = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    return re.compile(r"\A\s*(?:" + "|".join(patterns) + r")\s*\Z", re.IGNORECASE)


_FRAGMENT_WORDS = 2  # a paragraph this short, with no digit and no end punctuation


def fragment(paragraph: str) -> bool:
    """A page fragment, not article text: a paragraph of at most two words with no digit and
    no sentence punctuation (a button or label left by a copy: "download jpg", "Photo gallery").
    Titles are read from headers, so nothing an answer needs is lost."""
    words = paragraph.split()
    return (
        0 < len(words) <= _FRAGMENT_WORDS
        and not any(ch.isdigit() for ch in paragraph)
        and not paragraph.rstrip("\"'”’)").endswith((".", "!", "?", ":"))
    )


def clean_text(raw: str) -> str:
    """Drop boilerplate lines and page fragments, collapse whitespace, and keep the first of
    repeated paragraphs."""
    pattern = _boilerplate()
    lines = [ln for ln in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = ["" if pattern.match(ln) else ln for ln in lines]
    paragraphs = (" ".join(p.split()) for p in re.split(r"\n\s*\n", "\n".join(lines)))
    return "\n\n".join(dedupe(p for p in paragraphs if not fragment(p)))


def _decode(data: bytes, source: str, problems: list[Problem]) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.append(Problem(source, "not valid UTF-8: decoded with replacement", False))
        return data.decode("utf-8", errors="replace")


def _article(
    source: str,
    raw: str,
    day: date | None,
    title: str | None,
    url: str | None = None,
    author: str | None = None,
) -> Article:
    text = clean_text(raw)
    return Article(source, text, day, title or None, url or None, author or None)


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
    return _article(source, header.body, header.date, header.title, header.url, header.author)


def _json_record(line: str) -> dict[str, object] | str:
    """One JSON Lines record, or why it is not one (nesting and size are bounded)."""
    if len(line) > MAX_RECORD_CHARS:
        return f"is {len(line)} characters; the limit is {MAX_RECORD_CHARS}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"is not valid JSON: {exc.msg}"
    except RecursionError:
        return "is nested too deeply to be a news record"
    if not isinstance(record, dict):
        return f"is a JSON {type(record).__name__}, not an object with a text field"
    return record


def _records(
    name: str, raw: str, problems: list[Problem]
) -> Iterator[tuple[int, dict[str, object]]]:
    """(line, record) of a dump; a bad record is a problem for that record only."""
    if name.lower().endswith(".csv"):
        reader = csv.reader(io.StringIO(raw))
        header = next(reader, [])
        last = reader.line_num
        for row in reader:  # n is the file line where the record starts, as for .jsonl
            n, last = last + 1, reader.line_num
            if any(cell.strip() for cell in row):
                yield n, dict(zip(header, row, strict=False))
        return
    for n, line in enumerate(raw.splitlines(), start=1):
        if line.strip():
            record = _json_record(line)
            if isinstance(record, str):
                problems.append(Problem(f"{name} line {n}", f"record {record}: skipped", True))
            else:
                yield n, record


# The names dumps give each field of a record, the first present and non-empty wins (matched
# case-insensitively, spaces and hyphens read as underscores): RealTime QA and newspaper3k
# (`url`, `title`, `publish_date`, `authors`), news-please (`maintext`, `date_publish`), CSV
# exports (`Headline`, `Published At`, `Link`, `Byline`).
FIELDS: dict[str, tuple[str, ...]] = {
    "text": ("text", "content", "body", "maintext", "article_text"),
    "title": ("title", "headline"),
    "date": (
        "date", "publish_date", "published_date", "publication_date", "date_publish",
        "date_published", "published", "published_at", "pub_date", "pubdate",
    ),
    "url": ("url", "link", "source_url", "article_url", "canonical_url"),
    "author": ("author", "authors", "byline", "creator", "writer"),
}  # fmt: skip


def _field(record: dict[str, object], name: str) -> object:
    """A record's value for one of FIELDS, under whichever common name it is written."""
    found = {re.sub(r"[\s-]+", "_", str(k).strip().lower()): v for k, v in record.items()}
    for key in FIELDS[name]:
        value = found.get(key)
        if value not in (None, "", []):
            return value
    return None


def _author(value: object) -> str | None:
    """One author or a list of them (RealTime QA's `authors`) as one line."""
    names = value if isinstance(value, list) else [value]
    text = ", ".join(" ".join(str(n).split()) for n in names if n is not None and str(n).strip())
    return text or None


def _url(value: object) -> str | None:
    """A web address to link a citation to; anything but http(s) is dropped."""
    text = str(value).strip() if value is not None else ""
    return text if re.match(r"https?://\S+\Z", text, re.I) else None


def parse_dump(name: str, raw: str, problems: list[Problem]) -> list[Article]:
    """One article per record of a .jsonl or .csv dump, named FILE#ID (or FILE#LINE), with
    its title, date, URL and author under any of their common names (FIELDS).

    A record whose id repeats an earlier one is skipped: one name, one article."""
    articles = []
    seen: dict[str, int] = {}
    for n, record in _records(name, raw, problems):
        ident = record.get("id") or record.get("source") or record.get("article_id") or n
        if not _safe_id(str(ident)):
            message = f"record id {str(ident)[:80]!r} is not a safe name: named by its line {n}"
            problems.append(Problem(f"{name}#{n}", message, False))
            ident = n
        source = f"{name}#{ident}"
        if source in seen:
            message = f"record id {ident!s} repeats the record of line {seen[source]}: skipped"
            problems.append(Problem(f"{source} (line {n})", message, True))
            continue
        seen[source] = n
        text = _field(record, "text")
        if not isinstance(text, str | int | float | type(None)):
            problems.append(Problem(source, "record text is not a string: skipped", True))
            continue
        day = parse_date(_field(record, "date"))
        title = _field(record, "title")
        article = _article(
            source,
            str(text or ""),
            day,
            str(title) if title else None,
            _url(_field(record, "url")),
            _author(_field(record, "author")),
        )
        if _acceptable(article, problems):
            articles.append(article)
    return articles


def _safe_id(ident: str) -> bool:
    """A record id usable in a source name: no path parts, `#`, `%`, control characters, leading
    dot or space, at most 200 characters (`../../outside2` is named by its line instead)."""
    return (
        0 < len(ident) <= 200
        and not has_control(ident)
        and not any(c in ident for c in "/\\#%?")
        and not ident.startswith((".", " "))
        and not ident.endswith(" ")
    )


def _acceptable(article: Article, problems: list[Problem]) -> bool:
    if not article.text:
        what = "record has no text" if "#" in article.source else "no text after cleaning"
        problems.append(Problem(article.source, f"{what}: skipped", True))
        return False
    if len(article.text) > MAX_ARTICLE_CHARS:
        problems.append(
            Problem(
                article.source,
                f"{len(article.text)} characters after cleaning; the limit per article is "
                f"{MAX_ARTICLE_CHARS}: split it into several files",
                True,
            )
        )
        return False
    return True


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
                if _acceptable(article, result.problems):
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


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def has_control(name: str) -> bool:
    """Whether a name holds a NUL or another control character (never a file or record name)."""
    return _CONTROL.search(name) is not None


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
