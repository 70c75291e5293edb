"""Bad input, access control and limits of the HTTP service, against the real engine and index.

Every refused request must answer a clear 4xx JSON error and leave the index as it was:
same chunk ids in Chroma, same catalog rows, same files in the corpus folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qa.answer.engine import Engine
from qa.answer.generators.chat import ChatGenerator
from qa.api import create_app, server_config
from qa.api.ratelimit import Rate, parse_rate
from qa.config import Settings
from qa.errors import InputError
from qa.ingest.index import Index
from tests.conftest import free_port, make_settings

pytestmark = pytest.mark.slow

QUESTION = "Which general visited Mali to meet Wagner?"
SEED = "000_cd0023486d4bb650.txt"
ARTICLE = b"Title: Harbour news\n\nThe Port Quillan lighthouse reopened on Saturday.\n"


def assert_error(response: Any, status: int, kind: str, *words: str) -> str:
    """The status and the JSON error body {"error": {"type", "message"}}; returns the message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message"}
    assert body["error"]["type"] == kind, body
    for word in words:
        assert word in body["error"]["message"]
    return str(body["error"]["message"])


def snapshot(engine: Engine[Index]) -> tuple[Any, ...]:
    """What a refused request must not change: chunk ids, catalog rows, corpus and its parent."""
    root = engine.settings.corpus_dir
    return (
        sorted(c.chunk_id for c in engine.index.store.iter_all()),
        sorted(engine.index.catalog.rows().values(), key=lambda r: r.source),
        sorted(str(p.relative_to(root)) for p in root.rglob("*")),
        sorted(p.name for p in root.parent.iterdir()),
    )


def build_engine(tmp: Path, embedder: Any, **overrides: Any) -> Engine[Index]:
    settings = make_settings(tmp, **overrides)
    index = Index(settings, embedder)
    index.ingest()
    return Engine(settings, index, embedder)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, real_embedder: Any) -> Engine[Index]:
    """One writable index over a private copy of the seeds: refused requests never change it."""
    return build_engine(tmp_path_factory.mktemp("hardening"), real_embedder)


@pytest.fixture(scope="module")
def client(engine: Engine[Index]) -> Iterator[TestClient]:
    with TestClient(create_app(engine.settings, engine)) as test_client:
        yield test_client


def app_client(engine: Engine[Index], **overrides: Any) -> TestClient:
    return TestClient(create_app(engine.settings.model_copy(update=overrides), engine))


# -- bad input: 4xx, and nothing changes ----------------------------------------------------

BAD_ASKS = [
    ({"question": ""}, "question"),
    ({"question": "   \n\t "}, "question"),
    ({"question": "why " * 600}, "question"),
    ({"question": QUESTION, "top_k": 0}, "top_k"),
    ({"question": QUESTION, "top_k": 51}, "top_k"),
    ({"question": QUESTION, "date_from": "2023-02-30"}, "date_from"),
    ({"question": QUESTION, "date_to": "yesterday"}, "date_to"),
    ({"question": QUESTION, "date_from": "2024-05-01", "date_to": "2024-01-01"}, "swap"),
    ({"question": QUESTION, "backend": "gpt-99"}, "backend"),
]


@pytest.mark.parametrize("path", ["/ask", "/ask/stream"])
@pytest.mark.parametrize(("body", "named"), BAD_ASKS)
def test_bad_questions_are_422_and_change_nothing(
    client: TestClient, engine: Engine[Index], path: str, body: dict[str, Any], named: str
) -> None:
    before = snapshot(engine)
    assert_error(client.post(path, json=body), 422, "validation_error", named)
    assert snapshot(engine) == before


def test_malformed_json_and_wrong_content_type_are_422(
    client: TestClient, engine: Engine[Index]
) -> None:
    before = snapshot(engine)
    headers = {"content-type": "application/json"}
    broken = client.post("/ask", content=b'{"question": "Mali?"', headers=headers)
    assert_error(broken, 422, "validation_error", "not valid JSON")
    plain = client.post("/ask", content=QUESTION, headers={"content-type": "text/plain"})
    assert_error(plain, 422, "validation_error")
    assert snapshot(engine) == before


