"""The LLM answer backends end to end: llama.cpp in a supervised child process with the real
SmolLM2 GGUF, and the OpenAI-compatible backend against llama-cpp-python's own server started on
loopback."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from qa.answer.engine import Engine
from qa.answer.generators.chat import ChatGenerator, make_chat_generator
from qa.answer.generators.llamacpp import smollm2_path
from qa.errors import BackendError
from qa.ingest.index import Index
from qa.schema import REFUSAL, Answer, AskRequest
from tests.conftest import free_port, running_process
from tests.test_verify import assert_contract

pytest.importorskip("llama_cpp", reason="needs the llamacpp extra")
pytestmark = pytest.mark.slow

TOP_K = 5  # five passages keep the prompt well inside SmolLM2's 2048-token server context
MAX_TOKENS = 128  # a short draft keeps the CPU time of each answer modest
QUESTIONS = ["How many US troops are in Niger?", "Will Chad intervene militarily in Niger?"]

# these tests check backends and the API on seed answers the learned reader gives; the
# default reader's seed quality is gated by tests/test_eval_gate.py
LEARNED = {"reader": "learned"}


def check_contract(
    engine: Engine[Index], request: AskRequest, answer: Answer, backend: str
) -> None:
    """Verified sentences with valid citations, the extractive fallback, or a refusal; never a
    citation to a passage that was not retrieved."""
    assert answer.backend == ("extractive" if answer.fallback else backend)
    passages = engine.retrieve(answer.question or request.question, request.top_k)
    assert_contract(answer, passages)
    if answer.refused:
        assert answer.answer == REFUSAL and answer.citations == []
        return
    assert answer.citations
    for c in answer.citations:
        text = engine.index.catalog.text(c.source)
        assert text is not None and c.quote == text[c.start : c.end]


# -- llama.cpp in a supervised child process ------------------------------------------------


@pytest.fixture(scope="module")
def llamacpp_engine(seed_index: Index, real_embedder: Any) -> Engine[Index]:
    update = {"llm_backend": "llamacpp", "llm_max_tokens": MAX_TOKENS, "llm_timeout_s": 600.0}
    return Engine(
        seed_index.settings.model_copy(update={**LEARNED, **update}), seed_index, real_embedder
    )


def test_llamacpp_answers_end_to_end(llamacpp_engine: Engine[Index]) -> None:
    request = AskRequest(question=QUESTIONS[0], top_k=TOP_K)
    answer = llamacpp_engine.ask(request)
    check_contract(llamacpp_engine, request, answer, "llamacpp")
    assert "generate" in answer.timings_ms


def test_llamacpp_streams_verified_text(llamacpp_engine: Engine[Index]) -> None:
    request = AskRequest(question=QUESTIONS[1], top_k=TOP_K)
    events = list(llamacpp_engine.stream(request))
    final = events[-1][1]
    assert isinstance(final, Answer)
    assert "".join(str(v) for kind, v in events if kind == "token") == final.answer
    check_contract(llamacpp_engine, request, final, "llamacpp")


def test_a_crashed_llamacpp_child_fails_one_answer_and_is_restarted(
    llamacpp_engine: Engine[Index],
) -> None:
    """A native crash kills the child, not the service: the answer being streamed fails with a
    BackendError (502 over HTTP), and the next question starts a new child and is answered."""
    generator = llamacpp_engine.generator("llamacpp")
    assert isinstance(generator, ChatGenerator)
    server = generator.server
    assert server is not None
    llamacpp_engine.ask(AskRequest(question=QUESTIONS[0], top_k=TOP_K))  # the child is up
    pid, starts = server.pid, server.starts
    assert pid is not None and pid != os.getpid()
    connect = generator.connect

    def connect_then_crash() -> Any:  # the answer is in flight for seconds after this
        model = connect()
        threading.Timer(0.3, os.kill, (pid, signal.SIGKILL)).start()  # as a segfault would
        return model

    generator.connect = connect_then_crash
    try:
        with pytest.raises(BackendError, match="llamacpp backend failed"):
            llamacpp_engine.ask(AskRequest(question=QUESTIONS[1], top_k=TOP_K))
    finally:
        generator.connect = connect
    answer = llamacpp_engine.ask(AskRequest(question=QUESTIONS[0], top_k=TOP_K))
    check_contract(
        llamacpp_engine, AskRequest(question=QUESTIONS[0], top_k=TOP_K), answer, "llamacpp"
    )
    assert server.starts == starts + 1 and server.pid not in (None, pid)
    llamacpp_engine.close()
    assert server.pid is None  # stopped with the engine


def test_llamacpp_missing_model_is_a_clear_error(seed_index: Index, tmp_path: Path) -> None:
    settings = seed_index.settings.model_copy(
        update={**LEARNED, "llm_model_path": tmp_path / "nope.gguf"}
    )
    with pytest.raises(BackendError, match=r"nope\.gguf not found; set QA_LLM_MODEL_PATH"):
        make_chat_generator(settings, "llamacpp")


# -- OpenAI-compatible server on loopback -------------------------------------------------------


def _models_ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/models", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def openai_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server with SmolLM2, one per module."""
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_path())]
    command += ["--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--n_ctx", "2048"]
    url = f"http://127.0.0.1:{port}/v1"
    with running_process(command, log_path, lambda: _models_ready(url), timeout=120):
        yield url


