"""Stopping a child process (the llama.cpp server, a test's or CI's `qa serve`): politely, then
for sure. Standard library only: CI's smoke test imports it from the base install."""

from __future__ import annotations

import subprocess
from typing import Any


def stop_process(process: subprocess.Popen[Any], timeout: float) -> None:
    """SIGTERM, up to `timeout` s to exit, then SIGKILL; the process is reaped either way."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
