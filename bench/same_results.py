"""Check that the evaluator gives the same results as at a git revision on every real listing.

    .venv/bin/python bench/same_results.py [--baseline main] [--rubric post --rubric extended]

Every row of ../shared/data/real_listings/vitc_listings_all.csv with a title is turned into a listing
(bench/real_listings.listing_from_row), evaluated and judged (evaluator.relevance.judge: is it a
candidate) by this tree's evaluator and by the evaluator at the baseline revision (extracted with
`git archive`, in a separate process), and the JSON compared. Prints the number of results that
differ (and the first few listing ids); exits 1 when any does. A speed-up must leave this at 0.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))


def _results(root: str, rubrics: list[str]) -> list[str]:
    """One JSON line per listing and rubric, from the evaluator under ``root`` (run in-process)."""
    sys.path.insert(0, root)
    from real_listings import listing_from_row, read_rows

    from evaluator import evaluate
    from evaluator.relevance import judge

    rows = read_rows() or []
    listings = [listing_from_row(r) for r in rows]
    evaluations = [
        json.dumps(evaluate(listing, rubric), sort_keys=True, default=str)
        for rubric in rubrics
        for listing in listings
    ]
    judgements = [
        json.dumps({"listing_id": listing["id"], "judgement": judge(listing)}, sort_keys=True)
        for listing in listings
    ]
    return evaluations + judgements


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", default="main", help="a git revision")
    parser.add_argument("--rubric", action="append", help="default: post and extended")
    parser.add_argument("--side", help=argparse.SUPPRESS)
    args = parser.parse_args()
    rubrics = args.rubric or ["post", "extended"]
    if args.side:
        print("\n".join(_results(args.side, rubrics)))
        return
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.baseline, "evaluator", "data"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        sides = []
        for root in (str(ROOT), folder):
            command = [sys.executable, __file__, "--side", root]
            command += [f"--rubric={r}" for r in rubrics]
            sides.append(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    ours, theirs = (s.splitlines() for s in sides)
    if not ours or len(ours) != len(theirs):
        print(f"different number of results: {len(ours)} here, {len(theirs)} at {args.baseline}")
        sys.exit(1)
    differ = [json.loads(a)["listing_id"] for a, b in zip(ours, theirs, strict=True) if a != b]
    print(
        f"{len(ours):,} evaluations ({', '.join(rubrics)}) and relevance judgements:"
        f" {len(differ)} differ from"
        f" {args.baseline}" + (f", e.g. {differ[:5]}" if differ else "")
    )
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
