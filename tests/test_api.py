"""The HTTP service with the real engine, the real seed index and the real embedding model.

Read-only tests share one engine over the session's seed index; tests that write (upload,
delete, ingest, rescan) build their own index from a private copy of the seeds.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qa.answer.engine import Engine
from qa.api import create_app
from qa.ingest.index import Index
from qa.schema import REFUSAL
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

QUESTION = "Which general visited Mali to meet Wagner?"
UNDATED_QUESTION = "Who met someone from Wagner in Mali?"
UNDATED = "003_dc7ce24594d87c5a.txt"
WAGNER = {UNDATED, "004_4d4a022be80d252f.txt"}  # the two articles about Niger and Wagner
SEEDS = {
    "000_cd0023486d4bb650.txt",
    "001_82e9ea03b5c9249c.txt",
    "002_e3a0ee1edd778f3c.txt",
    UNDATED,
    "004_4d4a022be80d252f.txt",
}
UPLOAD = (
    b" date 2024-02-03 Title: Harbour lighthouse reopens\n\n"
    b"The Port Quillan lighthouse reopened on Saturday after a two-year restoration costing "
    b"4.2 million euros. The mayor, Ines Marchetti, said the lamp is visible for 22 nautical "
    b"miles.\n"
)

# these tests check backends and the API on seed answers the learned reader gives; the
# default reader's seed quality is gated by tests/test_eval_gate.py
LEARNED = {"reader": "learned"}


def parse_sse(text: str) -> list[tuple[str, Any]]:
    """(event, JSON data) pairs of a Server-Sent Events body; comments (pings) skipped."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data:
            raw = "\n".join(data)
            events.append((name, raw if raw == "[DONE]" else json.loads(raw)))
    return events


