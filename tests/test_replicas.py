"""Three `qa serve` replicas for real: a throwaway PostgreSQL cluster (records and catalog), a
Redis server (the shared rate limit), a Chroma server (vectors), one `qa ingest` job, all on
loopback ports, sharing the corpus folder and the BM25 folder as a shared volume would.

Skipped only when the PostgreSQL or Redis binaries are missing (.ci/run installs them).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import SEEDS, free_port, running_process

pytestmark = [pytest.mark.slow, pytest.mark.integration]

BIN = Path(sys.executable).parent
UPLOAD = "zorblat_footbridge.txt"
ARTICLE = (
    "date 2024-03-05 Title: Zorblat footbridge reopens in Quito\n"
    "The Zorblat footbridge in Quito reopened on 4 March 2024 after fourteen months of "
    "repairs, the city council said.\n\n"
    "Engineers replaced the cables of the Zorblat footbridge, which carries 9,000 people a day.\n"
)
QUESTION = "When did the Zorblat footbridge in Quito reopen?"
LIMIT = 30  # per client and minute, counted across the replicas


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


INITDB, POSTGRES, REDIS = _pg_bin("initdb"), _pg_bin("postgres"), shutil.which("redis-server")
missing = [
    n for n, b in (("initdb", INITDB), ("postgres", POSTGRES), ("redis-server", REDIS)) if not b
]
if missing:
    pytestmark.append(
        pytest.mark.skip(
            reason=f"{', '.join(missing)} not installed "
            "(apt-get install postgresql redis-server; .ci/run does)"
        )
    )


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


_ip = iter(range(1, 1_000_000))


def _client_ip() -> str:
    """A fresh client address per request (X-Forwarded-For, trusted from 127.0.0.1), so only
    the rate-limit check meets the limit."""
    n = next(_ip)
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def post_ask(url: str, question: str = QUESTION, timeout: float = 120) -> httpx.Response:
    return httpx.post(
        f"{url}/ask",
        json={"question": question},
        headers={"X-Forwarded-For": _client_ip()},
        timeout=timeout,
    )


def cites(url: str, source: str) -> bool:
    response = post_ask(url)
    assert response.status_code == 200, response.text
    return any(c["source"] == source for c in response.json()["citations"])


def listed(url: str, source: str) -> bool:
    response = httpx.get(f"{url}/documents", params={"limit": 200}, timeout=30)
    assert response.status_code == 200, response.text
    return any(d["source"] == source for d in response.json()["documents"])


def within(seconds: float, check: Callable[[], bool]) -> float:
    """How long until `check()` holds; fails after `seconds`."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, f"not within {seconds} s"
        time.sleep(0.2)
    return time.monotonic() - started


def _postgres(stack: ExitStack) -> str:
    """A fresh cluster in a temporary folder; as `nobody` when run as root (initdb refuses)."""
    assert INITDB and POSTGRES
    home = Path(tempfile.mkdtemp(prefix="qa-pg-"))  # under /tmp: `nobody` can reach it
    stack.callback(shutil.rmtree, home, ignore_errors=True)
    data, sockets = home / "data", home / "sockets"
    data.mkdir()
    sockets.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("nobody")
        for path in (home, data, sockets):
            os.chown(path, user.pw_uid, user.pw_gid)
        as_user = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]
    subprocess.run(
        [*as_user, INITDB, "-D", str(data), "-U", "qa", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_port()
    command = [*as_user, POSTGRES, "-D", str(data), "-p", str(port), "-k", str(sockets)]
    command += ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]
    stack.enter_context(running_process(command, home / "pg.log", lambda: _port_open(port), 60))
    return f"postgresql+psycopg://qa@127.0.0.1:{port}/postgres"


def _redis(stack: ExitStack, folder: Path) -> str:
    assert REDIS
    port = free_port()
    command = [
        REDIS,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--dir",
        str(folder),
    ]
    stack.enter_context(
        running_process(command, folder / "redis.log", lambda: _port_open(port), 30)
    )
    return f"redis://127.0.0.1:{port}/0"


def _chroma(stack: ExitStack, folder: Path) -> str:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(BIN / "chroma"), "run", "--path", str(folder / "chroma"), "--host", "127.0.0.1"]
    command += ["--port", str(port)]

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    stack.enter_context(running_process(command, folder / "chroma.log", ready, 60))
    return url


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


