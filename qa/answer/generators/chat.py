"""Chat-model generators through LangChain: any OpenAI-compatible server (`openai`), and the
local GGUF model served by a supervised llama.cpp child (`llamacpp`,
qa/answer/generators/llamacpp.py)."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from qa.answer.generators.base import format_passages, load_prompt
from qa.answer.generators.llamacpp import ALIAS, LlamaCppServer, smollm2_path
from qa.config import BACKENDS, Settings
from qa.errors import BackendError, InputError
from qa.types import Draft

if TYPE_CHECKING:
    from qa.schema import Turn
    from qa.types import Passage

# what the clients raise when the server is too slow: caught by type, not by message
TIMEOUTS = (openai.APITimeoutError, httpx.TimeoutException, concurrent.futures.TimeoutError)


def openai_model(settings: Settings, base_url: str, model: str, api_key: str) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        base_url=base_url,
        model=model,
        api_key=api_key,
        timeout=settings.llm_timeout_s,
        max_retries=0,
        max_tokens=settings.llm_max_tokens,
        temperature=0.0,
        seed=0,
    )


class ChatGenerator:
    """Any LangChain chat model, prompted with the files in prompts/. `connect` gives the model
    for the next call (a restarted llama.cpp child has a new address)."""

    verbatim = False  # free text: reduced to plain text and checked for relevance

    def __init__(
        self,
        name: str,
        connect: Callable[[], BaseChatModel],
        timeout_s: float = 60.0,
        server: LlamaCppServer | None = None,
    ) -> None:
        self.name = name
        self.connect = connect
        self.timeout_s = timeout_s
        self.server = server
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)

    def _messages(self, question: str, passages: Sequence[Passage]) -> list[Any]:
        user = load_prompt("answer").format(passages=format_passages(passages), question=question)
        return [SystemMessage(load_prompt("system")), HumanMessage(user)]

    def _timeout(self) -> BackendError:
        return BackendError(
            f"the {self.name} backend took longer than {self.timeout_s:g}s; "
            "raise QA_LLM_TIMEOUT_S or use a faster model"
        )

    def _failed(self, exc: Exception) -> BackendError:
        if isinstance(exc, BackendError):
            return exc
        if isinstance(exc, TIMEOUTS):
            return self._timeout()
        return BackendError(f"the {self.name} backend failed: {type(exc).__name__}: {exc}")

    def _call(self, messages: list[Any]) -> str:
        try:
            model = self.connect()  # starting a local server is not part of the answer's time
            future = self._pool.submit(model.invoke, messages)
            return str(future.result(timeout=self.timeout_s).content)
        except Exception as exc:
            raise self._failed(exc) from exc

    def generate(self, question: str, passages: Sequence[Passage]) -> Draft:
        return Draft(self._call(self._messages(question, passages)))

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        """Text deltas; the timeout covers the whole answer, checked between tokens."""
        try:
            model = self.connect()
            deadline = time.monotonic() + self.timeout_s
            for chunk in model.stream(self._messages(question, passages)):
                if time.monotonic() > deadline:
                    raise self._timeout()
                yield str(chunk.content)
        except Exception as exc:
            raise self._failed(exc) from exc

    def condense(self, history: Sequence[Turn], question: str) -> str:
        lines = "\n".join(f"{t.role}: {t.content}" for t in history[-6:])
        prompt = load_prompt("condense").format(history=lines, question=question)
        text = self._call([HumanMessage(prompt)]).strip().splitlines()
        return text[0].strip() if text and text[0].strip() else question

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


def make_chat_generator(settings: Settings, backend: str) -> ChatGenerator:
    """The `llamacpp` or `openai` generator, from the settings."""
    if backend == "llamacpp":
        path = Path(settings.llm_model_path or smollm2_path())
        server = LlamaCppServer(path, settings.llm_context_tokens)
        models: dict[str, BaseChatModel] = {}

        def local() -> BaseChatModel:
            url = server.url()  # starts the child, or a new one after a crash
            if url not in models:
                models.clear()
                models[url] = openai_model(settings, url, ALIAS, "not-needed")
            return models[url]

        return ChatGenerator(backend, local, settings.llm_timeout_s, server)
    if backend == "openai":
        if not settings.llm_base_url:
            raise BackendError("the openai backend needs QA_LLM_BASE_URL (e.g. http://host/v1)")
        remote = openai_model(
            settings, settings.llm_base_url, settings.llm_model, settings.llm_api_key
        )
        return ChatGenerator(backend, lambda: remote, settings.llm_timeout_s)
    raise InputError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
