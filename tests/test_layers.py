"""Imports go one way (issue 31): api/cli/evaluation -> answer -> search <- ingest; every stage
may use the shared modules (types, config, errors, text, schema, ...), which use only each
other; training/ and bench/ use qa, never the reverse. Read from the source (AST), every
import counted, those inside functions too.

Until the move (scripts/restructure.py) a flat module is judged by the place MOVES gives it,
so the same rules hold before and after it."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from tests.conftest import ROOT

# who may import whom; a layer may always import itself and the shared modules
ALLOWED: dict[str, set[str]] = {
    "shared": set(),
    "search": set(),
    "ingest": {"search"},
    "answer": {"search"},
    "evaluation": {"answer", "search", "ingest"},
    "api": {"answer", "search", "ingest"},
    "cli": {"api", "evaluation", "answer", "search", "ingest"},
}
# upward imports to tolerate: none left (phase B cleared the six with qa/types.py and
# qa.search.index.SearchIndex, the read side of the ingest Index)
KNOWN: set[tuple[str, str]] = set()


def _moves() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("restructure", ROOT / "scripts/restructure.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.MOVES)


MOVES = _moves()


def placed(module: str) -> str:
    """`module` at its place after the move (qa.ingest.index -> qa.ingest.index)."""
    parts = module.split(".")
    if len(parts) > 1 and parts[0] == "qa" and parts[1] in MOVES:
        return ".".join(["qa", MOVES[parts[1]], *parts[2:]])
    return module


def layer(module: str) -> str:
    parts = placed(module).split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else "shared"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module of qa, training or bench that `path` imports (`from qa import x` is qa.x)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            if (
                node.module.split(".")[0] == "qa"
            ):  # `from qa import feeds`: the module qa.ingest.feeds
                found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] in ("qa", "training", "bench")}


def qa_modules() -> dict[str, Path]:
    return {module_name(p): p for p in (ROOT / "qa").rglob("*.py")}


def upward_imports(modules: dict[str, Path]) -> set[tuple[str, str]]:
    """(importer, imported) pairs, both at their places after the move, that break the rules."""
    names = {placed(m) for m in modules} | set(modules)
    bad = set()
    for name, path in modules.items():
        source = placed(name)
        for target in map(placed, imports(path)):
            if target.split(".")[0] in ("training", "bench"):
                bad.add((source, target))
            elif target in names:  # else a name imported from a module, not a module
                mine, theirs = layer(source), layer(target)
                if theirs not in ("shared", mine) and theirs not in ALLOWED[mine]:
                    bad.add((source, target))
    return bad


def test_imports_go_one_way() -> None:
    assert upward_imports(qa_modules()) - KNOWN == set(), "see the layers in tests/test_layers.py"


def test_every_known_exception_is_still_there() -> None:
    """An exception that is gone is taken off KNOWN, so it cannot come back unnoticed."""
    assert KNOWN - upward_imports(qa_modules()) == set()


def test_an_upward_import_is_caught(tmp_path: Path) -> None:
    """The check itself: a search module that imports the API, an answer module that imports
    ingest, a shared one that imports search and one that imports training are reported."""
    probes = {
        "qa.search.probe": "from qa.api.app import create_app",
        "qa.answer.probe": "from qa.ingest.uploads import safe_name",
        "qa.config_probe": "import qa.search.store",
        "qa.training_probe": "from training.squad import examples",
    }
    modules = qa_modules()
    for name, line in probes.items():
        modules[name] = tmp_path / f"{name}.py"
        modules[name].write_text(line + "\n", encoding="utf-8")
    assert upward_imports(modules) - KNOWN == {
        ("qa.search.probe", "qa.api.app"),
        ("qa.answer.probe", "qa.ingest.uploads"),
        ("qa.config_probe", "qa.search.store"),
        ("qa.training_probe", "training.squad"),
    }
