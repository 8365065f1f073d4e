"""Benchmark: `serumscope evaluate --all` end to end on every core, alternated with a baseline.

    .venv/bin/python bench/evaluate_jobs.py [--pairs 3] [--copies 5] [--jobs N] [--first]
                                            [--baseline main | --baseline jobs1]

Goal (issue 12): `serumscope evaluate` end to end at least 0.8 x the single-process evaluator rate
times the cores (`--jobs`, default all CPUs).

Listings: bench/evaluate.py's realistic listings (the rows of ../shared/data/real_listings/, two
variants each), stored ``--copies`` times under different ids in a real SQLite database made with the
project's schema (`open_db`), all candidates. Shipped settings: the real `serumscope evaluate` command
in a fresh process, rubric post, `--all` so every listing is scored each time: a re-evaluation (the
stored evaluations are mostly those the run writes again), or with `--first` a first evaluation
(each run starts from a copy of the database without evaluations, ingredients and actives, made
before its clock starts).

Each pair runs A = this tree's `--jobs N` (default: every CPU) and B = the baseline: the same command
of a git revision (`--baseline REV`, default `main`, extracted with `git archive`, run with this
tree's interpreter) or `jobs1` (this tree with `--jobs 1`); then the evaluator alone in a fresh
process on the same listings (CPU time, `evaluate(listing, "post")` each once). Prints wall-clock
listings/s of A and B, median and spread, the ratio A/B, and A against the goal 0.8 x evaluator rate
x N; listings per CPU second of the commands (their workers included), which the machine's other
load does not stretch, against the evaluator alone; and the CPU the command's own process (the one
writer) spends per listing. An untimed first run judges the listings' relevance once (as the crawl
would have), so every timed run does the same work.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
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


# Runs the command line of the tree on PYTHONPATH, then reports the CPU of this process alone (the
# writer: its worker processes are counted in RUSAGE_CHILDREN, not here) on stderr's last line.
_COMMAND = """import atexit, json, resource, sys
def _report():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"writer_cpu": usage.ru_utime + usage.ru_stime}), file=sys.stderr)
atexit.register(_report)
from serumscope.cli import cli
sys.argv[0] = "serumscope"
cli()
"""


def _unevaluated(db_path: Path) -> Path:
    """A copy of ``db_path`` without its evaluations, ingredients and actives (scores rows follow)."""
    copy = db_path.with_name(f"unevaluated-{db_path.name}")
    shutil.copy(db_path, copy)
    connection = sqlite3.connect(copy)
    with connection:
        for table in ("evaluations", "ingredients", "actives"):
            connection.execute(f"DELETE FROM [{table}]")
    connection.close()
    return copy


def _copy_database(source: Path, target: Path) -> None:
    for suffix in ("-wal", "-shm"):  # a WAL left by the last run must not meet another file
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    shutil.copy(source, target)


def end_to_end(
    tree: Path, db_path: Path, jobs: int, start_from: Path | None = None
) -> tuple[float, float, float]:
    """`serumscope evaluate --all --jobs N` of ``tree`` in a fresh process (on a copy of
    ``start_from`` made before the clock starts, if given): listings/s by the wall clock and by the
    CPU time of the command and its workers (what the machine's other load cannot stretch), and the
    CPU seconds per listing of the command's own process (the writer)."""
    if start_from is not None:
        _copy_database(start_from, db_path)
    command = [sys.executable, "-c", _COMMAND, "evaluate", "--db", str(db_path), "--all"]
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    started, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(
        [*command, "--rubric", "post", "--jobs", str(jobs)],
        check=True, capture_output=True, text=True, env=environment, cwd=tree,
    )  # fmt: skip
    seconds, cpu = time.perf_counter() - started, _children_cpu() - cpu
    writer_cpu = json.loads(done.stderr.strip().splitlines()[-1])["writer_cpu"]
    count = subprocess.run(
        [sys.executable, "-c", f"import sqlite3; print(sqlite3.connect({str(db_path)!r})"
         ".execute('select count(*) from evaluations').fetchone()[0])"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return int(count) / seconds, int(count) / cpu, writer_cpu / int(count)


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


def _baseline_tree(revision: str, folder: Path) -> Path:
    tree = folder / "baseline"
    tree.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--copies", type=int, default=5, help="times each listing is stored")
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument(
        "--baseline", default="main", help="a git revision, or jobs1: this tree with --jobs 1"
    )
    parser.add_argument(
        "--first",
        action="store_true",
        help="a first evaluation: every run starts from the database without its evaluations",
    )
    args = parser.parse_args()
    listings = _listings(args.copies)
    print(
        f"goal:      `serumscope evaluate` end to end >= {GOAL_SHARE} x evaluator rate x"
        f" {args.jobs} cores (--jobs {args.jobs})"
    )
    print(
        f"listings:  {len(listings):,} ({args.copies} copies of the realistic listings);"
        + (" a first evaluation (none stored)" if args.first else " a re-evaluation (--all)")
    )
    with tempfile.TemporaryDirectory() as folder:
        if args.baseline == "jobs1":
            baseline, baseline_jobs, name = ROOT, 1, "this tree --jobs 1"
        else:
            baseline = _baseline_tree(args.baseline, Path(folder))
            baseline_jobs, name = args.jobs, f"{args.baseline} --jobs {args.jobs}"
        print(
            f"A = this tree --jobs {args.jobs}, B = {name}, then the evaluator alone;"
            f" {max(3, args.pairs)} pairs"
        )
        # each side its own copy: the other side's schema objects (a changed trigger) are never
        # replaced back and forth; an untimed first run judges relevance, as a crawl would have
        db_path, base_path = Path(folder) / "a.db", Path(folder) / "b.db"
        build_database(db_path, listings)
        shutil.copy(db_path, base_path)
        end_to_end(ROOT, db_path, args.jobs)
        end_to_end(baseline, base_path, baseline_jobs)
        starts = (None, None)
        if args.first:
            starts = (_unevaluated(db_path), _unevaluated(base_path))
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        measured, base, alone = [], [], []
        cpu_measured, cpu_base, writer_measured, writer_base = [], [], [], []
        for pair in range(1, max(3, args.pairs) + 1):
            wall, cpu, writer = end_to_end(ROOT, db_path, args.jobs, starts[0])
            measured.append(wall)
            cpu_measured.append(cpu)
            writer_measured.append(writer * 1e6)
            wall, cpu, writer = end_to_end(baseline, base_path, baseline_jobs, starts[1])
            base.append(wall)
            cpu_base.append(cpu)
            writer_base.append(writer * 1e6)
            alone.append(evaluator_rate(len(listings) // args.copies))
            print(
                f"  pair {pair}: A {measured[-1]:8,.0f}/s   B {base[-1]:8,.0f}/s"
                f"   evaluator alone {alone[-1]:8,.0f}/s   (CPU time: A {cpu_measured[-1]:,.0f}/s,"
                f" B {cpu_base[-1]:,.0f}/s; writer process: A {writer_measured[-1]:,.0f} µs,"
                f" B {writer_base[-1]:,.0f} µs a listing)"
            )
        print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    ratios = [a / b for a, b in zip(measured, base, strict=True)]
    shares = [a / (e * args.jobs) for a, e in zip(measured, alone, strict=True)]
    base_shares = [b / (e * baseline_jobs) for b, e in zip(base, alone, strict=True)]
    print(f"A this tree --jobs {args.jobs}: {_spread(measured)}")
    print(f"B {name}: {_spread(base)}")
    print(f"evaluator alone: {_spread(alone)}")
    print(f"ratio A/B:       {_spread(ratios, '{:.2f}', '×')}")
    print(f"A / (evaluator × {args.jobs}): {_spread(shares, '{:.2f}', '')}")
    print(f"B / (evaluator × {baseline_jobs}): {_spread(base_shares, '{:.2f}', '')}")
    # per CPU second, end to end against the evaluator alone: the share of the work that is scoring
    for side, cpu in (("A", cpu_measured), ("B", cpu_base)):
        cpu_shares = [c / e for c, e in zip(cpu, alone, strict=True)]
        print(f"end to end per CPU second ({side}): {_spread(cpu)}")
        print(
            f"  / evaluator alone: {_spread(cpu_shares, '{:.2f}', '')}"
            " (the rest: start-up, rows, writes)"
        )
    print(f"writer process CPU a listing, A: {_spread(writer_measured, unit=' µs')}")
    print(f"writer process CPU a listing, B: {_spread(writer_base, unit=' µs')}")
    met = "met" if statistics.median(shares) >= GOAL_SHARE else "NOT met"
    print(f"goal {GOAL_SHARE} × evaluator rate × {args.jobs}: {met} (median)")


if __name__ == "__main__":
    main()
