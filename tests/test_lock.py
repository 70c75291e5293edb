"""The lock files: every install (make, CI, Dockerfile) takes exact, hashed versions from them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

BASE, DEV = ROOT / "requirements.txt", ROOT / "requirements-dev.txt"


def _pins(path: Path) -> dict[str, str]:
    """name -> exact version of every `name==version` line, each of which must carry a hash."""
    text = path.read_text(encoding="utf-8")
    pins: dict[str, str] = {}
    for block in re.split(r"\n(?=\S)", text):
        match = re.match(r"([A-Za-z0-9._-]+)(\[[^\]]*\])?==(\S+)", block)
        if not match:
            continue
        assert "--hash=sha256:" in block, f"{match.group(1)} has no hash in {path.name}"
        pins[canonicalize_name(match.group(1))] = match.group(3)
    return pins


def _project() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_every_declared_dependency_is_pinned_with_a_hash() -> None:
    base, dev = _pins(BASE), _pins(DEV)
    project = _project()
    for line in project["dependencies"]:  # type: ignore[attr-defined]
        name = canonicalize_name(Requirement(line).name)
        assert name in base, f"{name} is declared but not in requirements.txt: run make lock"
    for extra in ("dev", "llamacpp"):
        for line in project["optional-dependencies"][extra]:  # type: ignore[index]
            name = canonicalize_name(Requirement(line).name)
            assert name in dev, f"{name} ({extra}) is not in requirements-dev.txt: run make lock"


def test_base_lock_is_the_dev_lock_restricted_to_the_base() -> None:
    base, dev = _pins(BASE), _pins(DEV)
    assert {name: dev.get(name) for name in base} == base


def test_known_breakages_stay_fixed() -> None:
    base, dev = _pins(BASE), _pins(DEV)
    assert "greenlet" in base  # SQLAlchemy 2.1 no longer brings it; LangChain's records need it
    assert base["torch"].endswith("+cpu")  # a plain torch is a multi-GB CUDA build
    assert not any(name.startswith("nvidia-") for name in dev)
    assert dev["llama-cpp-python"] == "0.3.16"  # 0.3.36 segfaults on the packaged SmolLM2


def test_every_installer_uses_the_lock() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "pip sync" in makefile and "--require-hashes" in makefile
    assert re.search(r"pip install[^\n]*--no-deps -e \.", makefile)
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "--require-hashes" in dockerfile and "requirements.txt" in dockerfile
    assert "pyproject.toml')" not in dockerfile  # no resolving from the loose ranges
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make setup" in ci and "smoke.py" in ci and "make test" in ci
