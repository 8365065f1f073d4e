"""Accuracy of the parsers on the example tables, held-out tables first; the device table per fact
(device type, needle lengths, needle material, needle count; the goal is >= 0.95 on each).

    .venv/bin/python bench/accuracy.py [--wrong]

The held-out tables (tests/examples/heldout_*.toml) were written before the parsers were tuned and
are never used to tune them; the tuning tables are the ones the parametrised tests pin down.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from example_tables import CHECKERS, DEVICE_FACTS, accuracy, device_accuracy  # noqa: E402

EXAMPLES = ROOT / "tests" / "examples"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--wrong", action="store_true", help="print the cases the parsers get wrong"
    )
    args = parser.parse_args()
    for title, prefix in (("held-out (not tuned on)", "heldout_"), ("tuning tables", "")):
        right_total = cases_total = 0
        print(title)
        for kind in CHECKERS:
            right, total, wrong = accuracy(kind, EXAMPLES / f"{prefix}{kind}.toml")
            right_total, cases_total = right_total + right, cases_total + total
            print(f"  {kind:12s} {right:4d} / {total:<4d} {right / total:7.1%}")
            if args.wrong:
                for text, expected, got in wrong:
                    print(f"      {text!r}: expected {expected!r}, got {got!r}")
        print(
            f"  {'all':12s} {right_total:4d} / {cases_total:<4d} {right_total / cases_total:7.1%}"
        )
        # micro-needling devices: one table, scored per fact (goal >= 0.95 each)
        per_fact = device_accuracy(EXAMPLES / f"{prefix}devices.toml")
        for fact in DEVICE_FACTS:
            right, total, wrong = per_fact[fact]
            print(f"  {'device ' + fact:16s} {right:4d} / {total:<4d} {right / total:7.1%}")
            if args.wrong:
                for title, expected, got in wrong:
                    print(f"      {title!r}: expected {expected!r}, got {got!r}")


if __name__ == "__main__":
    main()
