"""`/ask/stream` with the default extractive backend over the real seed index: the short
answer first with its citation, then each verified sentence with its citations, then the rest."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from qa.answer.engine import Engine
from qa.api import create_app
from tests.test_api import parse_sse

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(seed_index, real_embedder) -> Iterator[TestClient]:
    engine = Engine(seed_index.settings, seed_index, real_embedder)  # the default settings
    assert engine.settings.llm_backend == "extractive"
    with TestClient(create_app(engine.settings, engine)) as test_client:
        yield test_client


# two parts, each answered by its own sentence of another article (not a gold question)
COMPOUND = "Who is Niger's coup leader and what did Victoria Nuland say about President Bazoum?"


@pytest.mark.parametrize("question", [COMPOUND, "When did Wagner arrive in Mali?"])
def test_extractive_stream_sends_the_short_answer_then_each_cited_sentence(
    client: TestClient, question: str
) -> None:
    """The default backend streams its pieces: the short answer with its citation first, then
    one `token` per verified sentence carrying the citations its markers name, then the rest."""
    events = parse_sse(client.post("/ask/stream", json={"question": question}).text)
    final = events[-2][1]
    assert final["backend"] == "extractive" and final["short_answer"], final
    by_n = {c["n"]: c for c in final["citations"]}
    names = [name for name, _ in events]
    sentences = [data for name, data in events if name == "token"]
    assert names == ["short"] + ["token"] * len(sentences) + ["citations", "final", "done"]
    short = events[0][1]
    assert {k: short[k] for k in ("text", "n", "start", "end")} == final["short_answer"]
    assert short["citation"] == by_n[short["n"]]
    assert short["citation"]["start"] <= short["start"] < short["end"] <= short["citation"]["end"]
    for piece in sentences:
        named = [int(n) for n in re.findall(r"\[(\d+)\]", piece["text"])]
        assert named and piece["citations"] == [by_n[n] for n in named]
        # each piece is one verbatim sentence of its cited article, as the final answer says
        body = re.sub(r"\s*\[\d+\]", "", piece["text"]).strip()
        assert all(body in c["quote"] or c["quote"] in body for c in piece["citations"])
    assert "".join(p["text"] for p in sentences) == final["answer"]
    assert {c["n"] for p in sentences for c in p["citations"]} == set(by_n)
    if question == COMPOUND:
        assert len(sentences) == 2
