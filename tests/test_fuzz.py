"""Schemathesis against the app's own /openapi.json: no 5xx, every response fits the schema.

Runs the real engine over a private copy of the seeds (uploads and deletes may change it),
with the rate limit off and no API key, a bounded and deterministic number of examples.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from qa.answer.engine import Engine
from qa.api import create_app
from qa.config import Settings
from qa.ingest.index import Index
from tests.conftest import make_settings

pytestmark = [pytest.mark.slow, pytest.mark.integration]

BACKENDS = ["extractive", "llamacpp", "openai"]


def only_extractive(node: Any) -> Any:
    """The schema with the backend enum narrowed to extractive.

    The llamacpp backend is too slow to fuzz here (test_api covers it) and openai has no server
    in tests (a 502 by design, covered by test_hardening).
    """
    if isinstance(node, dict):
        if node.get("enum") == BACKENDS:
            return {**node, "enum": ["extractive"]}
        return {key: only_extractive(value) for key, value in node.items()}
    if isinstance(node, list):
        return [only_extractive(value) for value in node]
    return node


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory, real_embedder: Any) -> Iterator[FastAPI]:
    options = make_settings(tmp_path_factory.mktemp("fuzz"), rate_limit="0", api_key=None)
    index = Index(options, real_embedder)
    index.ingest()
    app = create_app(options, Engine(options, index, real_embedder))
    with TestClient(app):  # runs the lifespan once: app.state.engine is set for every call
        yield app


@pytest.fixture(scope="module")
def api_schema(fuzz_app: FastAPI) -> Any:
    raw = only_extractive(copy.deepcopy(fuzz_app.openapi()))
    loaded = schemathesis.openapi.from_dict(raw)
    loaded.app = fuzz_app
    loaded.location = "/openapi.json"
    return loaded


def cases() -> list[tuple[str, str, schemathesis.GenerationMode]]:
    """(method, path, mode) of every documented operation; building the app opens no engine.

    Negative (schema-breaking) requests only where one exists: a body or query parameters.
    """
    spec = create_app(Settings(rate_limit="0")).openapi()
    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            found.append((method, path, schemathesis.GenerationMode.POSITIVE))
            query = any(p["in"] == "query" for p in operation.get("parameters", []))
            if query or "requestBody" in operation:
                found.append((method, path, schemathesis.GenerationMode.NEGATIVE))
    return found


@pytest.mark.parametrize(("method", "path", "mode"), cases())
def test_api_survives_fuzzing(
    api_schema: Any, method: str, path: str, mode: schemathesis.GenerationMode
) -> None:
    """Valid requests (positive) and schema-breaking ones (negative) for each operation."""
    strategy = api_schema[path][method].as_strategy(generation_mode=mode)

    @given(case=strategy)
    @settings(
        max_examples=25,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])

    fuzz()
