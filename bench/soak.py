"""Soak (issue 27): a real `qa serve` on loopback under mixed load, killed once and restarted.

    .venv/bin/python bench/soak.py [--minutes 10] [--clients 8] [--feed-entries 10000]

In one run, for `--minutes`:
  - the seeds copied to a temporary corpus, indexed into a temporary index (`qa ingest`), then
    `qa serve` with an API key, the rate limit off and QA_FEEDS pointing at
  - a loopback feed server (allowed by QA_FETCH_ALLOW) serving one RSS feed of
    `--feed-entries` entries that changes every `--feed-change-s` s (`--feed-new` new entries
    replace the oldest); the service polls it every `--feed-change-s` s;
  - `--clients` threads asking the seed questions through /ask, /ask/stream and
    /v1/chat/completions in turn, one thread uploading articles and deleting some of them
    (with the key), a /healthz probe every 0.5 s and a /readyz monitor every 5 s;
  - at `--kill-at` of the run, SIGKILL of the service and a restart on the same index.
Then: every upload still present is listed and readable (and how many of them a question
about them is answered from is counted), every deleted one is gone (not listed, 404, never
cited), every upload whose reply was lost is all there or all gone; the service is stopped
(SIGTERM) and `qa verify` is run on the index.

Records requests by endpoint and status, 5xx (must be 0), malformed answers (must be 0),
connection errors inside the killed window (kill until ready again) and outside it (must be 0),
p50/p95 of /ask and /healthz, feed polls ok/failed; prints a table, writes JSON to
bench/results/soak.json, and exits 1 when a must-be-zero count is not, or verify is not clean.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from common import RESULTS, ROOT, latency_ms, machine, print_table, write_json

SYLLABLES = ["ka", "lo", "mi", "ren", "to", "va", "shu", "bel", "dor", "nia", "pe", "quo", "zan"]
SPECIES = ["puffins", "gannets", "terns", "kittiwakes", "cormorants", "fulmars", "razorbills"]


def word(n: int, parts: int = 3) -> str:
    """A made-up proper name per number (words differ, not only digits, so no near-duplicates)."""
    out = []
    for _ in range(parts):
        out.append(SYLLABLES[n % len(SYLLABLES)])
        n //= len(SYLLABLES)
    return "".join(out).capitalize()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------- the feed server


class Feed:
    """An RSS feed of `size` entries; every `change_s` the `new` oldest give way to new ones."""

    def __init__(self, size: int, new: int, change_s: float) -> None:
        self.size, self.new, self.change_s = size, new, change_s
        self.started = time.monotonic()
        self.cache: tuple[int, bytes] | None = None
        self.lock = threading.Lock()
        self.frozen: int | None = None
        self.served: Counter[int] = Counter()

    def generation(self) -> int:
        if self.frozen is not None:
            return self.frozen
        return int((time.monotonic() - self.started) // self.change_s)

    def entry(self, i: int, base: str) -> str:
        town, keeper = word(i, 4), word(i * 7 + 3, 3)
        day = time.gmtime(time.time() - 86400 * (1 + i % 300))
        when = format_datetime(_utc(day), usegmt=True)
        text = (
            f"The harbour office of {town} said on Tuesday that {keeper}, its pilot, guided "
            f"{i % 90 + 10} cargo ships through the {word(i + 11, 2)} channel this month, "
            f"more than in any month since the {word(i + 5, 2)} bridge reopened to traffic."
        )
        return (
            f"<item><title>{town} harbour report {i}</title><link>{base}/e/{i}</link>"
            f'<guid isPermaLink="false">soak-{i}</guid><pubDate>{when}</pubDate>'
            f"<description>{town} harbour</description>"
            f"<content:encoded><![CDATA[<p>{text}</p>]]></content:encoded></item>"
        )

    def body(self, base: str) -> bytes:
        gen = self.generation()
        with self.lock:
            if self.cache is None or self.cache[0] != gen:
                first = gen * self.new
                items = "".join(self.entry(i, base) for i in range(first + self.size, first, -1))
                xml = (
                    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
                    'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
                    f"<title>Soak feed</title><link>{base}/</link><description>soak"
                    f"</description>{items}</channel></rss>"
                )
                self.cache = (gen, xml.encode())
            self.served[gen] += 1
            return self.cache[1]


def _utc(t: time.struct_time) -> Any:
    import datetime as dt

    return dt.datetime(t.tm_year, t.tm_mon, t.tm_mday, 8, 0, tzinfo=dt.UTC)


def feed_server(feed: Feed) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            base = f"http://127.0.0.1:{self.server.server_address[1]}"  # type: ignore[index]
            body = feed.body(base) if self.path == "/feed.xml" else b"<p>gone</p>"
            self.send_response(200 if self.path == "/feed.xml" else 404)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# ---------------------------------------------------------------- the service


@dataclass
class Service:
    env: dict[str, str]
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    down: list[list[float]] = field(default_factory=list)  # [killed at, ready again at]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        qa = str(Path(sys.executable).parent / "qa")
        with self.log.open("ab") as handle:
            self.proc = subprocess.Popen(
                [qa, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the service exited with {self.proc.returncode}; see {self.log}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise SystemExit("the service did not become ready in 300 s")

    def kill_and_restart(self) -> None:
        assert self.proc is not None
        window = [time.monotonic(), 0.0]
        self.down.append(window)
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.start()
        window[1] = time.monotonic()

    def in_window(self, t: float) -> bool:
        return any(a - 1 <= t <= (b or float("inf")) + 1 for a, b in self.down)

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


# ---------------------------------------------------------------- the clients


class Record:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.lock = threading.Lock()
        self.status: Counter[str] = Counter()  # "endpoint status"
        self.latency: dict[str, list[float]] = {}
        self.conn_in_window: Counter[str] = Counter()
        self.conn_outside: list[str] = []
        self.server_errors: list[str] = []
        self.malformed: list[str] = []
        self.last_error: dict[int, str] = {}  # thread -> its last transport error

    def add(self, endpoint: str, status: str, started: float, detail: str = "") -> None:
        took = time.monotonic() - started
        with self.lock:
            self.status[f"{endpoint} {status}"] += 1
            if status == "200":
                self.latency.setdefault(endpoint, []).append(took)
            if status.startswith("5"):
                self.server_errors.append(f"{endpoint} {status} {detail[:300]}")
            if status == "malformed":
                self.malformed.append(f"{endpoint} {detail[:300]}")
            if not status.isdigit() and status != "malformed":
                if self.service.in_window(time.monotonic()) or self.service.in_window(started):
                    self.conn_in_window[f"{endpoint} {status}"] += 1
                else:
                    self.conn_outside.append(f"{endpoint} {status} {detail[:200]}")


def call(rec: Record, client: httpx.Client, endpoint: str, method: str, url: str,
         check: Any = None, **kw: Any) -> httpx.Response | None:  # fmt: skip
    started = time.monotonic()
    try:
        reply = client.request(method, url, **kw)
    except httpx.HTTPError as exc:
        rec.last_error[threading.get_ident()] = type(exc).__name__
        rec.add(endpoint, type(exc).__name__, started, str(exc))
        return None
    status = str(reply.status_code)
    if reply.status_code == 200 and check is not None and (why := check(reply)):
        status = "malformed"
        rec.add(endpoint, status, started, why)
    else:
        rec.add(endpoint, status, started, reply.text)
    return reply


def check_answer(body: Any) -> str | None:
    if not isinstance(body.get("answer"), str) or not isinstance(body.get("citations"), list):
        return f"no answer/citations: {str(body)[:200]}"
    if not body["refused"] and not body["citations"]:
        return "an answer without citations"
    return None


def check_ask(reply: httpx.Response) -> str | None:
    return check_answer(reply.json())


def check_stream(reply: httpx.Response) -> str | None:
    events = [line[7:].strip() for line in reply.text.splitlines() if line.startswith("event:")]
    datas = [line[5:].strip() for line in reply.text.splitlines() if line.startswith("data:")]
    if "error" in events or events[-1:] != ["done"] or "final" not in events:
        return f"events {events[-5:]}"
    return check_answer(json.loads(datas[events.index("final")]))


def check_chat(reply: httpx.Response) -> str | None:
    content = reply.json()["choices"][0]["message"]["content"]
    return None if isinstance(content, str) and content else "empty content"


def asker(rec: Record, base: str, questions: list[str], k: int, until: float) -> None:
    with httpx.Client(base_url=base, timeout=180) as client:
        i = k
        while time.monotonic() < until:
            q = questions[i % len(questions)]
            kind = i % 3
            i += 1
            if kind == 0:
                call(rec, client, "/ask", "POST", "/ask", check_ask, json={"question": q})
            elif kind == 1:
                call(rec, client, "/ask/stream", "POST", "/ask/stream", check_stream,
                     json={"question": q})  # fmt: skip
            else:
                body = {"messages": [{"role": "user", "content": q}]}
                call(rec, client, "/v1/chat", "POST", "/v1/chat/completions", check_chat,
                     json=body)  # fmt: skip
            if rec.service.in_window(time.monotonic()):
                time.sleep(2)  # the service is down: do not spin


def upload_text(n: int) -> tuple[str, str, str]:
    """(file name, text, a question only this text answers)."""
    name, keeper = word(n * 31 + 17, 4), word(n * 13 + 5, 3)
    count = 100 + n
    text = (
        f"Date: 2026-11-{1 + n % 28:02d}\nTitle: Seabird survey at {name} lighthouse\n\n"
        f"The keeper of the {name} lighthouse, {keeper}, counted {count} nesting "
        f"{SPECIES[n % len(SPECIES)]} on the northern cliffs during this year's survey, the "
        f"regional wildlife office said.\n"
    )
    return f"soak_upload_{n:04d}.txt", text, f"How many birds did the keeper of the {name} " \
        "lighthouse count?"  # fmt: skip


@dataclass
class Uploads:
    alive: dict[str, str] = field(default_factory=dict)  # source -> question
    deleted: dict[str, str] = field(default_factory=dict)
    uncertain: dict[str, str] = field(default_factory=dict)  # the reply was lost (kill) or 5xx
    refused: Counter[str] = field(default_factory=Counter)  # 4xx, e.g. 409 busy


def writer(rec: Record, base: str, key: str, until: float, up: Uploads, pause: float) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, timeout=180, headers=headers) as client:
        n = 0
        while time.monotonic() < until:
            name, text, question = upload_text(n)
            n += 1
            files = {"files": (name, text.encode(), "text/plain")}
            reply = call(rec, client, "upload", "POST", "/documents", files=files)
            if reply is not None and reply.status_code == 200:
                up.alive[name] = question
            elif reply is None and rec.last_error.get(threading.get_ident()) == "ConnectError":
                up.refused["not connected"] += 1  # never sent: not uploaded
            elif reply is None or reply.status_code >= 500:
                up.uncertain[name] = question
            else:
                up.refused[str(reply.status_code)] += 1
            if n % 3 == 0 and up.alive:
                victim = sorted(up.alive)[0]
                reply = call(rec, client, "delete", "DELETE", f"/documents/{victim}")
                last = rec.last_error.get(threading.get_ident())
                if reply is not None and reply.status_code == 200:
                    up.deleted[victim] = up.alive.pop(victim)
                elif reply is None and last == "ConnectError":
                    up.refused["not connected"] += 1  # never sent: still there
                elif reply is None or reply.status_code >= 500:
                    up.uncertain[victim] = up.alive.pop(victim)
                else:
                    up.refused[str(reply.status_code)] += 1
            time.sleep(pause)


def probe(rec: Record, base: str, until: float) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        while time.monotonic() < until:
            call(rec, client, "/healthz", "GET", "/healthz")
            time.sleep(0.5)


def monitor(rec: Record, base: str, until: float, polls: dict[str, bool], extra: dict) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        while time.monotonic() < until:
            reply = call(rec, client, "/readyz", "GET", "/readyz")
            if reply is not None and reply.status_code == 200:
                body = reply.json()
                extra["articles"], extra["chunks"] = body["articles"], body["chunks"]
                for status in (body.get("feeds") or {}).values():
                    polls[status["last_polled"]] = bool(status["ok"])
                    if not status["ok"]:
                        extra.setdefault("feed_errors", []).append(status["error"])
            time.sleep(5)


# ---------------------------------------------------------------- the end checks


def final_checks(base: str, key: str, up: Uploads) -> dict[str, Any]:
    """Every upload still present is listed and readable; every deleted one is gone."""
    problems: list[str] = []
    wrong: list[str] = []  # present, but the answer came from another article
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, timeout=180, headers=headers) as client:
        listed = client.get("/documents", params={"q": "soak_upload", "limit": 500}).json()
        names = {d["source"] for d in listed["documents"]}
        for source, question in sorted(up.alive.items()):
            if source not in names:
                problems.append(f"{source}: uploaded, not listed")
            if client.get(f"/documents/{source}").status_code != 200:
                problems.append(f"{source}: uploaded, not readable")
            answer = client.post("/ask", json={"question": question}).json()
            cited = {c["source"] for c in answer.get("citations", [])}
            if answer.get("refused") or source not in cited:  # a quality finding, reported
                wrong.append(f"{source}: not answered from ({answer.get('answer')!r})")
        for source, question in sorted(up.deleted.items()):
            if source in names:
                problems.append(f"{source}: deleted, still listed")
            if client.get(f"/documents/{source}").status_code != 404:
                problems.append(f"{source}: deleted, still readable")
            answer = client.post("/ask", json={"question": question}).json()
            if source in {c["source"] for c in answer.get("citations", [])}:
                problems.append(f"{source}: deleted, still cited")
        for source in sorted(up.uncertain):  # all there, or all gone
            readable = client.get(f"/documents/{source}").status_code == 200
            if (source in names) != readable:
                problems.append(f"{source}: half there (listed {source in names}, "
                                f"readable {readable})")  # fmt: skip
    return {
        "alive": len(up.alive),
        "deleted": len(up.deleted),
        "problems": problems,
        "answered_from": len(up.alive) - len(wrong),
        "not_answered_from": wrong[:10],
    }


def settle(base: str, seconds: float) -> dict[str, Any]:
    """Wait (at most `seconds`) until the article count holds still over two readiness checks
    10 s apart: the last feed poll's entries are indexed."""
    deadline, last = time.monotonic() + seconds, None
    while time.monotonic() < deadline:
        try:
            body = httpx.get(f"{base}/readyz", timeout=30).json()
        except httpx.HTTPError:
            body = None
        now = (body or {}).get("articles")
        if now is not None and now == last:
            return {"articles": now, "chunks": body["chunks"]}
        last = now
        time.sleep(10)
    return {"articles": last, "chunks": None, "unsettled": True}


