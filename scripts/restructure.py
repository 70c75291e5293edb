"""Issue 31, phase B, step 1: move the flat modules of qa/ into stage packages and rewrite every
reference to them. Re-runnable: a module already at its new place is skipped.

    .venv/bin/python scripts/restructure.py --dry-run   # print the moves and the edits
    .venv/bin/python scripts/restructure.py             # git mv + rewrite, on a clean work tree
    make lint && make test-fast                         # then commit

What it rewrites, in every tracked text file (Python, Markdown, TOML, Makefile, Dockerfile, CI):
dotted names `qa.<old>` (imports, `import qa.x`, monkeypatch targets, logger names, `-m qa.x`),
paths `qa/<old>.py` and `qa/<old>/`, `from qa import <old>` (split per package), and the
package-data globs in pyproject.toml. Afterwards `ruff check --fix` sorts the imports and
`ruff format` re-wraps them. It moves files only: splitting modules, `qa/types.py` and the
known upward imports (tests/test_layers.py, KNOWN) are phase B's hand work.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# old top-level module or package of qa -> its new dotted place (issue 31, target layout)
MOVES: dict[str, str] = {
    # ingest: files, feeds, uploads -> clean dated articles -> chunks -> the index
    "corpus": "ingest.corpus",
    "headers": "ingest.headers",
    "webpage": "ingest.webpage",
    "feeds": "ingest.feeds",
    "fetch": "ingest.fetch",
    "chunking": "ingest.chunking",
    "dedupe": "ingest.dedupe",
    "uploads": "ingest.uploads",
    "indexing": "ingest.index",
    "ingest_report": "ingest.report",
    "consistency": "ingest.index_check",  # `qa verify`: checks the index against the corpus
    "index_files": "search.index_files",  # what an index folder holds: read side
    # search: vectors, Chroma, BM25, the catalog, hybrid retrieval, dates in questions
    "embedding": "search.embedding",
    "model_export": "search.model_export",
    "store": "search.store",
    "lexical": "search.lexical",
    "segments": "search.segments",  # BM25 segments (the lexical index on disk)
    "catalog": "search.catalog",
    "retrieval": "search.retrieval",
    "lc_retriever": "search.lc_retriever",  # the LangChain face of the retriever
    "dates": "search.dates",
    # answer: the engine and everything it composes
    "engine": "answer.engine",
    "citations": "answer.citations",
    "verify": "answer.verify",
    "timeline": "answer.timeline",
    "events": "answer.events",
    "newer": "answer.newer",
    "suggestions": "answer.suggestions",
    "generators": "answer.generators",
    "reader": "answer.reader",
    # api: the HTTP face
    "openai_compat": "api.openai_compat",
    "ratelimit": "api.ratelimit",
    "metrics": "api.prometheus",  # Prometheus metrics, not the evaluation's
}
# stay at the top, usable by every stage: config, errors, text, schema, injection, backends,
# process, netguard (and types, phase B); cli/, evaluation/, api/, static/, prompts (a link)

PACKAGES = {
    "ingest": "Ingest: files, feeds and uploads become clean dated articles, chunks and the index.",
    "search": "Search: embeddings, the vector store, BM25, the catalog, hybrid date-aware "
    "retrieval.",
    "answer": "Answer: the engine, readers, generators, citations, verification, timelines.",
}
PACKAGE_DATA = {  # pyproject.toml's globs, relative to qa/
    '"reader/*.json"': '"answer/reader/*.json"',
    '"reader/*.safetensors"': '"answer/reader/*.safetensors"',
}
# code lines a longer path pushes over the line length (docstrings are re-wrapped by `reflow`)
BY_HAND = {
    "qa/answer/reader/model.py": (
        'f"the reader model {path} was trained on other features than '
        'qa/answer/reader/features.py "',
        'f"the reader model {path} was trained on other features than "\n'
        '                "qa/answer/reader/features.py "',
    ),
}
TEXT_SUFFIXES = {".py", ".md", ".toml", ".txt", ".yml", ".yaml", ".cfg", ".ini", ".sh"}
TEXT_NAMES = {"Makefile", "Dockerfile", ".dockerignore", "run"}
SKIP = ("seeds/", "eval/", "tests/fixtures/", "scripts/restructure.py")


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def source_path(name: str) -> Path:
    """qa/<name>.py or the package folder qa/<name>/."""
    folder = ROOT / "qa" / name
    return folder if folder.is_dir() and not folder.is_symlink() else folder.with_suffix(".py")


def target_path(dotted: str, is_package: bool) -> Path:
    path = ROOT / "qa" / Path(*dotted.split("."))
    return path if is_package else path.with_suffix(".py")


def moves_to_make() -> list[tuple[Path, Path]]:
    """(source, target) of every move still to make; a module already moved is skipped."""
    out = []
    for old, new in MOVES.items():
        src = source_path(old)
        if src.exists():
            out.append((src, target_path(new, src.is_dir())))
        elif not (target_path(new, True).is_dir() or target_path(new, False).is_file()):
            sys.exit(f"neither qa/{old} nor its new place qa/{new} exists: is MOVES current?")
    return out


_NAMES = "|".join(sorted(MOVES, key=len, reverse=True))
DOTTED = re.compile(rf"(?<![\w.])qa\.({_NAMES})(?!\w)")
SLASHED = re.compile(rf"(?<![\w./])qa/({_NAMES})(?![\w-])")
SLASHED_PY = re.compile(rf"(?<![\w./])qa/({_NAMES})\.py\b")
FROM_QA = re.compile(r"^(?P<indent>[ \t]*)from qa import (?P<names>[^\n(]+)$", re.M)


def _from_qa(match: re.Match[str]) -> str:
    """`from qa import __version__, feeds` -> one import of qa, one per moved module."""
    indent, kept, moved = match["indent"], [], []
    for part in match["names"].split(","):
        name, _, alias = (p.strip() for p in part.strip().partition(" as "))
        if name in MOVES:
            package, _, module = MOVES[name].rpartition(".")
            bound = alias or name
            moved.append(
                f"{indent}from qa.{package} import {module}"
                + (f" as {bound}" if bound != module else "")
            )
        else:
            kept.append(f"{name} as {alias}" if alias else name)
    lines = [f"{indent}from qa import {', '.join(kept)}"] if kept else []
    return "\n".join(lines + moved)


def rewrite(text: str, path: str) -> str:
    text = FROM_QA.sub(_from_qa, text)
    text = DOTTED.sub(lambda m: f"qa.{MOVES[m[1]]}", text)
    text = SLASHED_PY.sub(lambda m: f"qa/{MOVES[m[1]].replace('.', '/')}.py", text)
    text = SLASHED.sub(lambda m: f"qa/{MOVES[m[1]].replace('.', '/')}", text)
    if path.endswith(".py") and any(len(line) > 100 for line in text.splitlines()):
        text = reflow(text)
    if path in BY_HAND:
        text = text.replace(*BY_HAND[path])
    if path == "pyproject.toml":
        for old, new in PACKAGE_DATA.items():
            text = text.replace(old, new)
    return text


def docstring_lines(source: str) -> set[int]:
    """0-based numbers of the lines inside docstrings (prose the rewrite may re-wrap)."""
    lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                lines |= set(range(value.lineno - 1, (value.end_lineno or value.lineno)))
    return lines


def reflow(source: str, width: int = 100) -> str:
    """Docstring lines that a longer path pushed past `width`: their last words move to the
    start of the next line of the paragraph (a new line when the paragraph ends there)."""
    lines = source.split("\n")
    prose = docstring_lines(source)
    i = 0
    while i < len(lines):
        line = lines[i]
        if i in prose and len(line) > width and " " in line.strip():
            cut = line.rfind(" ", 0, width + 1)
            if cut <= len(line) - len(line.lstrip()):
                i += 1
                continue
            head, tail = line[:cut], line[cut + 1 :]
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            indent = nxt[: len(nxt) - len(nxt.lstrip())] or line[: len(line) - len(line.lstrip())]
            joinable = i + 1 in prose and nxt.strip() and not nxt.strip().startswith(('"""', "-"))
            if joinable and not tail.endswith('"""'):
                lines[i : i + 2] = [head, f"{indent}{tail} {nxt.lstrip()}"]
            else:
                lines[i : i + 1] = [head, f"{indent}{tail}"]
                prose = {n + 1 if n > i else n for n in prose} | {i + 1}
        i += 1
    return "\n".join(lines)


