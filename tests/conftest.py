"""Shared fixtures: deterministic fakes for fast tests, and the real model and seed index."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from qa.answer.engine import Engine
from qa.answer.generators.chat import ChatGenerator
from qa.config import Settings
from qa.ingest.index import Index
from qa.process import stop_process
from qa.search.embedding import Embedder

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; Playwright's own download does not work here
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = ROOT / "test-results" / "browser"
# Tests build many small indexes: they share one exported copy of the embedding model
# (QA_MODEL_DIR) instead of exporting it into each index's models/ folder. Subprocesses inherit it.
os.environ.setdefault("QA_MODEL_DIR", str(ROOT / ".cache" / "test-models"))


class HashEmbedder:
    """Deterministic bag-of-words embedder: texts sharing words get similar vectors."""

    name = "hash-embedder"
    dim = 64
    max_tokens = 256

    def __init__(self) -> None:
        self.embedded = 0
        self.seconds = 0.0

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(t.split()) + 2 for t in texts]

    def _vector(self, text: str) -> list[float]:
        vec = np.zeros(self.dim)
        for word in text.lower().split():
            digest = hashlib.md5(word.strip(".,;:!?\"'()").encode()).digest()
            vec[digest[0] % self.dim] += 1.0
        norm = float(np.linalg.norm(vec)) or 1.0
        return (vec / norm).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded += len(texts)
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


def make_settings(tmp: Path, corpus: Path | None = None, **overrides: object) -> Settings:
    """Settings over a private copy of `corpus` (default: the seeds) and a fresh index."""
    target = tmp / "corpus"
    if not target.exists():
        shutil.copytree(corpus or SEEDS, target)
    values: dict[str, object] = {
        "corpus_dir": target,
        "index_dir": tmp / "index",
        "rate_limit": "0",
        # tests check what an LLM answer contains, not how fast a shared CPU produces it
        "llm_timeout_s": 600.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_process(
    command: list[str], log_path: Path, ready: Callable[[], bool], timeout: float
) -> Iterator[subprocess.Popen[bytes]]:
    """A real server process on loopback, logging to a file, stopped at the end.

    Fails the test with the log's tail when it exits or is not ready within `timeout` s.
    """
    log = log_path.open("wb")  # a file, not a pipe: a chatty server would block on a full pipe
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-2000:]
                pytest.fail(f"{command[0]} {command[1]} was not ready in {timeout:.0f} s:\n{tail}")
            time.sleep(0.3)
        yield process
    finally:
        stop_process(process, 20)
        log.close()


class ScriptedChat(BaseChatModel):
    """A LangChain chat model that replies with the texts enqueued, in order; streamed word by
    word. Deterministic; used by every test that needs an LLM's words without an LLM."""

    replies: list[str] = Field(default_factory=list)
    prompts: list[list[BaseMessage]] = Field(default_factory=list)  # what it was asked

    def enqueue(self, *texts: str) -> None:
        self.replies.extend(texts)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _next(self, messages: list[BaseMessage]) -> str:
        self.prompts.append(list(messages))
        if not self.replies:
            raise RuntimeError("ScriptedChat has no reply left: enqueue one first")
        return self.replies.pop(0)

    def _generate(
        self, messages: list[BaseMessage], stop: object = None, run_manager: object = None,
        **kwargs: object,
    ) -> ChatResult:  # fmt: skip
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self._next(messages)))])

    def _stream(
        self, messages: list[BaseMessage], stop: object = None, run_manager: object = None,
        **kwargs: object,
    ) -> Iterator[ChatGenerationChunk]:  # fmt: skip
        for piece in re.split(r"(?<=\s)", self._next(messages)):
            if piece:
                yield ChatGenerationChunk(message=AIMessageChunk(content=piece))


def scripted_generator(chat: ScriptedChat, name: str = "openai") -> ChatGenerator:
    """A chat answer backend (the real ChatGenerator) speaking through a ScriptedChat."""
    return ChatGenerator(name, lambda: chat)


class ScriptedEngine(Engine):
    """The real Engine, its `openai` backend speaking through a ScriptedChat."""

    def __init__(self, settings: Settings, index: Index, embedder: Embedder) -> None:
        self.chat_model = ScriptedChat()
        super().__init__(settings, index, embedder, {"openai": scripted_generator(self.chat_model)})

    def script(self, *drafts: str) -> None:
        self.chat_model.enqueue(*drafts)


def openai_app(reply: Callable[[str], str]) -> Any:
    """A minimal OpenAI-compatible chat server (JSON and streamed) whose answer is
    `reply(prompt)`: a scripted model behind a real HTTP API, for ChatOpenAI to talk to."""
    app = FastAPI()

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": "scripted", "object": "model"}]}

    @app.post("/v1/chat/completions")
    async def complete(request: Request) -> Response:
        body = await request.json()
        prompt = "\n".join(str(m.get("content", "")) for m in body["messages"])
        text = reply(prompt)
        base = {"id": "chatcmpl-scripted", "created": 0, "model": body.get("model", "m")}
        if not body.get("stream"):
            message = {"role": "assistant", "content": text}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
            return JSONResponse(
                {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
            )

        def events() -> Iterator[str]:
            for piece in re.findall(r"\S+\s*", text):
                delta = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
                chunk = {**base, "object": "chat.completion.chunk", "choices": [delta]}
                yield f"data: {json.dumps(chunk)}\n\n"
            stop = {"index": 0, "delta": {}, "finish_reason": "stop"}
            last = {**base, "object": "chat.completion.chunk", "choices": [stop]}
            yield f"data: {json.dumps(last)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


@contextmanager
def running(app: Any) -> Iterator[str]:
    """An ASGI `app` served by uvicorn on a free loopback port in a thread; yields its URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """`running`, yielding the OpenAI base URL (…/v1) of an `openai_app`."""
    with running(app) as url:
        yield f"{url}/v1"


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def tmp_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def real_embedder():
    """The real all-MiniLM-L6-v2 from its PyPI package, loaded once per test session."""
    from qa.search.embedding import make_embedder

    return make_embedder(Settings())


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Iterator[object]:
    """The five seed articles indexed once with the real model and embedded Chroma.

    Read-only: tests that change an index build their own.
    """
    from qa.ingest.index import Index

    settings = make_settings(tmp_path_factory.mktemp("seed-index"))
    index = Index(settings, real_embedder)
    index.ingest()
    yield index


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium for the page tests (tests/test_browser*.py)."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("Debian's Chromium is missing: apt-get update && apt-get install -y chromium")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