# ---------------------------------------------------------------- the run


def run(args: argparse.Namespace) -> dict[str, Any]:
    questions = [json.loads(x)["question"] for x in args.gold.read_text().splitlines() if x]
    feed = Feed(args.feed_entries, args.feed_new, args.feed_change_s)
    server = feed_server(feed)
    feed_url = f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    key = secrets.token_urlsafe(16)
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    shutil.copytree(args.corpus, work / "corpus")
    env = {
        **os.environ,
        "QA_CORPUS_DIR": str(work / "corpus"),
        "QA_INDEX_DIR": str(work / "index"),
        "QA_MODEL_DIR": str(ROOT / ".cache" / "soak-models"),
        "QA_RATE_LIMIT": "0",
        "QA_LLM_BACKEND": "extractive",
        "QA_API_KEY": key,
        "QA_FEEDS": json.dumps([feed_url]),
        "QA_FEED_SECONDS": str(int(args.feed_change_s)),
        "QA_FETCH_ALLOW": json.dumps(["127.0.0.1"]),
    }
    qa = str(Path(sys.executable).parent / "qa")
    subprocess.run([qa, "ingest"], env=env, check=True, stdout=subprocess.DEVNULL)
    service = Service(env, free_port(), work / "serve.log")
    load_before = os.getloadavg()
    service.start()
    rec, up = Record(service), Uploads()
    polls: dict[str, Any] = {}
    seen: dict[str, Any] = {}
    started = time.monotonic()
    until = started + args.minutes * 60
    threads = [
        threading.Thread(target=asker, args=(rec, service.url, questions, k, until))
        for k in range(args.clients)
    ]
    threads += [
        threading.Thread(target=writer, args=(rec, service.url, key, until, up, args.write_pause)),
        threading.Thread(target=probe, args=(rec, service.url, until)),
        threading.Thread(target=monitor, args=(rec, service.url, until, polls, seen)),
    ]
    for t in threads:
        t.start()
    loads = []
    for kill_at in args.kill_at:
        while time.monotonic() < started + kill_at * args.minutes * 60:
            time.sleep(1)
            loads.append(os.getloadavg()[0])
        service.kill_and_restart()
    while time.monotonic() < until:
        time.sleep(1)
        loads.append(os.getloadavg()[0])
    for t in threads:
        t.join()
    feed.frozen = feed.generation()  # no new entries from here on
    settled = settle(service.url, args.settle_s)
    monitor(rec, service.url, time.monotonic() + 1, polls, seen)  # the polls since the last look
    checks = final_checks(service.url, key, up)
    stopped = service.stop()
    server.shutdown()
    result = subprocess.run([qa, "verify"], env=env, capture_output=True, text=True)
    log_text = service.log.read_text(errors="replace")
    by_endpoint: dict[str, dict[str, int]] = {}
    for k, n in rec.status.items():
        endpoint, status = k.rsplit(" ", 1)
        by_endpoint.setdefault(endpoint, {})[status] = n
    report = {
        "machine": machine(),
        "command": " ".join(sys.argv),
        "minutes": args.minutes,
        "clients": args.clients,
        "feed": {
            "entries": args.feed_entries,
            "new_per_change": args.feed_new,
            "change_s": args.feed_change_s,
            "bytes": len(feed.cache[1]) if feed.cache else 0,
            "served_per_generation": dict(feed.served),
            "polls_ok": sum(polls.values()),
            "polls_failed": sum(not ok for ok in polls.values()),
            "errors": sorted(set(seen.get("feed_errors", [])))[:5],
        },
        "requests": by_endpoint,
        "server_errors_5xx": len(rec.server_errors),
        "server_error_samples": rec.server_errors[:10],
        "malformed": len(rec.malformed),
        "malformed_samples": rec.malformed[:10],
        "connection_errors_in_killed_window": dict(rec.conn_in_window),
        "connection_errors_outside": len(rec.conn_outside),
        "connection_error_samples": rec.conn_outside[:10],
        "killed_windows_s": [round(b - a, 1) for a, b in service.down],
        "latency": {e: latency_ms(v) for e, v in sorted(rec.latency.items())},
        "uploads": {**checks, "uncertain": sorted(up.uncertain), "refused": dict(up.refused)},
        "index_at_end": settled,
        "stopped_with": stopped,
        "verify": {"exit": result.returncode, "output": (result.stdout + result.stderr)[-2000:]},
        "service_log": {
            "tracebacks": log_text.count("Traceback"),
            "errors": sum(" ERROR " in x or x.startswith("ERROR") for x in log_text.splitlines()),
        },
        "load_average": {
            "before": [round(x, 2) for x in load_before],
            "mean_1min_during": round(sum(loads) / max(1, len(loads)), 2),
            "max_1min_during": round(max(loads, default=0), 2),
        },
    }
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        report["work"] = str(work)
    return report


