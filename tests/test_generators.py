"""One contract for every answer backend (qa/answer/generators/): the extractive reader, llama.cpp
with the real SmolLM2 in its supervised child process, and an OpenAI-compatible server on loopback
(a faithful scripted model behind a real HTTP API, reached through LangChain's ChatOpenAI).

Same answer contract, citations verified against the retrieved passages, the shared refusal
passes through, and a backend that cannot answer is a BackendError (502 over HTTP).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qa.answer.engine import Engine
from qa.errors import BackendError
from qa.ingest.index import Index
from qa.schema import REFUSAL, AskRequest
from qa.text import sentence_spans
from tests.conftest import free_port, openai_app, serving
from tests.test_verify import assert_contract

pytestmark = pytest.mark.slow

ANSWERABLE = "How many US troops are in Niger?"
UNANSWERABLE = "What is the population of Niger?"
TOP_K = 5
_PASSAGE = re.compile(r'<passage n="(\d+)"[^>]*>\n(.*?)\n</passage>', re.S)

# these tests check backends and the API on seed answers the learned reader gives; the
# default reader's seed quality is gated by tests/test_eval_gate.py
LEARNED = {"reader": "learned"}


def faithful(prompt: str) -> str:
    """A model that quotes the first passage sentence naming troops, with its [n]."""
    for n, text in _PASSAGE.findall(prompt):
        for s, e in sentence_spans(text):
            if "troops" in text[s:e]:
                return f"{text[s:e]} [{n}]"
    return REFUSAL


@pytest.fixture(scope="module", params=["extractive", "openai", "llamacpp"])
def backend(
    request: pytest.FixtureRequest, seed_index: Index, real_embedder: Any
) -> Iterator[tuple[str, Engine[Index]]]:
    name = request.param
    settings = seed_index.settings.model_copy(update=LEARNED)
    if name == "extractive":
        yield name, Engine(settings, seed_index, real_embedder)
        return
    if name == "llamacpp":
        pytest.importorskip("llama_cpp", reason="needs the llamacpp extra")
        update: dict[str, object] = {"llm_max_tokens": 96, "llm_timeout_s": 600.0}
        engine = Engine(settings.model_copy(update=update), seed_index, real_embedder)
        yield name, engine
        engine.close()
        return
    with serving(openai_app(faithful)) as url:
        update = {"llm_base_url": url, "llm_model": "faithful", "llm_timeout_s": 30.0}
        yield name, Engine(settings.model_copy(update=update), seed_index, real_embedder)


class TestGeneratorContract:
    def test_answers_follow_the_contract(self, backend: tuple[str, Engine[Index]]) -> None:
        name, engine = backend
        request = AskRequest(question=ANSWERABLE, top_k=TOP_K, backend=name)
        answer = engine.ask(request)
        assert answer.backend == ("extractive" if answer.fallback else name)
        assert_contract(answer, engine.retrieve(ANSWERABLE, TOP_K))
        assert not answer.refused  # the extractive fallback answers when an LLM's draft fails
        for c in answer.citations:
            text = engine.index.catalog.text(c.source)
            assert text is not None and c.quote == text[c.start : c.end]
            assert engine.supports(c.quote, [c.quote])

    def test_streamed_tokens_add_up_to_the_final_answer(
        self, backend: tuple[str, Engine[Index]]
    ) -> None:
        name, engine = backend
        events = list(engine.stream(AskRequest(question=ANSWERABLE, top_k=TOP_K, backend=name)))
        final = events[-1][1]
        tokens = "".join(str(v) for kind, v in events if kind == "token")
        assert events[-1][0] == "final" and tokens == getattr(final, "answer", None)

    def test_the_shared_refusal_passes_through(self, backend: tuple[str, Engine[Index]]) -> None:
        name, engine = backend
        answer = engine.ask(AskRequest(question=UNANSWERABLE, top_k=TOP_K, backend=name))
        assert answer.refused and answer.answer == REFUSAL and answer.citations == []
        assert answer.backend == name


@pytest.mark.parametrize("name", ["openai", "llamacpp"])
def test_a_backend_that_cannot_answer_is_a_backend_error(
    name: str, seed_index: Index, real_embedder: Any, tmp_path: Path
) -> None:
    updates: dict[str, dict[str, object]] = {
        "openai": {"llm_base_url": f"http://127.0.0.1:{free_port()}/v1"},  # nothing listens
        "llamacpp": {"llm_model_path": tmp_path / "missing.gguf"},
    }
    update = updates[name]
    engine = Engine(
        seed_index.settings.model_copy(update={**LEARNED, **update}), seed_index, real_embedder
    )
    with pytest.raises(BackendError) as error:
        engine.ask(AskRequest(question=ANSWERABLE, top_k=TOP_K, backend=name))
    assert error.value.status_code == 502
