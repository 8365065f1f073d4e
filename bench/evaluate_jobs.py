"""Benchmark: `serumscope evaluate --all` end to end on every core, alternated with `--jobs 1`.

    .venv/bin/python bench/evaluate_jobs.py [--pairs 3] [--copies 5] [--jobs N]

Goal (issue 12): `serumscope evaluate` end to end at least 0.8 x the single-process evaluator rate
times the cores (`--jobs`, default all CPUs).

Listings: bench/evaluate.py's realistic listings (the rows of ../shared/data/real_listings/, two
variants each), stored ``--copies`` times under different ids in a real SQLite database made with the
project's schema (`open_db`), all candidates. Shipped settings: the real `serumscope evaluate` command
in a fresh process, rubric post, `--all` so every listing is scored each time.

Each pair runs A = `--jobs N` (default: every CPU) and B = `--jobs 1`, then measures the evaluator
alone in a fresh process on the same listings (CPU time, `evaluate(listing, "post")` each once).
Prints wall-clock listings/s of A and B, median and spread, the ratio A/B, and A against the goal
0.8 x evaluator rate x N; and listings per CPU second of the commands (their workers included), which
the machine's other load does not stretch, against the evaluator alone. An untimed first run judges
the listings' relevance once (as the crawl would have), so every timed run does the same work.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from evaluate import realistic_listings  # noqa: E402  (bench/ is not a package)

GOAL_SHARE = 0.8


def _listings(copies: int) -> list[dict]:
    listings, _ = realistic_listings(1_000_000)
    out = []
    for copy in range(copies):
        for listing in listings:
            out.append({**listing, "id": f"{listing['id']}~{copy}", "shop": "bench"})
    return out


def build_database(path: Path, listings: list[dict]) -> None:
    from serumscope.store.database import open_db, transaction

    db = open_db(path)
    with transaction(db):
        db["shops"].insert(
            {"name": "bench", "platform": "shopify", "base_url": "http://127.0.0.1"}, pk="name"
        )
        db["listings"].insert_all(
            (
                {
                    "id": listing["id"],
                    "shop": "bench",
                    "title": listing["title"],
                    "brand": listing.get("brand"),
                    "description": listing["description"],
                    "ingredients_text": listing["ingredients_text"],
                    "categories": json.dumps(listing["categories"]),
                    "is_candidate": 1,
                    "input_hash": listing["id"],
                }
                for listing in listings
            ),
            batch_size=1_000,
        )
        db["variants"].insert_all(
            (
                {"id": f"{listing['id']}:{v['position']}", "listing_id": listing["id"], **v}
                for listing in listings
                for v in listing["variants"]
            ),
            batch_size=1_000,
        )
    db.conn.close()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def end_to_end(db_path: Path, jobs: int) -> tuple[float, float]:
    """Listings/s of `serumscope evaluate --all --jobs N` in a fresh process: by the wall clock, and
    by the CPU time of the command and its workers (what the machine's other load cannot stretch)."""
    command = [str(Path(sys.executable).with_name("serumscope")), "evaluate", "--db", str(db_path)]
    started, cpu = time.perf_counter(), _children_cpu()
    subprocess.run(
        [*command, "--all", "--rubric", "post", "--jobs", str(jobs)],
        check=True,
        capture_output=True,
    )
    seconds, cpu = time.perf_counter() - started, _children_cpu() - cpu
    count = subprocess.run(
        [sys.executable, "-c", f"import sqlite3; print(sqlite3.connect({str(db_path)!r})"
         ".execute('select count(*) from evaluations').fetchone()[0])"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return int(count) / seconds, int(count) / cpu


def evaluator_rate(count: int) -> float:
    """The evaluator alone, one process (bench/evaluate.py's side), listings/s of CPU time."""
    command = [sys.executable, str(ROOT / "bench" / "evaluate.py"), "--side", str(ROOT)]
    output = subprocess.run(
        [*command, "--count", str(count)], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])["rate"]


def _spread(values: list[float], fmt: str = "{:,.0f}", unit: str = "/s") -> str:
    middle, low, high = statistics.median(values), min(values), max(values)
    return f"median {fmt.format(middle)}{unit} (spread {fmt.format(low)}-{fmt.format(high)}{unit})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--copies", type=int, default=5, help="times each listing is stored")
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    listings = _listings(args.copies)
    print(
        f"goal:      `serumscope evaluate` end to end >= {GOAL_SHARE} x evaluator rate x"
        f" {args.jobs} cores (--jobs {args.jobs})"
    )
    print(f"listings:  {len(listings):,} ({args.copies} copies of the realistic listings)")
    print(f"A = --jobs {args.jobs}, B = --jobs 1, then the evaluator alone; {args.pairs} pairs")
    with tempfile.TemporaryDirectory() as folder:
        db_path = Path(folder) / "bench.db"
        build_database(db_path, listings)
        end_to_end(db_path, args.jobs)  # untimed: judges relevance once, as the crawl would have
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        measured, base, alone, cpu_measured, cpu_base = [], [], [], [], []
        for pair in range(1, max(3, args.pairs) + 1):
            wall, cpu = end_to_end(db_path, args.jobs)
            measured.append(wall)
            cpu_measured.append(cpu)
            wall, cpu = end_to_end(db_path, 1)
            base.append(wall)
            cpu_base.append(cpu)
            alone.append(evaluator_rate(len(listings) // args.copies))
            print(
                f"  pair {pair}: A {measured[-1]:8,.0f}/s   B {base[-1]:8,.0f}/s"
                f"   evaluator alone {alone[-1]:8,.0f}/s   (CPU time: A {cpu_measured[-1]:,.0f}/s,"
                f" B {cpu_base[-1]:,.0f}/s)"
            )
        print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    ratios = [a / b for a, b in zip(measured, base, strict=True)]
    shares = [a / (e * args.jobs) for a, e in zip(measured, alone, strict=True)]
    print(f"A --jobs {args.jobs}:     {_spread(measured)}")
    print(f"B --jobs 1:      {_spread(base)}")
    print(f"evaluator alone: {_spread(alone)}")
    print(f"ratio A/B:       {_spread(ratios, '{:.2f}', '×')}")
    print(f"A / (evaluator × {args.jobs}): {_spread(shares, '{:.2f}', '')}")
    # per CPU second, end to end against the evaluator alone: the share of the work that is scoring
    cpu_shares = [c / e for c, e in zip(cpu_measured, alone, strict=True)]
    print(f"end to end per CPU second (A): {_spread(cpu_measured)}")
    print(
        f"  / evaluator alone: {_spread(cpu_shares, '{:.2f}', '')} (the rest: start-up, rows, writes)"
    )
    met = "met" if statistics.median(shares) >= GOAL_SHARE else "NOT met"
    print(f"goal {GOAL_SHARE} × evaluator rate × {args.jobs}: {met} (median)")


if __name__ == "__main__":
    main()
