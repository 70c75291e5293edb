"""Cleaning benchmark (issue 15): seconds of `clean_text` for N short distinct paragraphs.

    .venv/bin/python bench/cleaning.py [--sizes 2000 4000 8000]

Quadratic de-duplication shows as 4x time per doubling; linear as 2x.
"""

from __future__ import annotations

import argparse
import random
import time

from qa.ingest.cleaning import clean_text

WORDS = [f"w{i}" for i in range(5000)]


def paragraphs(n: int, seed: int = 0) -> str:
    """`n` distinct paragraphs of 8-14 random words, every tenth one repeated near-verbatim."""
    rng = random.Random(seed)
    out: list[str] = []
    for i in range(n):
        if i % 10 == 9:
            out.append(out[-1] + " again")
        else:
            out.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 14))) + ".")
    return "\n\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 4000, 8000])
    args = parser.parse_args()
    for n in args.sizes:
        raw = paragraphs(n)
        started = time.perf_counter()
        text = clean_text(raw)
        seconds = time.perf_counter() - started
        kept = text.count("\n\n") + 1
        print(f"{n:>6} paragraphs  {len(raw) / 1000:>7.0f} KB  {seconds:>7.2f} s  kept {kept}")


if __name__ == "__main__":
    main()