def assert_error(response: Any, status: int, kind: str, *words: str) -> dict[str, Any]:
    """The status, and the JSON error body {"error": {"type", "message"}} naming `words`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message"}
    assert body["error"]["type"] == kind
    for word in words:
        assert word in body["error"]["message"]
    return dict(body["error"])


@pytest.fixture(scope="session")
def seed_engine(seed_index, real_embedder) -> Engine[Index]:
    return Engine(seed_index.settings.model_copy(update=LEARNED), seed_index, real_embedder)


@pytest.fixture(scope="module")
def client(seed_engine: Engine[Index]) -> Iterator[TestClient]:
    with TestClient(create_app(seed_engine.settings, seed_engine)) as test_client:
        yield test_client


def app_client(engine: Engine[Index], **overrides: Any) -> TestClient:
    """A client of an app over `engine` with some settings changed (the engine is shared)."""
    return TestClient(create_app(engine.settings.model_copy(update=overrides), engine))


@pytest.fixture
def writable(tmp_path: Path, real_embedder) -> Engine[Index]:
    """An engine over its own copy of the seeds, indexed with the real model."""
    from qa.ingest.index import Index

    settings = make_settings(tmp_path)
    index = Index(settings, real_embedder)
    index.ingest()
    return Engine(settings, index, real_embedder)


# -- answers --------------------------------------------------------------------------------


@pytest.mark.parametrize("question", [QUESTION, UNDATED_QUESTION])
def test_ask_cites_file_date_and_the_exact_passage(client: TestClient, question: str) -> None:
    response = client.post("/ask", json={"question": question})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["refused"] is False and answer["backend"] == "extractive"
    assert answer["citations"] and {c["source"] for c in answer["citations"]} <= WAGNER
    for citation in answer["citations"]:
        assert f"[{citation['n']}]" in answer["answer"]
        article = client.get(f"/documents/{citation['source']}").json()
        assert citation["date"] == article["date"]  # null for the undated article
        assert article["text"][citation["start"] : citation["end"]] == citation["quote"]
    if question == UNDATED_QUESTION:
        assert UNDATED in {c["source"] for c in answer["citations"]}


def test_ask_stream_sends_tokens_then_citations_final_done(client: TestClient) -> None:
    response = client.post("/ask/stream", json={"question": QUESTION})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    names = [name for name, _ in events]
    tokens = names.count("token")
    assert tokens >= 1
    shorts = ["short"] if events[-2][1]["short_answer"] else []
    assert names == shorts + ["token"] * tokens + ["citations", "final", "done"]
    final = events[-2][1]
    assert "".join(data["text"] for name, data in events if name == "token") == final["answer"]
    assert events[-3][1] == final["citations"]
    assert {c["source"] for c in final["citations"]} <= WAGNER


def test_llamacpp_backend_streams_verified_sentences(client: TestClient) -> None:
    """SmolLM2 through llama.cpp: whatever it drafts, only verified cited text reaches clients."""
    events = parse_sse(
        client.post("/ask/stream", json={"question": QUESTION, "backend": "llamacpp"}).text
    )
    names = [name for name, _ in events]
    assert names[-3:] == ["citations", "final", "done"] and set(names[:-3]) == {"token"}
    final = events[-2][1]
    assert final["backend"] == "llamacpp"
    assert "".join(data["text"] for name, data in events if name == "token") == final["answer"]
    # a 135M model may cite another retrieved article: verification decides, not the test
    # either the refusal with nothing cited, or an answer with citations
    assert final["refused"] == (final["answer"] == REFUSAL) == (not final["citations"])


def test_ask_stream_refuses_what_the_articles_do_not_say(client: TestClient) -> None:
    events = parse_sse(
        client.post("/ask/stream", json={"question": "What is the boiling point of tungsten?"}).text
    )
    assert [n for n, _ in events] == ["token", "citations", "final", "done"]
    final = events[2][1]
    assert final["refused"] is True and final["answer"] == REFUSAL
    assert final["citations"] == [] and events[1][1] == []


def test_backend_failure_is_an_error_event_and_a_502(client: TestClient) -> None:
    """The openai backend without QA_LLM_BASE_URL fails inside the answer step."""
    body = {"question": QUESTION, "backend": "openai"}
    events = parse_sse(client.post("/ask/stream", json=body).text)
    assert [n for n, _ in events] == ["error", "done"]
    assert events[0][1]["error"]["type"] == "backend_error"
    assert "QA_LLM_BASE_URL" in events[0][1]["error"]["message"]
    assert_error(client.post("/ask", json=body), 502, "backend_error", "QA_LLM_BASE_URL")


def test_follow_up_uses_the_conversation(client: TestClient) -> None:
    first = client.post("/ask", json={"question": QUESTION}).json()
    history = [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": first["answer"]},
    ]
    answer = client.post("/ask", json={"question": "When did they arrive?", "history": history})
    assert answer.status_code == 200
    assert "Wagner" in answer.json()["question"]  # the standalone question borrowed the topic


def test_date_filter_excludes_undated_articles(client: TestClient) -> None:
    body = {"question": QUESTION, "date_from": "2023-08-01", "date_to": "2023-08-31"}
    answer = client.post("/ask", json=body).json()
    assert all(c["date"] and c["date"].startswith("2023-08") for c in answer["citations"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"question": "   "}, "question"),
        ({"question": "x" * 2001}, "question"),
        ({}, "question"),
        ({"question": QUESTION, "top_k": 0}, "top_k"),
        ({"question": QUESTION, "top_k": 51}, "top_k"),
        ({"question": QUESTION, "date_from": "2023-13-45"}, "date_from"),
        ({"question": QUESTION, "date_from": "2023-09-01", "date_to": "2023-08-01"}, "swap"),
        ({"question": QUESTION, "backend": "gpt-9"}, "backend"),
        ({"question": QUESTION, "history": [{"role": "robot", "content": "hi"}]}, "history"),
    ],
)
def test_bad_questions_are_422_with_a_json_error(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    for path in ("/ask", "/ask/stream"):
        assert_error(client.post(path, json=body), 422, "validation_error", field)


def test_malformed_json_and_wrong_content_type_are_422(client: TestClient) -> None:
    headers = {"content-type": "application/json"}
    malformed = client.post("/ask", content=b"{bad", headers=headers)
    assert_error(malformed, 422, "validation_error", "not valid JSON")
    plain = client.post("/ask", content=b"question=hi", headers={"content-type": "text/plain"})
    assert_error(plain, 422, "validation_error")


def test_unknown_paths_and_methods_are_json(client: TestClient) -> None:
    assert_error(client.get("/nope"), 404, "not_found", "/docs")
    assert_error(client.get("/ask"), 405, "method_not_allowed")
    assert_error(client.put("/documents/x.txt"), 405, "method_not_allowed")


# -- documents ------------------------------------------------------------------------------


def test_documents_are_paginated(client: TestClient) -> None:
    pages = [client.get(f"/documents?limit=2&offset={o}").json() for o in (0, 2, 4, 6)]
    assert [len(p["documents"]) for p in pages] == [2, 2, 1, 0]
    assert all(p["total"] == 5 and p["limit"] == 2 for p in pages)
    listed = [d for p in pages for d in p["documents"]]
    assert {d["source"] for d in listed} == SEEDS
    undated = next(d for d in listed if d["source"] == UNDATED)
    assert undated["date"] is None and undated["chunks"] >= 1
    assert_error(client.get("/documents?limit=0"), 422, "validation_error", "limit")
    assert_error(client.get("/documents?offset=-1"), 422, "validation_error", "offset")


def test_document_text_and_metadata(client: TestClient) -> None:
    doc = client.get("/documents/004_4d4a022be80d252f.txt").json()
    assert doc["date"] == "2023-08-06" and doc["title"].startswith("Niger")
    assert "Wagner" in doc["text"]
    assert_error(client.get("/documents/missing.txt"), 404, "not_found_error", "missing.txt")


def test_upload_delete_and_rescan(writable: Engine[Index]) -> None:
    with app_client(writable) as client:
        files = [("files", ("lighthouse.txt", UPLOAD, "text/plain"))]
        added = client.post("/documents", files=files)
        assert added.status_code == 200, added.text
        assert added.json()["added"] == 1 and added.json()["chunks_added"] >= 1
        doc = client.get("/documents/lighthouse.txt").json()
        assert doc["date"] == "2024-02-03" and doc["title"] == "Harbour lighthouse reopens"
        answer = client.post("/ask", json={"question": "How far is the Port Quillan lamp visible?"})
        assert "lighthouse.txt" in {c["source"] for c in answer.json()["citations"]}

        deleted = client.delete("/documents/lighthouse.txt")
        assert deleted.status_code == 200 and deleted.json()["deleted"] == 1
        assert not (writable.settings.corpus_dir / "lighthouse.txt").exists()
        assert_error(client.get("/documents/lighthouse.txt"), 404, "not_found_error")
        assert_error(client.delete("/documents/lighthouse.txt"), 404, "not_found_error")

        (writable.settings.corpus_dir / "dropped.txt").write_bytes(UPLOAD)
        scanned = client.post("/ingest")
        assert scanned.status_code == 200 and scanned.json()["added"] == 1
        assert client.get("/documents").json()["total"] == 6


def test_dump_records_are_addressed_with_an_encoded_hash(writable: Engine[Index]) -> None:
    dump = b'{"id": "a1", "date": "2024-01-05", "title": "Bridge", "text": "The bridge opened."}\n'
    with app_client(writable) as client:
        files = [("files", ("wire.jsonl", dump, "application/json"))]
        assert client.post("/documents", files=files).json()["added"] == 1
        doc = client.get("/documents/wire.jsonl%23a1")
        assert doc.status_code == 200 and doc.json()["source"] == "wire.jsonl#a1"
        assert doc.json()["text"] == "The bridge opened."
        assert_error(client.delete("/documents/wire.jsonl%23a1"), 400, "input_error", "wire.jsonl")


def test_bad_uploads_are_refused_and_change_nothing(writable: Engine[Index]) -> None:
    before = sorted(p.name for p in writable.settings.corpus_dir.iterdir())
    with app_client(writable) as client:
        cases = [
            ("../escape.txt", UPLOAD, "plain file name"),
            ("/etc/passwd.txt", UPLOAD, "plain file name"),
            ("empty.txt", b"", "empty.txt"),
            ("tool.exe", b"MZ\x00\x00", "unsupported"),
        ]
        for name, data, words in cases:
            response = client.post("/documents", files=[("files", (name, data, "text/plain"))])
            assert_error(response, 400, "input_error", words)
        assert_error(client.post("/documents"), 422, "validation_error", "files")
        assert client.get("/documents").json()["total"] == 5
    assert sorted(p.name for p in writable.settings.corpus_dir.iterdir()) == before


def test_rescan_timer_indexes_dropped_files(writable: Engine[Index]) -> None:
    with app_client(writable, rescan_seconds=1) as client:
        (writable.settings.corpus_dir / "dropped.txt").write_bytes(UPLOAD)
        deadline = time.monotonic() + 120
        while client.get("/documents").json()["total"] < 6 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert client.get("/documents/dropped.txt").status_code == 200


# -- service --------------------------------------------------------------------------------


def test_health_readiness_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready == {
        "status": "ready",
        "articles": 5,
        "chunks": ready["chunks"],
        "backend": "extractive",
    }
    assert ready["chunks"] >= 5
    client.post("/ask", json={"question": QUESTION})
    client.post("/ask", json={"question": "What is the boiling point of tungsten?"})
    client.get("/nope")
    text = client.get("/metrics").text
    assert 'qa_http_requests_total{endpoint="/ask",method="POST",status="200"}' in text
    assert 'qa_http_requests_total{endpoint="unmatched",method="GET",status="404"}' in text
    assert 'qa_http_request_duration_seconds_count{endpoint="/ask",method="POST"}' in text
    refused = [line for line in text.splitlines() if line.startswith("qa_answers_refused_total")]
    assert refused and float(refused[0].split()[-1]) >= 1
    assert "qa_sentences_dropped_total" in text


def test_chat_page_is_served_offline_with_a_strict_policy(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for asset in ("/static/app.js", "/static/app.css"):
        assert asset in page.text
        body = client.get(asset).text
        assert "http://" not in body and "https://" not in body  # no CDN
    assert "innerHTML" not in client.get("/static/app.js").text
    assert client.get("/openapi.json").json()["info"]["title"] == "news-qa"


def test_interactive_docs_work_offline(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    assert scripts and all(src.startswith("/") for src in scripts)  # nothing from a CDN
    for src in scripts:
        assert client.get(src).status_code == 200


def test_body_over_the_limit_is_413(seed_engine: Engine[Index]) -> None:
    with app_client(seed_engine, max_body_bytes=2048) as client:
        big = {"question": QUESTION, "history": [{"role": "user", "content": "x" * 3000}]}
        assert_error(client.post("/ask", json=big), 413, "request_entity_too_large", "2048")

        def chunked() -> Iterator[bytes]:  # no content-length: counted while reading
            yield b'{"question": "' + b"y" * 3000 + b'"}'

        response = client.post(
            "/ask", content=chunked(), headers={"content-type": "application/json"}
        )
        assert_error(response, 413, "request_entity_too_large")


def test_api_key_guards_writes_and_optionally_reads(seed_engine: Engine[Index]) -> None:
    with app_client(seed_engine, api_key="s3cret") as client:
        refused = client.post("/ingest")
        assert_error(refused, 401, "unauthorized", "Authorization")
        assert refused.headers["www-authenticate"] == "Bearer"
        assert_error(
            client.delete("/documents/x.txt", headers={"X-API-Key": "wrong"}), 401, "unauthorized"
        )
        assert client.get("/documents").status_code == 200
        # with the key, the request gets past the guard (to the upload check: nothing is written)
        bad = [("files", ("../x.txt", b"text", "text/plain"))]
        key = {"Authorization": "Bearer s3cret"}
        assert_error(client.post("/documents", files=bad, headers=key), 400, "input_error")
    with app_client(seed_engine, api_key="s3cret", api_key_required_for_read=True) as client:
        assert_error(client.get("/documents"), 401, "unauthorized")
        assert client.get("/documents", headers={"X-API-Key": "s3cret"}).status_code == 200
        assert client.get("/healthz").status_code == 200
        assert client.get("/").status_code == 200


def test_cors_is_closed_unless_origins_are_configured(
    client: TestClient, seed_engine: Engine[Index]
) -> None:
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in client.options("/ask", headers=preflight).headers
    with app_client(seed_engine, cors_origins=["https://ok.example"]) as allowed:
        headers = {**preflight, "Origin": "https://ok.example"}
        response = allowed.options("/ask", headers=headers)
        assert response.headers["access-control-allow-origin"] == "https://ok.example"
