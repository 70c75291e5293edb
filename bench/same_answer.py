"""Same question, same answer (issue 27, item 7): `qa ask` alone and two at once, on a freshly
built index and on one recovered after SIGKILLs during its ingest, answers compared.

    .venv/bin/python bench/same_answer.py [--questions 2] [--rounds 2] [--kills 3]

The corpus is the articles behind the first `--questions` questions of the RealTime QA
validation gold (`.cache/realtimeqa-val`, dev data), written to a temporary folder. For each
index and question: one `qa ask --json` alone, then `--rounds` times two at once; every answer
(text, refusal, citations) must equal the lone one, and the two indexes must agree. Writes
bench/results/same_answer.json; exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import RESULTS, ROOT, machine, write_json

QA = str(Path(sys.executable).parent / "qa")
VAL = ROOT.parent / "main" / ".cache" / "realtimeqa-val"


def corpus(folder: Path, gold: list[dict[str, Any]]) -> None:
    wanted = {s.split("#", 1)[1] for g in gold for s in g["sources"]}
    lines = (VAL / "corpus" / "rtqa.jsonl").read_text(encoding="utf-8").splitlines()
    kept = [x for x in lines if json.loads(x)["id"] in wanted]
    folder.mkdir(parents=True)
    (folder / "rtqa.jsonl").write_text("\n".join(kept) + "\n", encoding="utf-8")


def env(work: Path, index: str) -> dict[str, str]:
    return {
        **os.environ,
        "QA_CORPUS_DIR": str(work / "corpus"),
        "QA_INDEX_DIR": str(work / index),
        "QA_MODEL_DIR": str(ROOT / ".cache" / "soak-models"),
    }


def ingest(work: Path, index: str, kills: int) -> list[int]:
    """`qa ingest`, SIGKILLed `kills` times at growing delays, then run to the end."""
    codes = []
    for n in range(kills):
        proc = subprocess.Popen([QA, "ingest"], env=env(work, index), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            codes.append(proc.wait(timeout=15 + 10 * n))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            codes.append(proc.wait())
    subprocess.run([QA, "ingest"], env=env(work, index), check=True, stdout=subprocess.DEVNULL)
    return codes


def ask(work: Path, index: str, g: dict[str, Any]) -> subprocess.Popen[str]:
    args = [QA, "ask", g["question"], "--json", "--as-of", g["as_of"]]
    return subprocess.Popen(args, env=env(work, index), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)  # fmt: skip


def key(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = proc.communicate(timeout=900)
    try:
        a = json.loads(out)
    except ValueError:
        return {"error": out[-300:]}
    cites = [(c["source"], c["start"], c["end"]) for c in a["citations"]]
    return {"refused": a["refused"], "answer": a["answer"], "citations": cites}


def run(args: argparse.Namespace) -> dict[str, Any]:
    lines = (VAL / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    gold = [json.loads(x) for x in lines[: args.questions]]
    work = Path(tempfile.mkdtemp(prefix="same-answer-"))
    corpus(work / "corpus", gold)
    killed = ingest(work, "recovered", args.kills)
    ingest(work, "fresh", 0)
    verify = {
        i: subprocess.run([QA, "verify"], env=env(work, i), capture_output=True).returncode
        for i in ("fresh", "recovered")
    }
    results: dict[str, Any] = {}
    for g in gold:
        for index in ("fresh", "recovered"):
            alone = key(ask(work, index, g))
            pairs = []
            for _ in range(args.rounds):
                two = [ask(work, index, g), ask(work, index, g)]
                pairs.append([key(p) for p in two])
            same = all(a == alone for pair in pairs for a in pair)
            results[f"{g['id']} {index}"] = {"alone": alone, "same_when_concurrent": same,
                                             "pairs": pairs}  # fmt: skip
    agree = {
        g["id"]: results[f"{g['id']} fresh"]["alone"] == results[f"{g['id']} recovered"]["alone"]
        for g in gold
    }
    return {
        "machine": machine(),
        "questions": [g["question"] for g in gold],
        "ingest_exit_codes_recovered": killed,
        "verify_exit": verify,
        "indexes_agree": agree,
        "results": results,
        "work": str(work),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--json", type=Path, default=RESULTS / "same_answer.json")
    args = parser.parse_args()
    started = time.monotonic()
    report = run(args)
    report["seconds"] = round(time.monotonic() - started)
    write_json(args.json, report)
    for name, r in report["results"].items():
        a = r["alone"]
        print(f"{name}: refused={a.get('refused')} same when concurrent={r['same_when_concurrent']}"
              f" answer={str(a.get('answer'))[:70]!r}")  # fmt: skip
    print(f"indexes agree: {report['indexes_agree']}; verify: {report['verify_exit']}; "
          f"recovered ingest exit codes {report['ingest_exit_codes_recovered']}")  # fmt: skip
    bad = [n for n, r in report["results"].items() if not r["same_when_concurrent"]]
    if bad or not all(report["indexes_agree"].values()):
        raise SystemExit(f"different answers: {bad or report['indexes_agree']}")


if __name__ == "__main__":
    main()