def text_files() -> list[str]:
    files = git("ls-files").splitlines()
    return [
        f
        for f in files
        if not f.startswith(SKIP)
        and (Path(f).suffix in TEXT_SUFFIXES or Path(f).name in TEXT_NAMES)
        and (ROOT / f).is_file()
        and not (ROOT / f).is_symlink()
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="print, change nothing")
    parser.add_argument("--force", action="store_true", help="run on a dirty work tree")
    args = parser.parse_args()
    if not args.dry_run and not args.force and git("status", "--porcelain").strip():
        sys.exit("the work tree has changes: commit or stash them first (or --force)")

    moves = moves_to_make()
    for src, dst in moves:
        print(f"git mv {src.relative_to(ROOT)} {dst.relative_to(ROOT)}")
    edits = []
    for f in text_files():
        before = (ROOT / f).read_text(encoding="utf-8")
        after = rewrite(before, f)
        if after != before:
            edits.append((f, after))
    print(f"{len(moves)} moves, {len(edits)} files to rewrite")
    if args.dry_run:
        for f, _ in edits:
            print(f"  rewrite {f}")
        return 0

    for package, doc in PACKAGES.items():
        init = ROOT / "qa" / package / "__init__.py"
        if not init.exists():
            init.parent.mkdir(parents=True, exist_ok=True)
            init.write_text(f'"""{doc}"""\n', encoding="utf-8")
            git("add", str(init.relative_to(ROOT)))
    for src, dst in moves:
        dst.parent.mkdir(parents=True, exist_ok=True)
        git("mv", str(src.relative_to(ROOT)), str(dst.relative_to(ROOT)))
    for f in text_files():  # again: the moved files are at their new paths now
        path = ROOT / f
        before = path.read_text(encoding="utf-8")
        after = rewrite(before, f)
        if after != before:
            path.write_text(after, encoding="utf-8")
    ruff = ROOT / ".venv" / "bin" / "ruff"
    dirs = ["qa", "tests", "bench", "training", "scripts", ".ci/smoke.py"]
    subprocess.run([str(ruff), "check", "-q", "--fix", "--select", "I", *dirs], cwd=ROOT)
    subprocess.run([str(ruff), "format", "-q", *dirs], cwd=ROOT)
    # a longer path can push a docstring or comment over the line length: listed, to re-wrap
    subprocess.run([str(ruff), "check", "-q", "--select", "E501", *dirs], cwd=ROOT)
    print("done: re-wrap the lines listed above, run `make lint && make test-fast`, commit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