def test_body_over_the_size_limit_is_413(engine: Engine[Index]) -> None:
    before = snapshot(engine)
    with app_client(engine, max_body_bytes=2048) as small:
        big = {"question": QUESTION, "history": [{"role": "user", "content": "x" * 4000}]}
        assert_error(small.post("/ask", json=big), 413, "request_entity_too_large", "2048")
        upload = {"files": ("big.txt", b"Title: Big\n\n" + b"word " * 1000, "text/plain")}
        assert_error(small.post("/documents", files=upload), 413, "request_entity_too_large")
    assert snapshot(engine) == before


BAD_UPLOADS = [
    ("empty.txt", b"", "empty"),
    ("blob.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20, "binary"),
    ("huge.txt", b"Title: Huge\n\n" + b"word " * 2000, "limit"),
    ("../evil.txt", ARTICLE, "plain file name"),
    ("/etc/passwd.txt", ARTICLE, "plain file name"),
    ("a/b.txt", ARTICLE, "plain file name"),
    (".hidden.txt", ARTICLE, "plain file name"),
    ("article.exe", ARTICLE, "unsupported"),
]


@pytest.mark.parametrize(("name", "data", "named"), BAD_UPLOADS)
def test_bad_uploads_are_400_and_write_nothing(
    engine: Engine[Index], name: str, data: bytes, named: str
) -> None:
    before = snapshot(engine)
    with app_client(engine, max_upload_bytes=4096) as small:
        response = small.post("/documents", files={"files": (name, data, "text/plain")})
    assert_error(response, 400, "input_error", named)
    assert snapshot(engine) == before
    assert not Path("/etc/passwd.txt").exists()


def test_one_bad_file_rejects_the_whole_upload(client: TestClient, engine: Engine[Index]) -> None:
    before = snapshot(engine)
    files = [
        ("files", ("good.txt", ARTICLE, "text/plain")),
        ("files", ("bad.txt", b"", "text/plain")),
    ]
    assert_error(client.post("/documents", files=files), 400, "input_error", "bad.txt")
    assert snapshot(engine) == before


def test_deleting_a_missing_document_is_404(client: TestClient, engine: Engine[Index]) -> None:
    before = snapshot(engine)
    assert_error(client.delete("/documents/no-such.txt"), 404, "not_found_error", "no-such.txt")
    assert_error(client.delete("/documents/..%2Fseeds%2Fx.txt"), 404, "not_found_error", "..")
    assert snapshot(engine) == before


def test_non_utf8_upload_is_indexed_with_replacement(tmp_path: Path, real_embedder: Any) -> None:
    """Issue 4: a non-UTF-8 file is decoded with replacement characters and reported, not lost."""
    engine = build_engine(tmp_path, real_embedder)
    text = "Title: Café news\n\nThe café in Port Quillan reopened on Saturday.\n"
    with TestClient(create_app(engine.settings, engine)) as client:
        response = client.post(
            "/documents", files={"files": ("latin1.txt", text.encode("latin-1"))}
        )
        assert response.status_code == 200, response.text
        summary = response.json()
        assert summary["added"] == 1
        assert any("UTF-8" in p["message"] for p in summary["problems"])
        stored = client.get("/documents/latin1.txt").json()
    assert stored["title"] == "Caf\ufffd news"  # the `Title:` line is the article's title
    assert "caf\ufffd" in stored["text"] and "Port Quillan" in stored["text"]
    assert (engine.settings.corpus_dir / "latin1.txt").is_file()


# -- access ---------------------------------------------------------------------------------


def test_api_key_guards_writes_and_optionally_reads(engine: Engine[Index]) -> None:
    before = snapshot(engine)
    with app_client(engine, api_key="s3cret") as keyed:
        assert_error(keyed.post("/ingest"), 401, "unauthorized", "API key")
        wrong = {"Authorization": "Bearer nope"}
        assert_error(keyed.delete(f"/documents/{SEED}", headers=wrong), 401, "unauthorized")
        upload = {"files": ("new.txt", ARTICLE, "text/plain")}
        assert_error(keyed.post("/documents", files=upload), 401, "unauthorized")
        assert snapshot(engine) == before
        assert keyed.get("/documents").status_code == 200  # reads stay open
        assert keyed.post("/ingest", headers={"X-API-Key": "s3cret"}).status_code == 200
        assert keyed.post("/ingest", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    with app_client(engine, api_key="s3cret", api_key_required_for_read=True) as closed:
        assert_error(closed.get("/documents"), 401, "unauthorized")
        assert_error(closed.post("/ask", json={"question": QUESTION}), 401, "unauthorized")
        assert_error(closed.get("/documents", headers={"X-API-Key": "nope"}), 401, "unauthorized")
        assert closed.get("/documents", headers={"X-API-Key": "s3cret"}).status_code == 200
        assert closed.get("/healthz").status_code == 200
    assert snapshot(engine) == before


def test_cors_is_closed_by_default_and_opens_to_configured_origins(engine: Engine[Index]) -> None:
    foreign = {"Origin": "https://evil.example"}
    with app_client(engine) as default:
        response = default.get("/documents", headers=foreign)
        assert response.status_code == 200
        assert "access-control-allow-origin" not in response.headers
        preflight = default.options(
            "/ask", headers={**foreign, "Access-Control-Request-Method": "POST"}
        )
        assert "access-control-allow-origin" not in preflight.headers
    with app_client(engine, cors_origins=["https://app.example"]) as open_:
        allowed = open_.get("/documents", headers={"Origin": "https://app.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        assert "access-control-allow-origin" not in open_.get("/documents", headers=foreign).headers


# -- limits ---------------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after(engine: Engine[Index]) -> None:
    with app_client(engine, rate_limit="3/minute") as limited:
        for _ in range(3):  # counted before validation: a 422 costs a hit too
            assert limited.post("/ask", json={"question": " "}).status_code == 422
        response = limited.post("/ask", json={"question": QUESTION})
        assert_error(response, 429, "too_many_requests", "3/minute", "QA_RATE_LIMIT")
        assert 1 <= int(response.headers["retry-after"]) <= 60
        assert_error(limited.post("/v1/chat/completions", json={}), 429, "too_many_requests")
        assert_error(limited.post("/ingest"), 429, "too_many_requests")  # a write
        for path in ("/healthz", "/readyz", "/documents", "/metrics", "/"):  # reads are free
            assert limited.get(path).status_code == 200, path
    with app_client(engine, rate_limit="0") as unlimited:
        blank = {"question": " "}
        assert all(unlimited.post("/ask", json=blank).status_code == 422 for _ in range(10))


@pytest.mark.parametrize("text", ["60", "60 per minute", "-1/minute", "0/minute", "5/fortnight"])
def test_bad_rate_limit_fails_at_startup(engine: Engine[Index], text: str) -> None:
    with pytest.raises(InputError, match="QA_RATE_LIMIT"):
        create_app(engine.settings.model_copy(update={"rate_limit": text}), engine)


def test_rate_limit_parses_units() -> None:
    assert parse_rate("0") is None
    assert parse_rate("60/minute") == Rate(60, 60.0)
    assert parse_rate(" 5 / seconds ") == Rate(5, 1.0)
    assert Settings().rate_limit == "60/minute"


def test_unreachable_llm_is_a_clear_502(engine: Engine[Index], real_embedder: Any) -> None:
    settings = engine.settings.model_copy(
        update={"llm_base_url": f"http://127.0.0.1:{free_port()}/v1", "llm_timeout_s": 5.0}
    )
    offline = Engine(settings, engine.index, real_embedder)
    with TestClient(create_app(settings, offline)) as client:
        response = client.post("/ask", json={"question": QUESTION, "backend": "openai"})
        assert_error(response, 502, "backend_error", "openai")
        assert client.get("/healthz").status_code == 200  # the service survives


def test_llm_token_cap_and_timeout_reach_the_model(
    engine: Engine[Index], real_embedder: Any
) -> None:
    update = {"llm_max_tokens": 48, "llm_timeout_s": 7.0, "llm_base_url": "http://127.0.0.1:9/v1"}
    settings = engine.settings.model_copy(update=update)
    generator = Engine(settings, engine.index, real_embedder).generator("openai")
    assert isinstance(generator, ChatGenerator)
    model = generator.connect()  # builds the client; nothing is sent
    assert model.max_tokens == 48  # type: ignore[attr-defined]
    assert model.request_timeout == 7.0  # type: ignore[attr-defined]
    assert generator.timeout_s == 7.0


def test_service_binds_to_loopback_by_default() -> None:
    assert Settings().host == "127.0.0.1"
    config = server_config(Settings())
    assert config.host == "127.0.0.1"
    assert server_config(Settings(), host="0.0.0.0").host == "0.0.0.0"
