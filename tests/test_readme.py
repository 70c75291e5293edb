"""The README's examples against what the service answers today: the answer contract's keys,
each Server-Sent Event's JSON, and the OpenAI-compatible reply's layout. Keys and shapes, not
values: the reader may word an answer differently, the README must not describe other fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qa.answer.engine import Engine
from qa.api import create_app
from tests.conftest import ROOT
from tests.test_api import parse_sse

pytestmark = pytest.mark.slow

README = (ROOT / "README.md").read_text(encoding="utf-8")
Shape = dict[str, Any] | list[Any] | None


def shape(value: object) -> Shape:
    """The keys of a JSON value, recursively (a list: the shape of its first item)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


def notation(text: str) -> Shape:
    """The README's key notation, `{"a", "b": {"c"} | null, "d": [{"e"}]}`, as a shape."""
    tokens = re.findall(r'"[^"]*"|[{}\[\]:,]|\|\s*null', text)
    position = 0

    def parse() -> Shape:
        nonlocal position
        token = tokens[position]
        position += 1
        if token == "[":
            inner = parse()
            position += 1  # ]
            return [inner]
        assert token == "{", token
        keys: dict[str, Shape] = {}
        while tokens[position] != "}":
            key = tokens[position].strip('"')
            position += 1
            keys[key] = None
            if tokens[position] == ":":
                position += 1
                keys[key] = parse()
            while tokens[position].startswith("|"):
                position += 1
            if tokens[position] == ",":
                position += 1
        position += 1
        return keys

    return parse()


def assert_described(readme: Shape, live: Shape, where: str) -> None:
    """Every key the README names exists live, and where the README spells out an object,
    it names all of its keys (a leaf in the README may be anything live)."""
    if readme is None:
        return
    if isinstance(readme, list):
        assert isinstance(live, list), where
        if readme and live:
            assert_described(readme[0], live[0], f"{where}[0]")
        return
    assert isinstance(live, dict), f"{where}: the README shows an object, live is {live!r}"
    assert set(readme) == set(live), f"{where}: README {sorted(readme)} != live {sorted(live)}"
    for key, inner in readme.items():
        assert_described(inner, live[key], f"{where}.{key}")


@pytest.fixture(scope="module")
def client(seed_index, real_embedder) -> Iterator[TestClient]:
    engine = Engine(seed_index.settings, seed_index, real_embedder)
    with TestClient(create_app(seed_index.settings, engine)) as test_client:
        yield test_client


def test_the_answer_contract_lists_exactly_the_live_keys(client: TestClient) -> None:
    line = next(ln for ln in README.splitlines() if ln.startswith('`{"answer"'))
    readme = notation(line.strip("`"))
    question = "How many troops does the United States have in Niger?"
    answer = client.post("/ask", json={"question": question})
    live = shape(answer.json())
    assert isinstance(live, dict) and live["short_answer"] and live["citations"]
    timeline = client.post("/ask", json={"question": "How did the ECOWAS standoff develop?"})
    events = shape(timeline.json())
    assert isinstance(events, dict)
    live["events"] = events["events"]
    assert_described(readme, live, "answer")


def _readme_events() -> list[tuple[str, str]]:
    """(event, data) pairs of the README's stream examples."""
    return re.findall(r"^event: (\w+)\ndata: (.*)$", README, re.M)


def test_every_stream_example_event_has_the_live_keys(client: TestClient) -> None:
    examples = _readme_events()
    assert {name for name, _ in examples} >= {"token", "citations", "final", "done", "timeline"}
    request = re.search(r"/ask/stream .*\n\s*-d '(\{.*\})'", README)
    assert request is not None, "the README's /ask/stream curl example"
    live: dict[str, Any] = {}
    timeline = {"question": "How did the ECOWAS standoff develop?"}
    for body in (json.loads(request.group(1)), timeline):
        events = parse_sse(client.post("/ask/stream", json=body).text)
        for name, data in events:
            live.setdefault(name, data)
    for name, data in examples:
        assert name in live, f"the README shows a `{name}` event the service does not send"
        try:
            example = json.loads(data)
        except json.JSONDecodeError:  # elided with …: only the keys it names must exist
            named = set(re.findall(r'"(\w+)":', data))
            assert named <= set(live[name]), f"{name}: {sorted(named - set(live[name]))}"
            continue
        assert_described(shape(example), shape(live[name]), name)


def _line_kinds(lines: list[str]) -> list[str]:
    """The layout of a reply's content: bold short answer, text, blank, sources heading, source
    (consecutive text lines are one paragraph: the README wraps them)."""
    kinds: list[str] = []
    for line in lines:
        if not line.strip():
            kind = "blank"
        elif re.fullmatch(r"\*\*.+\*\*( \[\d+\])+", line):
            kind = "short answer"
        elif line == "Sources:":
            kind = "sources"
        elif re.match(r"\[\d+\] \S+ — ", line):
            kind = "source"
        else:
            kind = "text"
        if not (kind == "text" and kinds and kinds[-1] == "text"):
            kinds.append(kind)
    return kinds


def test_the_openai_example_output_has_the_live_layout(client: TestClient) -> None:
    block = re.search(
        r'content": "(?P<question>[^"]+)"\}\],\n\)\nprint\(reply.choices\[0\].message.content\)\n'
        r"(?P<output>(?:#.*\n)+)",
        README,
    )
    assert block is not None, "the README's OpenAI client example and its output"
    readme = [line.removeprefix("#").removeprefix(" ") for line in block["output"].splitlines()]
    messages = [{"role": "user", "content": block["question"]}]
    reply = client.post("/v1/chat/completions", json={"model": "news-qa", "messages": messages})
    content = reply.json()["choices"][0]["message"]["content"]
    assert _line_kinds(readme) == _line_kinds(content.splitlines())
    sources = [line for line in readme if re.match(r"\[\d+\] ", line)]
    assert sources and all(line in content for line in sources)  # the same cited files
