"""Load test (issue 8): N concurrent users against `/ask` of a real `qa serve` on loopback.

    .venv/bin/python bench/load.py [--users 20] [--seconds 120] [--corpus seeds] [--json OUT]

Starts the service in its own process (rate limit off: `QA_RATE_LIMIT=0`), indexes the corpus
into a fresh index folder, then measures in the same run:
  1. a baseline: one user asking questions back to back (`--baseline-seconds`);
  2. the load: `--users` users, each asking the next question as soon as its answer arrives,
     for `--seconds`, while a probe calls `/healthz` every 0.5 s.
Prints a table (requests, errors, throughput, p50/p95, the ratio of each to the baseline, and
/healthz latency during the load) and writes JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from common import RESULTS, ROOT, latency_ms, machine, print_table, write_json

from qa.process import stop_process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def questions(gold: Path) -> list[str]:
    lines = gold.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def start_service(corpus: Path, index: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "QA_CORPUS_DIR": str(corpus),
        "QA_INDEX_DIR": str(index),
        "QA_RATE_LIMIT": "0",
        "QA_LLM_BACKEND": "extractive",
    }
    qa = str(Path(sys.executable).parent / "qa")
    subprocess.run([qa, "ingest"], env=env, check=True, stdout=subprocess.DEVNULL)
    with log.open("wb") as handle:
        return subprocess.Popen(
            [qa, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


async def wait_ready(client: httpx.AsyncClient, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the service exited with {proc.returncode}")
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.5)
    raise SystemExit("the service did not become ready in 180 s")


async def user(
    client: httpx.AsyncClient, asked: list[str], offset: int, until: float, out: dict[str, Any]
) -> None:
    """Ask questions one after another (each user starts at its own place in the list)."""
    i = offset
    while time.monotonic() < until:
        question = asked[i % len(asked)]
        i += 1
        started = time.perf_counter()
        try:
            reply = await client.post("/ask", json={"question": question})
            status = str(reply.status_code)
            if reply.status_code == 200 and "answer" not in reply.json():
                status = "bad body"
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        out["latency"].append(time.perf_counter() - started)
        out["status"][status] += 1


async def probe(client: httpx.AsyncClient, until: float, out: dict[str, Any]) -> None:
    while time.monotonic() < until:
        started = time.perf_counter()
        try:
            status = str((await client.get("/healthz")).status_code)
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        out["latency"].append(time.perf_counter() - started)
        out["status"][status] += 1
        await asyncio.sleep(0.5)


async def phase(
    client: httpx.AsyncClient, asked: list[str], users: int, seconds: float
) -> dict[str, Any]:
    until = time.monotonic() + seconds
    ask: dict[str, Any] = {"latency": [], "status": Counter()}
    health: dict[str, Any] = {"latency": [], "status": Counter()}
    started = time.perf_counter()
    step = max(1, len(asked) // users)
    await asyncio.gather(
        probe(client, until, health),
        *(user(client, asked, k * step, until, ask) for k in range(users)),
    )
    wall = time.perf_counter() - started
    requests = sum(ask["status"].values())
    return {
        "users": users,
        "seconds": round(wall, 1),
        "requests": requests,
        "errors": requests - ask["status"]["200"],
        "status": dict(ask["status"]),
        "throughput_rps": round(requests / wall, 2),
        "ask": latency_ms(ask["latency"]),
        "healthz": {**latency_ms(health["latency"]), "status": dict(health["status"])},
        "healthz_errors": sum(health["status"].values()) - health["status"]["200"],
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    asked = questions(args.gold)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as work:
        log = Path(work) / "serve.log"
        proc = start_service(args.corpus, Path(work) / "index", port, log)
        try:
            limits = httpx.Limits(max_connections=args.users + 4)
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits
            ) as client:
                await wait_ready(client, proc)
                await phase(client, asked, 2, 10)  # warm-up, not reported
                baseline = await phase(client, asked, 1, args.baseline_seconds)
                load = await phase(client, asked, args.users, args.seconds)
            alive = proc.poll() is None
        finally:
            stop_process(proc, 30)
    return {
        "machine": machine(),
        "corpus": str(args.corpus),
        "questions": len(asked),
        "baseline": baseline,
        "load": load,
        "service_alive_after": alive,
        "ratios": {
            "p50": round(load["ask"]["p50_ms"] / baseline["ask"]["p50_ms"], 2),
            "p95": round(load["ask"]["p95_ms"] / baseline["ask"]["p95_ms"], 2),
            "throughput": round(load["throughput_rps"] / baseline["throughput_rps"], 2),
        },
    }


def show(report: dict[str, Any]) -> None:
    rows = []
    for name in ("baseline", "load"):
        r = report[name]
        rows.append(
            {
                "phase": name,
                "users": r["users"],
                "seconds": r["seconds"],
                "requests": r["requests"],
                "errors": r["errors"],
                "req_per_s": r["throughput_rps"],
                "ask_p50_ms": r["ask"]["p50_ms"],
                "ask_p95_ms": r["ask"]["p95_ms"],
                "healthz_p50_ms": r["healthz"]["p50_ms"],
                "healthz_p95_ms": r["healthz"]["p95_ms"],
                "healthz_errors": r["healthz_errors"],
            }
        )
    print_table(rows, list(rows[0]))
    ratios = report["ratios"]
    print(
        f"\nunder load vs one user: p50 x{ratios['p50']}, p95 x{ratios['p95']}, "
        f"throughput x{ratios['throughput']}; service alive after: {report['service_alive_after']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--baseline-seconds", type=float, default=30)
    parser.add_argument("--corpus", type=Path, default=ROOT / "seeds")
    parser.add_argument("--gold", type=Path, default=ROOT / "eval" / "gold" / "seeds.jsonl")
    parser.add_argument("--json", type=Path, default=RESULTS / "load.json")
    args = parser.parse_args()
    report = asyncio.run(run(args))
    show(report)
    write_json(args.json, report)
    load = report["load"]
    if load["errors"] or load["healthz_errors"] or not report["service_alive_after"]:
        raise SystemExit("errors under load: see the table")


if __name__ == "__main__":
    main()
