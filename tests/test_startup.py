"""What the service does before it says it is ready: refuse a missing index (or build it when
told to), and load everything the first answer needs, so that `/readyz` means warm."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from qa.api import create_app
from qa.errors import IndexStateError
from tests.conftest import ROOT, SEEDS, free_port, make_settings, running_process

QUESTION = "Which general visited Mali to meet Wagner?"
LATER = [  # asked after the first, for the timings the test prints
    "When did Wagner arrive in Mali?",
    "How many soldiers does France have in Niger?",
    "Who leads Niger's junta?",
    "What did Chad say about military action?",
]


def test_the_service_refuses_to_start_on_a_missing_index_and_creates_nothing(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    app = create_app(settings)
    missing = r"no index at .*index: run `qa ingest` first"
    with pytest.raises(IndexStateError, match=missing), TestClient(app):
        pass
    assert not settings.index_dir.exists()


@pytest.mark.slow  # the real model, in a real `qa serve`
def test_serve_ingest_builds_a_missing_index_then_serves_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("002_e3a0ee1edd778f3c.txt", "004_4d4a022be80d252f.txt"):
        (corpus / name).write_bytes((SEEDS / name).read_bytes())
    port = free_port()
    monkeypatch.setenv("QA_CORPUS_DIR", str(corpus))  # the server process inherits them
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "index"))
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{base}/readyz", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    qa = str(ROOT / ".venv" / "bin" / "qa")
    command = [qa, "serve", "--ingest", "--port", str(port)]
    with running_process(command, tmp_path / "serve.log", ready, timeout=300):
        assert httpx.get(f"{base}/readyz", timeout=5).json()["articles"] == 2
        answer = httpx.post(f"{base}/ask", json={"question": QUESTION}, timeout=120).json()
    assert not answer["refused"]
    assert {c["source"] for c in answer["citations"]} == {"004_4d4a022be80d252f.txt"}


# Run in a fresh interpreter, so that nothing is loaded but what the service's startup loads.
# After startup it records, through Python's audit hooks, every module imported and every
# file opened while the first question is answered: a lazy loader (the embedding model, BM25,
# spaCy, a reader's weights, a backend's model) imports or opens something when it loads.
# Not loads: an import that fails (thinc probes for optional packages on every call), and
# Python source read by `inspect` (FastAPI looks at an endpoint's source on its first call).
FIRST_ASK = r"""
import json, sys
from fastapi.testclient import TestClient
from qa.api import create_app
from qa.config import Settings

settings = Settings(corpus_dir=sys.argv[1], index_dir=sys.argv[2], rate_limit="0")
seen, armed = [], False

def record(event, args):
    if armed and (event == "import" or event == "open" and not str(args[0]).endswith(".py")):
        seen.append((event, str(args[0])))

sys.addaudithook(record)
with TestClient(create_app(settings)) as client:  # the service's startup, warm-up included
    engine = client.app.state.engine
    loads = lambda: getattr(engine.embedder.inner, "loads", "no counter")
    before, lexical = loads(), engine.index._lexical
    armed = True
    first = client.post("/ask", json={"question": sys.argv[3]}).json()
    armed = False
    later = [client.post("/ask", json={"question": q}).json() for q in sys.argv[4:]]
    print(json.dumps({
        "loaded_by_first_ask": [f"{e} {a}" for e, a in seen if e == "open" or a in sys.modules],
        "model_loads": [before, loads()],
        "bm25_reloaded": engine.index._lexical is not lexical,
        "first": first,
        "later_ms": [a["timings_ms"]["total"] for a in later],
    }))
"""


@pytest.mark.slow  # the real model, spaCy and the reader in a fresh interpreter
def test_the_first_answer_after_startup_loads_nothing(seed_index) -> None:
    folders = [str(seed_index.settings.corpus_dir), str(seed_index.settings.index_dir)]
    run = subprocess.run(
        [sys.executable, "-c", FIRST_ASK, *folders, QUESTION, *LATER],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["model_loads"] == [1, 1]  # loaded once, by the warm-up
    assert not result["bm25_reloaded"]
    assert result["loaded_by_first_ask"] == []
    first = result["first"]
    assert not first["refused"] and first["citations"]
    print("first ask ms:", first["timings_ms"], "later totals ms:", result["later_ms"])
