"""CI smoke test of the README's main command, run with the base install alone.

Starts `qa serve` on a free loopback port over the index that `qa ingest seeds` built, waits for
/readyz, asks one question over HTTP and checks that the answer cites a seed article with its
exact passage. Standard library and `qa` only: nothing the dev extras bring.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from qa.process import stop_process

QUESTION = "Which general visited Mali to meet Wagner?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    qa = Path(sys.executable).with_name("qa")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(qa), "serve", "--host", "127.0.0.1", "--port", str(port)])
    try:
        deadline = time.monotonic() + 300
        while True:
            if server.poll() is not None:
                print(f"smoke: qa serve exited with {server.returncode}", file=sys.stderr)
                return 1
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=5) as reply:
                    if reply.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                print("smoke: /readyz never answered 200", file=sys.stderr)
                return 1
            time.sleep(1)
        request = urllib.request.Request(
            f"{base}/ask",
            data=json.dumps({"question": QUESTION}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as reply:
            answer = json.load(reply)
        seeds = {p.name for p in Path("seeds").iterdir()}
        citations = answer.get("citations") or []
        problems = []
        if answer.get("refused"):
            problems.append("the answer was a refusal")
        if not citations:
            problems.append("the answer has no citation")
        for c in citations:
            if c["source"] not in seeds:
                problems.append(f"citation {c['n']} names {c['source']}, not a seed article")
            if f"[{c['n']}]" not in answer["answer"]:
                problems.append(f"citation {c['n']} has no marker in the answer")
            if not c["quote"].strip():
                problems.append(f"citation {c['n']} quotes nothing")
        print(f"smoke: {QUESTION!r} -> {answer['answer']!r}")
        for problem in problems:
            print(f"smoke: FAIL {problem}", file=sys.stderr)
        return 1 if problems else 0
    finally:
        stop_process(server, 30)


if __name__ == "__main__":
    sys.exit(main())
