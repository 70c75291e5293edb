"""The wheel carries what the service reads at run time: the prompts of the top-level prompts/
folder ship inside it (as qa/prompts), so a non-editable install answers with the same prompts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qa.answer.generators.base import PROMPTS, load_prompt
from tests.conftest import ROOT


def test_the_package_reads_the_top_level_prompts_folder() -> None:
    for path in (ROOT / "prompts").glob("*.txt"):
        assert (PROMPTS / path.name).read_text(encoding="utf-8") == path.read_text("utf-8")
    assert load_prompt("system") == (ROOT / "prompts" / "system.txt").read_text("utf-8")


def _uv() -> str | None:
    found = shutil.which("uv")
    local = Path.home() / ".local" / "bin" / "uv"
    return found or (str(local) if local.is_file() else None)


@pytest.mark.slow
def test_a_wheel_installed_in_a_fresh_venv_loads_the_chat_prompts(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("qa", "prompts"):  # qa/prompts is a link to ../prompts: kept a link
        shutil.copytree(
            ROOT / folder, source / folder, symlinks=True, ignore=shutil.ignore_patterns("__py*")
        )
    dist = tmp_path / "dist"
    build = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)]
    subprocess.run([*build, str(source)], check=True, capture_output=True, timeout=300)
    (wheel,) = dist.glob("news_qa-*.whl")

    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    uv = _uv()
    if uv:
        subprocess.run([uv, "venv", "-q", "-p", sys.executable, str(venv)], check=True)
        install = [uv, "pip", "install", "-q", "-p", str(python), "--no-deps", str(wheel)]
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        install = [str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)]
    subprocess.run(install, check=True, capture_output=True, timeout=300)

    # no dependencies in the fresh venv: the prompt loader needs none; run outside the repository
    probe = (
        "import qa, json; from qa.answer.generators.base import load_prompt; "
        "print(json.dumps([qa.__file__, load_prompt('system'), load_prompt('answer')]))"
    )
    out = subprocess.run(
        [str(python), "-I", "-c", probe],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    where, system, answer = json.loads(out.stdout)
    assert Path(where).is_relative_to(venv), where  # the wheel's copy, not the repository's
    assert system == (ROOT / "prompts" / "system.txt").read_text("utf-8")
    assert answer == (ROOT / "prompts" / "answer.txt").read_text("utf-8")
    assert not (Path(where).parent / "prompts").is_symlink()  # a copy inside the wheel
