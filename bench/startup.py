"""CLI start-up: `serumscope --help` and `serumscope score -` on one listing, against a bare Python.

Each round runs, one after the other, ``python -c pass`` (the baseline: the interpreter's own
start-up), ``serumscope --help`` and ``serumscope score -`` with one listing on standard input (the
first row of ../shared/data/real_listings/ when present, else a small listing written here), each in
its own process, as a person would type them; at least 5 rounds (A B C A B C ...). Prints the median
and spread of each beside the goals (issue 12: score under 0.3 s, --help under 0.2 s), what each
costs over the bare interpreter, and its CPU time (on a busy machine wall time waits for a core).

    .venv/bin/python bench/startup.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from real_listings import listing_from_row, read_rows

SERUMSCOPE = str(Path(sys.executable).with_name("serumscope"))
FALLBACK_LISTING = {
    "title": "Vitamin C 15% Serum with Ferulic Acid, 30 ml",
    "ingredients_text": "Aqua, Ascorbic Acid, Propanediol, Glycerin, Ferulic Acid, Tocopherol",
    "description": "15% L-ascorbic acid in an amber glass dropper bottle.",
    "variants": [{"title": "30 ml", "price": "29.00", "currency": "USD"}],
}


def one_listing() -> tuple[str, str]:
    rows = read_rows()
    if rows:
        return json.dumps(listing_from_row(rows[0])), "the first real listing"
    return json.dumps(FALLBACK_LISTING), "a small listing (../shared/data/real_listings/ absent)"


def timed(command: list[str], stdin: str | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of one run; the CPU time tells a busy machine from a slow start-up."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, input=stdin, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} s (spread {min(values):.3f}-{max(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    listing, which = one_listing()
    sides = {
        "python -c pass": ([sys.executable, "-c", "pass"], None, None),
        "serumscope --help": ([SERUMSCOPE, "--help"], None, 0.2),
        "serumscope score -": ([SERUMSCOPE, "score", "-"], listing, 0.3),
    }
    for command, stdin, _ in sides.values():  # warm the file cache once, unmeasured
        timed(command, stdin)
    times: dict[str, list[float]] = {name: [] for name in sides}
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(max(args.rounds, 5)):
        for name, (command, stdin, _) in sides.items():
            wall, used = timed(command, stdin)
            times[name].append(wall)
            cpu[name].append(used)
    print(f"{max(args.rounds, 5)} rounds, sides alternating; score reads {which}")
    baseline = statistics.median(times["python -c pass"])
    for name, (_, _, goal) in sides.items():
        line = f"{name:<20} {spread(times[name])}, CPU {statistics.median(cpu[name]):.3f} s"
        if goal is not None:
            over = statistics.median(times[name]) - baseline
            met = "met" if statistics.median(times[name]) < goal else "NOT met"
            line += f", {over:.3f} s over python -c pass; goal < {goal} s: {met}"
        print(line)


if __name__ == "__main__":
    main()
