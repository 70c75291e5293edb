"""The soak (bench/soak.py) in small: a real `qa serve` on loopback with 8 asking clients, a
changing feed, uploads and deletes, one SIGKILL and a restart; 0 5xx and `qa verify` clean."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def test_a_one_minute_soak_has_no_5xx_and_a_clean_index(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    args = ["--minutes", "1", "--feed-entries", "300", "--feed-new", "10", "--feed-change-s",
            "15", "--kill-at", "0.3", "--write-pause", "1", "--settle-s", "90"]  # fmt: skip
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "soak.py"), *args, "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.exists(), result.stdout + result.stderr
    report = json.loads(out.read_text())
    assert report["server_errors_5xx"] == 0, report["server_error_samples"]
    assert report["malformed"] == 0, report["malformed_samples"]
    assert report["connection_errors_outside"] == 0, report["connection_error_samples"]
    assert report["verify"]["exit"] == 0, report["verify"]["output"]
    assert report["uploads"]["problems"] == []
    assert report["killed_windows_s"] and report["feed"]["served_per_generation"]
    assert report["feed"]["polls_failed"] == 0, report["feed"]["errors"]
    assert sum(report["requests"]["/ask"].values()) > 0
    assert result.returncode == 0, result.stdout[-2000:]
