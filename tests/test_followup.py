"""Condensing a follow-up (qa/answer/reader/followup.py) with spaCy's parse, on conversations made
up for these tests; and the issue's two follow-ups answered on the seed index through the API's
history (the chat page's /ask body, OpenAI messages)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from qa.answer.engine import Engine
from qa.answer.reader.followup import condense
from qa.api import create_app
from qa.schema import REFUSAL, Turn

pytestmark = pytest.mark.slow  # spaCy's parser; the seed index and the embedding model


def talk(*texts: str) -> list[Turn]:
    """Alternating user and assistant turns."""
    roles = ("user", "assistant")
    return [Turn(role=roles[k % 2], content=t) for k, t in enumerate(texts)]


def test_a_standalone_question_is_kept() -> None:
    history = talk("Who chairs the Nordic Council?", "Ingrid Halvorsen [1]")
    question = "How many members does the Baltic Assembly have?"
    assert condense(history, question) == question
    assert condense([], "When did she arrive?") == "When did she arrive?"


def test_an_elided_noun_and_its_place_come_from_the_previous_question() -> None:
    history = talk("How many nurses does Ireland employ in Dublin?", "4,200 nurses [1]")
    got = condense(history, "And how many does Spain employ?")
    assert got == "How many nurses does Spain employ in Dublin?"


def test_a_fragment_replaces_its_counterpart() -> None:
    history = talk("Did Portugal ratify the fisheries treaty?", "Portugal ratified it. [1]")
    assert condense(history, "What about Greece?") == "Did Greece ratify the fisheries treaty?"
    history = talk("How many ferries sail from Oslo?", "Twelve ferries [1]")
    assert condense(history, "And from Bergen?") == "How many ferries sail from Bergen?"


def test_pronouns_become_the_previous_turns_entities() -> None:
    history = talk("Who chairs the Nordic Council?", "Ingrid Halvorsen chairs it. [1]")
    assert condense(history, "Where was she born?") == "Where was Ingrid Halvorsen born?"
    assert condense(history, "When did her term begin?") == (
        "When did Ingrid Halvorsen's term begin?"
    )
    history = talk("Which company bought the Tallinn shipyard?", "Norrbridge Holdings [1]")
    assert condense(history, "Who runs it?") == "Who runs Norrbridge Holdings?"


def test_a_possessed_noun_the_previous_question_named_keeps_its_owner() -> None:
    history = talk("Who commands Chad's army?", "General Idriss Mahamat [1]")
    assert condense(history, "How big is his army?") == "How big is Chad's army?"


def test_there_and_then_become_a_place_and_a_date() -> None:
    history = talk("Which city hosted the water summit?", "Lisbon hosted it. [1]")
    assert condense(history, "Who spoke there?") == "Who spoke in Lisbon?"
    history = talk("When did the strike at the port begin?", "On March 3, 2024 [1]")
    assert "March 3, 2024" in condense(history, "Who negotiated then?")


def test_three_turns_are_condensed_turn_by_turn() -> None:
    history = talk(
        "Who founded the Kestrel Foundation?",
        "Amara Quist founded it. [1]",
        "Where does she live?",
        "In Uppsala [1]",
    )
    got = condense(history, "And how old is she?")
    assert got == "How old is Amara Quist?"


def test_an_openai_answer_and_a_refusal_are_read_as_such() -> None:
    bold = talk(
        "Who leads the harbour authority?",
        "**Tomas Brenner**\nThe authority is led by Tomas Brenner. [1]\n\n(as of 2024-02-03)",
    )
    assert condense(bold, "When was he appointed?") == "When was Tomas Brenner appointed?"
    refused = talk("Who leads the harbour authority?", REFUSAL)
    assert condense(refused, "When was he appointed?") == "When was he appointed?"


def test_concurrent_condensing_gives_the_serial_results() -> None:
    history = talk("Who chairs the Nordic Council?", "Ingrid Halvorsen [1]")
    questions = ["Where was she born?", "What about the Arctic Council?", "When did she start?"]
    serial = [condense(history, q) for q in questions]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(lambda q: condense(history, q), questions * 4))
    assert parallel == serial * 4


# -- the issue's two follow-ups, on the seed index with the default reader and backend -------

TROOPS = "How many soldiers does France have in Niger?"
JUNTA = "Who is the commander of Niger's junta?"


@pytest.fixture(scope="module")
def client(seed_index, real_embedder) -> Iterator[TestClient]:
    engine = Engine(seed_index.settings, seed_index, real_embedder)
    with TestClient(create_app(engine.settings, engine)) as test_client:
        yield test_client


def _ask(client: TestClient, question: str, history: list[dict[str, str]]) -> dict[str, object]:
    response = client.post("/ask", json={"question": question, "history": history})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_issues_follow_ups_answer_through_the_ask_history(client: TestClient) -> None:
    first = _ask(client, TROOPS, [])
    said = [
        {"role": "user", "content": TROOPS},
        {"role": "assistant", "content": str(first["answer"])},
    ]
    follow = _ask(client, "And how many does the US have?", said)
    assert not follow["refused"] and "1,100" in str(follow["answer"]), follow
    assert "soldiers" in str(follow["question"]) and "Niger" in str(follow["question"])

    first = _ask(client, JUNTA, [])
    said = [
        {"role": "user", "content": JUNTA},
        {"role": "assistant", "content": str(first["answer"])},
    ]
    follow = _ask(client, "When did his junta seize power?", said)
    assert not follow["refused"] and "July 26" in str(follow["answer"]), follow


def test_the_issues_follow_ups_answer_through_openai_messages(client: TestClient) -> None:
    def chat(messages: list[dict[str, str]]) -> str:
        body = {"model": "news-qa", "messages": messages}
        response = client.post("/v1/chat/completions", json=body)
        assert response.status_code == 200, response.text
        return str(response.json()["choices"][0]["message"]["content"])

    first = chat([{"role": "user", "content": TROOPS}])
    follow = chat(
        [
            {"role": "user", "content": TROOPS},
            {"role": "assistant", "content": first},
            {"role": "user", "content": "And how many does the US have?"},
        ]
    )
    assert "1,100" in follow.split("Sources:")[0]
    first = chat([{"role": "user", "content": JUNTA}])
    follow = chat(
        [
            {"role": "user", "content": JUNTA},
            {"role": "assistant", "content": first},
            {"role": "user", "content": "When did his junta seize power?"},
        ]
    )
    assert "July 26" in follow.split("Sources:")[0]