class Replicas:
    def __init__(self, env: dict[str, str], envs: list[dict[str, str]], folder: Path) -> None:
        self.env, self.folder = env, folder
        self.urls: list[str] = []
        self.procs: list[subprocess.Popen[bytes]] = []
        for n, own in enumerate(envs):
            port = free_port()
            log = (folder / f"serve{n + 1}.log").open("wb")
            command = [str(BIN / "qa"), "serve", "--port", str(port)]
            self.procs.append(
                subprocess.Popen(command, env={**env, **own}, stdout=log, stderr=subprocess.STDOUT)
            )
            self.urls.append(f"http://127.0.0.1:{port}")

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for n, url in enumerate(self.urls):
            while not _ready(url):
                if self.procs[n].poll() is not None or time.monotonic() > deadline:
                    log = (self.folder / f"serve{n + 1}.log").read_text(errors="replace")
                    pytest.fail(f"replica {n + 1} not ready:\n{log[-2000:]}")
                time.sleep(0.5)

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("replicas")
    corpus = folder / "corpus"
    shutil.copytree(SEEDS, corpus)
    with ExitStack() as stack:
        env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
        env.update(
            QA_CORPUS_DIR=str(corpus),
            QA_INDEX_DIR=str(folder / "index"),  # BM25 and the ingest lock: the shared volume
            QA_RECORD_DB_URL=_postgres(stack),
            QA_CHROMA_URL=_chroma(stack, folder),
            QA_COLLECTION="replicas",
            QA_RATE_LIMIT=f"{LIMIT}/minute",
            QA_RATE_LIMIT_STORAGE=_redis(stack, folder),
            QA_MAX_CONCURRENCY="8",
            # what is shared is under test, not the reader: the learned reader loads in a
            # fraction of the neural one's time (three replicas start at once on shared CPUs)
            QA_READER="learned",
            QA_NEWER_REPORTS="false",
        )
        ingest = subprocess.run(
            [str(BIN / "qa"), "ingest"], env=env, capture_output=True, text=True, timeout=600
        )
        assert ingest.returncode == 0, ingest.stderr[-2000:]
        replicas = Replicas(env, [{}, {}, {}], folder)
        stack.callback(replicas.stop)
        replicas.wait_ready(timeout=600)
        yield {"env": env, "replicas": replicas, "folder": folder}


def test_an_upload_through_one_replica_is_answered_by_the_others(stack: dict[str, Any]) -> None:
    one, two, three = stack["replicas"].urls
    assert not cites(two, UPLOAD)
    response = httpx.post(
        f"{one}/documents",
        files={"files": (UPLOAD, ARTICLE.encode(), "text/plain")},
        headers={"X-Forwarded-For": _client_ip()},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    assert response.json()["added"] == 1
    for url in (two, three):  # a Chroma server, one catalog, BM25 reloaded on its version
        within(10, lambda u=url: cites(u, UPLOAD))  # type: ignore[misc]
        assert listed(url, UPLOAD)


def test_a_delete_through_one_replica_disappears_everywhere(stack: dict[str, Any]) -> None:
    one, two, three = stack["replicas"].urls
    if not listed(one, UPLOAD):
        pytest.skip("needs the upload of the test before")
    response = httpx.delete(
        f"{two}/documents/{UPLOAD}", headers={"X-Forwarded-For": _client_ip()}, timeout=120
    )
    assert response.status_code == 200, response.text
    for url in (one, three):
        within(10, lambda u=url: not listed(u, UPLOAD) and not cites(u, UPLOAD))  # type: ignore[misc]


def test_the_rate_limit_counts_across_replicas(stack: dict[str, Any]) -> None:
    urls = stack["replicas"].urls
    statuses: Counter[int] = Counter()
    for n in range(LIMIT + 15):  # one client, round robin; a bad body is cheap but counted
        response = httpx.post(
            f"{urls[n % 3]}/ask", json={}, headers={"X-Forwarded-For": "203.0.113.7"}, timeout=30
        )
        statuses[response.status_code] += 1
    assert statuses == {422: LIMIT, 429: 15}  # per-process counts would admit 3 x LIMIT


def test_qa_verify_is_clean_against_postgresql(stack: dict[str, Any]) -> None:
    result = subprocess.run(
        [str(BIN / "qa"), "verify"], env=stack["env"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "consistent" in result.stdout


def test_a_killed_replica_leaves_the_others_without_errors(stack: dict[str, Any]) -> None:
    """Eight clients round-robin over the three replicas; replica 3 is SIGKILLed mid-way."""
    replicas = stack["replicas"]
    urls = replicas.urls
    questions = ["Who leads the junta in Niger?", "What did the central bank decide?", QUESTION]
    killed_at: list[float] = []
    results: list[tuple[int, float, bool]] = []  # replica, end time, ok
    lock = threading.Lock()
    stop = time.monotonic() + 12

    def client(tid: int) -> None:
        n = tid
        while time.monotonic() < stop:
            target = n % 3
            n += 1
            try:
                ok = post_ask(urls[target], questions[n % 3], timeout=60).status_code == 200
            except httpx.HTTPError:
                ok = False
            with lock:
                results.append((target, time.monotonic(), ok))

    threads = [threading.Thread(target=client, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(4)
    replicas.procs[2].kill()  # SIGKILL
    killed_at.append(time.monotonic())
    for thread in threads:
        thread.join()
    survivors = [r for r in results if r[0] != 2]
    errors = [r for r in survivors if not r[2]]
    after = [r for r in survivors if r[1] > killed_at[0]]
    assert not errors, f"{len(errors)} errors on replicas 1 and 2 of {len(survivors)} requests"
    assert {r[0] for r in after} == {0, 1}  # both kept answering after the kill
