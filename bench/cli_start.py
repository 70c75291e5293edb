"""Wall time of the `qa` command (issue 30): `qa --help`, `qa stats`, `qa ask` on the seed index,
against reference points measured in the same run (`python -c pass`, `python -c "import torch"`).

    .venv/bin/python bench/cli_start.py [--runs 5] [--before ../main] [--question "..."]

Each command runs `--runs` times, round-robin (one run of each command in turn, so a change in
the machine's load hits every command alike); the table gives the median and the fastest run in
seconds, and the median as a ratio of `import torch`'s. `--before PATH` also times the `qa` of
another checkout (e.g. main) with the same interpreter and packages (its folder first on
PYTHONPATH), so before and after come from one run. The load average is printed before and
after. Uses the index of QA_INDEX_DIR (default index/: run `qa ingest` first). Note the
environment's PYTHONDONTWRITEBYTECODE: without compiled bytecode in site-packages every command
compiles what it imports, each time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import RESULTS, ROOT, machine, print_table, write_json

QUESTION = "Which general visited Mali to meet Wagner?"  # the README's First run question


def commands(label: str, question: str) -> dict[str, list[str]]:
    qa = [sys.executable, "-m", "qa.cli"]
    return {
        f"{label}qa --help": [*qa, "--help"],
        f"{label}qa stats": [*qa, "stats"],
        f"{label}qa ask": [*qa, "ask", question],
    }


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before", type=Path, help="another checkout's folder (e.g. ../main)")
    parser.add_argument("--question", default=QUESTION)
    args = parser.parse_args()

    base = dict(os.environ)
    base.setdefault("QA_INDEX_DIR", str(ROOT / "index"))
    base["QA_INDEX_DIR"] = str(Path(base["QA_INDEX_DIR"]).resolve())
    envs: dict[str, dict[str, str]] = {}
    plan: dict[str, list[str]] = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import torch'": [sys.executable, "-c", "import torch"],
    }
    for name in plan:
        envs[name] = base
    if args.before:
        before = {**base, "PYTHONPATH": str(args.before.resolve())}
        for name, command in commands("before: ", args.question).items():
            plan[name], envs[name] = command, before
    after = {**base, "PYTHONPATH": str(ROOT)}
    for name, command in commands("after: " if args.before else "", args.question).items():
        plan[name], envs[name] = command, after

    info = machine()
    load_before = os.getloadavg()
    times: dict[str, list[float]] = {name: [] for name in plan}
    for _ in range(args.runs):
        for name, command in plan.items():
            times[name].append(timed(command, envs[name]))
    load_after = os.getloadavg()

    torch = statistics.median(times["python -c 'import torch'"])
    rows = [
        {
            "command": name,
            "median_s": round(statistics.median(values), 2),
            "min_s": round(min(values), 2),
            "x_import_torch": round(statistics.median(values) / torch, 2),
        }
        for name, values in times.items()
    ]
    print_table(rows, ["command", "median_s", "min_s", "x_import_torch"])
    loads = [tuple(round(x, 2) for x in load) for load in (load_before, load_after)]
    print(
        f"runs {args.runs}; load average (1, 5, 15 min) before {loads[0]}, after {loads[1]};"
        f" PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}"
    )
    write_json(
        RESULTS / "cli_start.json",
        {
            "machine": info,
            "load_before": load_before,
            "load_after": load_after,
            "question": args.question,
            "runs": args.runs,
            "rows": rows,
            "times": times,
        },
    )


if __name__ == "__main__":
    main()