def _openai_engine(
    seed_index: Index, real_embedder: Any, url: str, **extra: object
) -> Engine[Index]:
    update = {"llm_base_url": url, "llm_model": "smollm2", "llm_max_tokens": MAX_TOKENS, **extra}
    return Engine(
        seed_index.settings.model_copy(update={**LEARNED, **update}), seed_index, real_embedder
    )


@pytest.mark.integration
def test_openai_server_lists_the_model(openai_url: str) -> None:
    models = httpx.get(f"{openai_url}/models", timeout=10).json()
    assert "smollm2" in [m["id"] for m in models["data"]]


@pytest.mark.integration
@pytest.mark.parametrize("question", QUESTIONS)
def test_openai_backend_answers_end_to_end(
    seed_index: Index, real_embedder: Any, openai_url: str, question: str
) -> None:
    engine = _openai_engine(seed_index, real_embedder, openai_url)
    request = AskRequest(question=question, top_k=TOP_K, backend="openai")
    answer = engine.ask(request)
    check_contract(engine, request, answer, "openai")


@pytest.mark.integration
def test_openai_timeout_is_a_backend_error(
    seed_index: Index, real_embedder: Any, openai_url: str
) -> None:
    engine = _openai_engine(seed_index, real_embedder, openai_url, llm_timeout_s=0.001)
    request = AskRequest(question=QUESTIONS[0], top_k=TOP_K, backend="openai")
    with pytest.raises(BackendError, match=r"openai backend .*(timed out|QA_LLM_TIMEOUT_S)") as err:
        engine.ask(request)
    assert err.value.status_code == 502


@pytest.mark.integration
def test_chat_generator_timeout_names_the_setting(openai_url: str, seed_index: Index) -> None:
    settings = seed_index.settings.model_copy(
        update={"llm_base_url": openai_url, "llm_model": "smollm2", "llm_timeout_s": 0.001}
    )
    generator = make_chat_generator(settings, "openai")
    with pytest.raises(BackendError, match=r"QA_LLM_TIMEOUT_S|timed out"):
        generator.generate(QUESTIONS[0], [])


def test_openai_unreachable_server_is_a_backend_error(
    seed_index: Index, real_embedder: Any
) -> None:
    engine = _openai_engine(seed_index, real_embedder, f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(BackendError, match="openai backend failed"):
        engine.ask(AskRequest(question=QUESTIONS[0], top_k=TOP_K, backend="openai"))


def test_openai_without_base_url_is_a_clear_error(seed_index: Index) -> None:
    with pytest.raises(BackendError, match="QA_LLM_BASE_URL"):
        make_chat_generator(seed_index.settings, "openai")