def failures(report: dict[str, Any]) -> list[str]:
    bad = []
    for name in ("server_errors_5xx", "malformed", "connection_errors_outside"):
        if report[name]:
            bad.append(f"{name}: {report[name]}")
    if report["verify"]["exit"] != 0:
        bad.append(f"qa verify: {report['verify']['output'][-500:]}")
    if report["uploads"]["problems"]:
        bad.append(f"uploads: {report['uploads']['problems'][:5]}")
    return bad


def show(report: dict[str, Any]) -> None:
    rows = []
    for endpoint, statuses in sorted(report["requests"].items()):
        lat = report["latency"].get(endpoint, {})
        rows.append(
            {
                "endpoint": endpoint,
                "statuses": " ".join(f"{s}:{n}" for s, n in sorted(statuses.items())),
                "p50_ms": lat.get("p50_ms", "-"),
                "p95_ms": lat.get("p95_ms", "-"),
            }
        )
    print_table(rows, list(rows[0]))
    feed, up, load = report["feed"], report["uploads"], report["load_average"]
    print(
        f"\n5xx: {report['server_errors_5xx']}, malformed: {report['malformed']}, "
        f"connection errors outside the killed window: {report['connection_errors_outside']}, "
        f"inside: {sum(report['connection_errors_in_killed_window'].values())} "
        f"(windows {report['killed_windows_s']} s)\n"
        f"feed polls ok/failed: {feed['polls_ok']}/{feed['polls_failed']}; "
        f"uploads alive {up['alive']} (answered from {up['answered_from']}), deleted "
        f"{up['deleted']}, uncertain {len(up['uncertain'])}, problems {len(up['problems'])}; "
        f"index at end {report['index_at_end']}\n"
        f"qa verify exit {report['verify']['exit']}: "
        f"{report['verify']['output'].strip().splitlines()[-1:]}\n"
        f"load average before {load['before']}, 1-min mean during "
        f"{load['mean_1min_during']}, max {load['max_1min_during']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--feed-entries", type=int, default=10_000)
    parser.add_argument("--feed-new", type=int, default=25, help="new entries per change")
    parser.add_argument("--feed-change-s", type=float, default=30)
    parser.add_argument("--kill-at", type=float, nargs="+", default=[0.4],
                        help="fractions of the run at which the service is SIGKILLed")  # fmt: skip
    parser.add_argument("--write-pause", type=float, default=2.0, help="s between uploads")
    parser.add_argument("--settle-s", type=float, default=300)
    parser.add_argument("--corpus", type=Path, default=ROOT / "seeds")
    parser.add_argument("--gold", type=Path, default=ROOT / "eval" / "gold" / "seeds.jsonl")
    parser.add_argument("--json", type=Path, default=RESULTS / "soak.json")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    report = run(args)
    bad = failures(report)
    report["failures"] = bad
    write_json(args.json, report)
    show(report)
    if bad:
        print("\nFAILED:\n  " + "\n  ".join(bad))
        raise SystemExit(1)


if __name__ == "__main__":
    main()
