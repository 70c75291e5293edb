"""The per-client moving window (on the `limits` library), with real time and a short window;
which requests the service counts against it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from qa.answer.engine import Engine
from qa.api import create_app
from qa.api.ratelimit import MovingWindow, Rate, costs_work
from qa.ingest.index import Index
from tests.conftest import HashEmbedder, make_settings


def test_moving_window_counts_clients_apart_and_frees_slots_as_they_age() -> None:
    window = MovingWindow(Rate(2, 1.0))
    started = time.time()
    assert window.hit("a") == 0.0 and window.hit("a") == 0.0
    wait = window.hit("a")
    assert 0.0 < wait <= 1.0 - (time.time() - started) + 0.05  # when the first hit ages out
    assert window.hit("b") == 0.0  # another client has its own window
    time.sleep(wait + 0.05)
    assert window.hit("a") == 0.0 and window.hit("a") == 0.0  # both aged out together
    assert window.hit("a") > 0.0


def test_a_refused_hit_does_not_count() -> None:
    window = MovingWindow(Rate(1, 1.0))
    assert window.hit("a") == 0.0
    for _ in range(5):
        assert window.hit("a") > 0.0
    time.sleep(1.05)
    assert window.hit("a") == 0.0  # refused hits did not extend the window


# -- what the service limits: answers and writes, never the page ------------------------------


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The service at 5 requests a minute over the seeds indexed with the hash embedder."""
    # no suggested questions: they would load the reader's models to ask them
    settings = make_settings(
        tmp_path_factory.mktemp("limited"), rate_limit="5/minute", suggestion_checks=0
    )
    embedder = HashEmbedder()
    index = Index(settings, embedder)
    index.ingest()
    with TestClient(create_app(settings, Engine(settings, index, embedder))) as client:
        yield client


def test_page_static_files_and_probes_are_never_limited_while_answers_are(
    limited: TestClient,
) -> None:
    free = ["/", "/static/app.css", "/static/app.js", "/favicon.ico", "/healthz", "/readyz"]
    free += ["/metrics", "/documents", "/suggestions"]
    for reload in range(120):  # a browser reloading the page 120 times in one minute
        for path in free:
            response = limited.get(path)
            assert response.status_code == 200, (reload, path, response.text[:200])
    # a blank question is refused by validation (422) but costs a hit: 5 admitted, then 429
    codes = [limited.post("/ask", json={"question": " "}).status_code for _ in range(6)]
    assert codes == [422] * 5 + [429]
    for path in ("/ask/stream", "/v1/chat/completions"):
        refused = limited.post(path, json={"question": "Who?"})
        assert refused.status_code == 429, path
        assert refused.json()["error"]["type"] == "too_many_requests"
        assert int(refused.headers["retry-after"]) >= 1
    assert limited.get("/v1/models").status_code == 429  # under /v1: an API client's call
    assert limited.post("/ingest").status_code == 429  # a write
    assert limited.delete("/documents/none.txt").status_code == 429
    assert limited.get("/").status_code == 200  # the page still loads over the limit
    assert limited.get("/static/app.css").status_code == 200


def test_only_answers_and_writes_cost_a_hit() -> None:
    assert costs_work("POST", "/ask") and costs_work("POST", "/ask/stream")
    assert costs_work("POST", "/v1/chat/completions") and costs_work("GET", "/v1/models")
    assert costs_work("POST", "/documents") and costs_work("DELETE", "/documents/a.txt")
    assert costs_work("POST", "/ingest")
    for path in ("/", "/static/app.css", "/healthz", "/readyz", "/metrics", "/documents"):
        assert not costs_work("GET", path) and not costs_work("HEAD", path), path
    assert not costs_work("OPTIONS", "/ask")  # a CORS preflight: its POST is counted


def test_a_storage_uri_that_limits_cannot_use_is_refused_by_name() -> None:
    """QA_RATE_LIMIT_STORAGE: memory:// (per process) by default, redis://... shared by
    replicas (tests/test_replicas.py runs it on a real Redis)."""
    from qa.api.ratelimit import MovingWindow, parse_rate
    from qa.config import Settings
    from qa.errors import InputError

    assert Settings().rate_limit_storage == "memory://"
    rate = parse_rate("2/minute")
    assert rate is not None
    window = MovingWindow(rate, "memory://")
    assert [window.hit("a") == 0.0 for _ in range(3)] == [True, True, False]
    with pytest.raises(InputError, match="QA_RATE_LIMIT_STORAGE 'mongo-ish://x'"):
        MovingWindow(rate, "mongo-ish://x")
