"""Benchmark: is every evaluator reader linear in its input? Times each reader on hostile fields of
50,000, 100,000 and 200,000 characters (200,000 is the read limit, evaluator.text.MAX_FIELD_CHARS) and
prints the time ratio 200k / 50k. Linear is about 4; quadratic would be about 16.

    .venv/bin/python bench/linearity.py [--sizes 50000,100000,200000] [--reader packaging]

Goal: every ratio below 6 and every 200,000-character field read in under 1 s.
The same readers and texts are run (untimed) by tests/test_evaluator_linearity.py.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from hostile_texts import HOSTILE_TEXTS, READERS  # noqa: E402

GOAL_RATIO = 6.0
GOAL_SECONDS = 1.0
NOISE_SECONDS = 0.02


def timed(reader, text: str) -> float:
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        reader(text)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50000,100000,200000")
    parser.add_argument("--reader", action="append", help="only this reader (repeatable)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    readers = {k: v for k, v in READERS.items() if not args.reader or k in args.reader}
    print(f"goal: ratio {sizes[-1] // 1000}k/{sizes[0] // 1000}k below {GOAL_RATIO:g} "
          f"(linear = {sizes[-1] / sizes[0]:g}), each {sizes[-1]:,}-char read under {GOAL_SECONDS:g} s")  # fmt: skip
    header = f"{'reader':<14} {'text':<20}" + "".join(f"{n // 1000:>8}k" for n in sizes)
    print(header + f"{'ratio':>8}")
    worst_ratio, worst_time, failures = 0.0, 0.0, 0
    for reader_name, reader in readers.items():
        for text_name, make in HOSTILE_TEXTS.items():
            times = [timed(reader, make(n)) for n in sizes]
            # Below 20 ms the ratio is timer, cache and GC noise: count it as linear.
            ratio = times[-1] / times[0] if times[-1] > NOISE_SECONDS else sizes[-1] / sizes[0]
            worst_ratio = max(worst_ratio, ratio)
            worst_time = max(worst_time, times[-1])
            bad = ratio >= GOAL_RATIO or times[-1] >= GOAL_SECONDS
            failures += bad
            print(f"{reader_name:<14} {text_name:<20}"
                  + "".join(f"{t * 1000:>7.1f}ms" for t in times)
                  + f"{ratio:>8.1f}" + ("  <-- over the goal" if bad else ""))  # fmt: skip
    print(f"worst ratio {worst_ratio:.1f} (goal < {GOAL_RATIO:g}), slowest {sizes[-1]:,}-char read "
          f"{worst_time * 1000:.0f} ms (goal < {GOAL_SECONDS * 1000:.0f} ms); {failures} over the goal")  # fmt: skip
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
