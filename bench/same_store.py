"""Check that `serumscope evaluate` stores the same rows as at a git revision, on the realistic listings.

    .venv/bin/python bench/same_store.py [--baseline main] [--copies 2] [--jobs 2]

bench/evaluate_jobs.py's database (the rows of ../shared/data/real_listings/, ``--copies`` times)
is evaluated with `serumscope evaluate --all` by this tree and by the tree at the baseline revision
(extracted with `git archive`, run with this tree's interpreter), each on its own copy of a database
evaluated once and then made stale (a third of the evaluations deleted, a third given another
verdict, so each side has to write its rows and the site's tables again). Then every
table the evaluation writes or the site reads from it (evaluations, ingredients, actives, scores, the
counted tables, score_changes) is compared row by row, leaving out the columns that hold the time of
the run. Prints the tables that differ; exits 1 when any does. A faster writer must leave this at 0.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from evaluate_jobs import _listings, build_database  # noqa: E402  (bench/ is not a package)

TABLES = [
    "evaluations",
    "ingredients",
    "actives",
    "scores",
    "scores_facet_counts",
    "scores_shop_verdicts",
    "scores_category_verdicts",
    "score_changes",
]
TIMES = {"evaluated_at", "changed_at", "id"}  # the time of the run, and row ids that follow it
COUNTS = {"count", "listings"}  # a count that fell to zero: a row to the triggers, none to a refill


def _rows(db_file: Path, table: str) -> list[tuple]:
    connection = sqlite3.connect(db_file)
    try:
        columns = [r[1] for r in connection.execute(f"pragma table_info([{table}])")]
        kept = [c for c in columns if c not in TIMES]
        names = ", ".join(f"[{c}]" for c in kept)
        counted = next((c for c in columns if c in COUNTS), None)
        where = f" WHERE [{counted}] > 0" if counted else ""
        return connection.execute(
            f"SELECT {names} FROM [{table}]{where} ORDER BY {names}"
        ).fetchall()
    finally:
        connection.close()


def _make_stale(db_file: Path) -> None:
    """Stored results each side must replace: some evaluations gone, others with another verdict
    (the triggers carry both into scores, so a writer that left scores as they were would differ);
    ingredient rows gone, changed or added (a writer that kept a listing's rows it took for
    unchanged would differ)."""
    connection = sqlite3.connect(db_file)
    with connection:
        connection.execute("DELETE FROM evaluations WHERE rowid % 3 = 0")
        connection.execute(
            "UPDATE evaluations SET score = 1, verdict = 'avoid' WHERE rowid % 3 = 1"
        )
        connection.execute("DELETE FROM ingredients WHERE rowid % 11 = 0")
        connection.execute("UPDATE ingredients SET canonical = 'stale' WHERE rowid % 13 = 0")
        connection.execute("UPDATE ingredients SET known = 1 - known WHERE rowid % 17 = 0")
        connection.execute(
            "INSERT INTO ingredients (listing_id, position, raw, canonical, known)"
            " SELECT id, 999, 'Stale', 'stale', 0 FROM listings WHERE rowid % 5 = 0"
        )
    connection.close()


def _evaluate(tree: Path, db_file: Path, jobs: int) -> None:
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-m", "serumscope.cli", "evaluate", "--db", str(db_file), "--all"]
    subprocess.run(
        [*command, "--jobs", str(jobs)], env=environment, cwd=tree, check=True, capture_output=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", default="main", help="a git revision")
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        baseline = Path(folder) / "baseline"
        baseline.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.baseline], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(baseline)], input=archive, check=True)
        listings = _listings(args.copies)
        original = Path(folder) / "listings.db"
        build_database(original, listings)
        _evaluate(ROOT, original, 1)  # judges relevance and fills evaluations, as a run would
        _make_stale(original)
        sides = {}
        for name, tree in (("here", ROOT), (args.baseline, baseline)):
            copy = Path(folder) / f"{name.replace('/', '-')}.db"
            shutil.copy(original, copy)
            _evaluate(tree, copy, args.jobs)
            sides[name] = {table: _rows(copy, table) for table in TABLES}
    here, there = sides["here"], sides[args.baseline]
    differ = [table for table in TABLES if here[table] != there[table]]
    print(
        f"{len(listings):,} listings, `serumscope evaluate --all --jobs {args.jobs}`:"
        f" {sum(map(len, here.values())):,} rows in {len(TABLES)} tables;"
        f" {len(differ)} tables differ from {args.baseline}" + (f": {differ}" if differ else "")
    )
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
