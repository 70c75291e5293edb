"""The OpenAI-compatible endpoint: message conversion, and the official `openai` client
talking to the real server (uvicorn on a free loopback port) with the real engine."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import openai
import pytest
from fastapi.exceptions import RequestValidationError

from qa.answer.engine import Engine
from qa.api import create_app
from qa.api.openai_compat import ChatRequest, chat_to_ask, sources_text
from qa.schema import Citation
from tests.conftest import running

QUESTION = "Which general visited Mali to meet Wagner?"
WAGNER = {"003_dc7ce24594d87c5a.txt", "004_4d4a022be80d252f.txt"}


def _citation(n: int, source: str, day: date | None) -> Citation:
    return Citation(
        n=n, source=source, date=day, title=None, chunk_id="c", start=0, end=4, quote="text"
    )


# -- conversion (fast) ----------------------------------------------------------------------


def test_last_user_message_is_the_question_and_earlier_turns_the_history() -> None:
    chat = ChatRequest.model_validate(
        {
            "model": "news-qa",
            "temperature": 0.2,  # OpenAI parameters we do not use are accepted
            "messages": [
                {"role": "system", "content": "You are helpful."},
                {"role": "user", "content": "Who leads Niger?"},
                {"role": "assistant", "content": "General Tchiani [1]\n\nSources:\n[1] a.txt — x"},
                {"role": "user", "content": [{"type": "text", "text": "Since when?"}]},
            ],
            "date_from": "2023-08-01",
        }
    )
    ask = chat_to_ask(chat)
    assert ask.question == "Since when?"
    assert [(t.role, t.content) for t in ask.history] == [
        ("user", "Who leads Niger?"),
        ("assistant", "General Tchiani [1]"),  # our own source list is not history
    ]
    assert ask.date_from == date(2023, 8, 1)


def test_a_long_client_conversation_keeps_its_recent_turns() -> None:
    turns = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i} " + "x" * 9000}
        for i in range(120)
    ]
    chat = ChatRequest.model_validate(
        {"messages": [*turns[:119], {"role": "user", "content": "Q"}]}
    )
    ask = chat_to_ask(chat)
    assert len(ask.history) == 20 and ask.history[-1].content.startswith("turn 118 ")
    assert all(len(t.content) == 8000 for t in ask.history)


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "system", "content": "only a system prompt"}],
        [{"role": "user", "content": "   "}],
    ],
)
def test_a_conversation_without_a_question_is_a_validation_error(
    messages: list[dict[str, Any]],
) -> None:
    with pytest.raises(RequestValidationError):
        chat_to_ask(ChatRequest.model_validate({"messages": messages}))


def test_sources_list_names_file_and_date_or_date_unknown() -> None:
    text = sources_text([_citation(1, "a.txt", date(2023, 8, 6)), _citation(2, "b.jsonl#7", None)])
    assert text == "\n\nSources:\n[1] a.txt — 2023-08-06\n[2] b.jsonl#7 — date unknown"
    assert sources_text([]) == ""


# -- the real server ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_url(seed_index, real_embedder) -> Iterator[str]:
    engine = Engine(seed_index.settings, seed_index, real_embedder)
    with running(create_app(engine.settings, engine)) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key="not-needed", max_retries=0)


def _check_sources(content: str, citations: list[dict[str, Any]]) -> None:
    assert citations and {c["source"] for c in citations} <= WAGNER
    answer, sources = content.split("\n\nSources:\n")
    lines = sources.splitlines()
    assert len(lines) == len(citations)
    for line, c in zip(lines, citations, strict=True):
        assert line == f"[{c['n']}] {c['source']} — {c['date'] or 'date unknown'}"
        assert f"[{c['n']}]" in answer


@pytest.mark.slow
@pytest.mark.integration
def test_models_lists_the_corpus_model(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["news-qa"]


@pytest.mark.slow
@pytest.mark.integration
def test_openai_client_gets_cited_answer(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="news-qa", messages=[{"role": "user", "content": QUESTION}]
    )
    message = completion.choices[0].message
    assert message.role == "assistant" and completion.choices[0].finish_reason == "stop"
    extra = completion.model_extra or {}
    assert extra["refused"] is False
    _check_sources(message.content or "", extra["citations"])


@pytest.mark.slow
@pytest.mark.integration
def test_openai_client_streams_the_same_cited_answer(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="news-qa", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    chunks = list(stream)
    pieces = [c.choices[0].delta.content or "" for c in chunks]
    assert sum(1 for p in pieces if p) >= 2  # the answer arrives in pieces, then the sources
    assert chunks[-1].choices[0].finish_reason == "stop"
    citations = (chunks[-1].model_extra or {})["citations"]
    _check_sources("".join(pieces), citations)
    whole = client.chat.completions.create(
        model="news-qa", messages=[{"role": "user", "content": QUESTION}]
    )
    assert "".join(pieces) == whole.choices[0].message.content
    assert whole.usage is not None and chunks[-1].usage == whole.usage
    assert whole.usage.completion_tokens > 0 and whole.usage.prompt_tokens > 0


@pytest.mark.slow
@pytest.mark.integration
def test_openai_stream_sends_the_same_pieces_as_ask_stream(client: openai.OpenAI) -> None:
    """Extractive default: role, the bold short answer line, one chunk per verified sentence,
    then the moment and the sources on the last chunk (a compound question of our own: two
    sentences from two articles)."""
    question = "Who is Niger's coup leader and what did Victoria Nuland say about President Bazoum?"
    messages: Any = [{"role": "user", "content": question}]
    chunks = list(client.chat.completions.create(model="news-qa", messages=messages, stream=True))
    pieces = [c.choices[0].delta.content or "" for c in chunks]
    last = chunks[-1].model_extra or {}
    short = last["short_answer"]
    assert short and pieces[1] == f"**{short['text']}** [{short['n']}]\n\n"
    sentences = pieces[2:-1]
    assert len(sentences) == 2 and all(re.search(r"\[\d+\]$", p) for p in sentences)
    assert pieces[-1].startswith("\n\n(") and "Sources:" in pieces[-1]
    whole = client.chat.completions.create(model="news-qa", messages=messages)
    content = whole.choices[0].message.content or ""
    assert "".join(pieces) == content
    assert content.startswith(pieces[1] + "".join(sentences) + "\n\n(")


@pytest.mark.slow
@pytest.mark.integration
def test_openai_client_follow_up_and_refusal(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(
        model="news-qa", messages=[{"role": "user", "content": QUESTION}]
    )
    follow = client.chat.completions.create(
        model="news-qa",
        messages=[
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": first.choices[0].message.content or ""},
            {"role": "user", "content": "When did Wagner arrive there?"},
        ],
    )
    assert "2021" in (follow.choices[0].message.content or "")
    refused = client.chat.completions.create(
        model="news-qa",
        messages=[{"role": "user", "content": "What is the boiling point of tungsten?"}],
    )
    assert refused.choices[0].message.content == "The indexed articles do not say."
    assert (refused.model_extra or {})["refused"] is True


@pytest.mark.slow
@pytest.mark.integration
def test_openai_client_sees_errors_as_exceptions(client: openai.OpenAI) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as bad:
        client.chat.completions.create(model="news-qa", messages=[{"role": "user", "content": ""}])
    assert bad.value.status_code == 422
    assert isinstance(bad.value.body, dict) and bad.value.body["type"] == "validation_error"
    with pytest.raises(openai.APIError) as failed:  # a backend failure inside the stream
        list(
            client.chat.completions.create(
                model="news-qa",
                messages=[{"role": "user", "content": QUESTION}],
                stream=True,
                extra_body={"backend": "openai"},
            )
        )
    assert "QA_LLM_BASE_URL" in failed.value.message
