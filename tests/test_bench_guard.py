"""bench/common.py's LoadGuard: comparisons only from a quiet machine, or marked as loaded."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from types import ModuleType

import pytest

from tests.conftest import ROOT


def _bench_common() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_common", ROOT / "bench" / "common.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LoadGuard = _bench_common().LoadGuard


def _loads(*values: float) -> Iterator[float]:
    yield from values
    while True:
        yield values[-1]


def test_waits_for_the_load_to_fall_then_measures() -> None:
    loads, slept = _loads(2.5, 1.8, 0.7), list[float]()
    guard = LoadGuard(1.0, 300, load=lambda: next(loads), sleep=slept.append)
    assert guard.wait("plain-1000") == 0.7
    assert slept == [10.0, 10.0]
    assert guard.summary() == {"max_load": 1.0, "quiet": True, "loaded_runs": []}


def test_refuses_a_comparison_on_a_busy_machine() -> None:
    slept: list[float] = []
    guard = LoadGuard(1.0, 25, load=lambda: 2.0, sleep=slept.append)
    with pytest.raises(SystemExit, match="not quiet"):
        guard.wait("ours-torch-1000")
    assert sum(slept) == 25


def test_forced_runs_under_load_are_listed_as_loaded() -> None:
    guard = LoadGuard(1.0, 0, force=True, load=lambda: 3.25, sleep=lambda _: None)
    assert guard.wait("ours-openvino-1000") == 3.25
    summary = guard.summary()
    assert summary["quiet"] is False
    assert summary["loaded_runs"] == [{"run": "ours-openvino-1000", "load_before": 3.25}]
