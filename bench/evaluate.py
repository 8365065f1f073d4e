"""Benchmark: score generated listings in one process; print listings/s beside the json-decode cost.

    .venv/bin/python bench/evaluate.py [--count 100000] [--rubric post] [--rounds 3] [--profile]

The listings are generated from shop-like phrases (titles, descriptions, INCI lists, variants) with a
fixed seed, stored as JSON lines in memory, then (1) only decoded and (2) decoded and evaluated.
Goal: at least 5,000 listings/s on one core.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evaluator import evaluate  # noqa: E402

FORMS = [
    "Sodium Ascorbyl Phosphate",
    "L-Ascorbic Acid",
    "Ascorbic Acid",
    "3-O-Ethyl Ascorbic Acid",
    "Tetrahexyldecyl Ascorbate",
    "Ascorbyl Glucoside",
    "Magnesium Ascorbyl Phosphate",
    "Vitamin C",
]
TITLES = [
    "{p}% Vitamin C Serum",
    "Vitamin C Serum with Hyaluronic Acid",
    "Brightening C + E Serum",
    "{form} {p}% Booster",
    "Glow Drops",
    "C-Firm Serum {p}",
    "Vitamin C Facial Oil",
    "Radiance Serum",
]
PACKAGING = [
    "Packed in an amber glass dropper bottle.",
    "Clear glass bottle with pipette.",
    "Airless pump keeps air out.",
    "Opaque airless bottle.",
    "Store in a cool, dark place.",
    "Fades dark spots for clearer skin.",
    "Violet Miron glass.",
    "",
    "Light, fast-absorbing texture.",
]
CLAIMS = [
    "{p}% {form}, 1% Vitamin E and 0.5% Ferulic Acid.",
    "With vitamin C, vitamin E and ferulic acid.",
    "Now 20% off!",
    "98% natural origin.",
    "Reduces dark spots by 45% in 4 weeks.",
    "{form} ({p}%) with 2% hyaluronic acid.",
    "pH 3.2.",
    "100% vegan and cruelty free.",
]
BASE = [
    "Water",
    "Aqua (Water)",
    "Glycerin",
    "Propanediol",
    "Butylene Glycol",
    "Aloe Barbadensis Leaf Juice",
    "Sodium Hyaluronate",
    "Niacinamide",
    "Squalane",
    "Caprylic/Capric Triglyceride",
    "Ferulic Acid",
    "Tocopherol",
    "Panthenol",
    "Allantoin",
    "Camellia Sinensis Leaf Extract",
    "Citric Acid",
]
TAIL = [
    "Xanthan Gum",
    "Phenoxyethanol",
    "Ethylhexylglycerin",
    "Sodium Benzoate",
    "Potassium Sorbate",
    "Disodium EDTA",
    "Parfum (Fragrance)",
    "Limonene",
    "Citrus Limon (Lemon) Peel Oil",
]
SIZES = [
    "30 ml",
    "1 fl oz",
    "1.0 oz / 30 mL",
    "15 ml",
    "2 x 15 ml",
    "50 g",
    "60ml",
    "Default Title",
    "0 ml",
]
PRICES = ["29.00", "36.00", "13.99", "54.00", "N/A", "19.50", "120.00", "-5", "24.99"]
CURRENCIES = ["USD", "USD", "USD", "GBP", "EUR"]  # fmt: skip


def generate(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for i in range(count):
        form, percent = rng.choice(FORMS), rng.choice([5, 10, 12, 15, 20, 22, 25])
        fill = {"form": form, "p": percent}
        inci = [rng.choice(BASE[:2])] + rng.sample(BASE[2:], rng.randint(3, 9))
        inci.insert(rng.randint(1, len(inci)), form)
        inci += rng.sample(TAIL, rng.randint(1, 4))
        description = " ".join(
            [
                rng.choice(CLAIMS).format(**fill),
                rng.choice(PACKAGING),
                rng.choice(CLAIMS).format(**fill),
            ]
            + ["Apply 3-4 drops morning and evening after cleansing."] * rng.randint(0, 3)
        )
        listing = {
            "id": f"bench:{i}",
            "title": rng.choice(TITLES).format(**fill),
            "description": description,
            "ingredients_text": ", ".join(inci) + ".",
            "image_alts": [f"{rng.choice(PACKAGING)} product shot"],
            "tags": ["vitamin c", "serum"],
            "is_candidate": 1,
            "variants": [
                {"title": rng.choice(SIZES), "price": rng.choice(PRICES), "currency": rng.choice(CURRENCIES),
                 "regular_price": rng.choice([None, None, "40.00"]), "available": 1}
                for _ in range(rng.randint(1, 3))
            ],
        }  # fmt: skip
        lines.append(json.dumps(listing))
    return lines


def _timed(function, lines: list[str]) -> tuple[float, float]:
    started, cpu_started = time.perf_counter(), time.process_time()
    function(lines)
    return time.perf_counter() - started, time.process_time() - cpu_started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--rubric", default="post")
    parser.add_argument(
        "--rounds", type=int, default=3, help="repeat and report each round (the machine is shared)"
    )
    parser.add_argument("--profile", action="store_true", help="print the 25 costliest functions")
    args = parser.parse_args()

    lines = generate(args.count)
    evaluate(json.loads(lines[0]), args.rubric)  # vocabularies and rubric load once, untimed
    verdicts: dict[str, int] = {}

    def decode_only(batch: list[str]) -> None:
        for line in batch:
            json.loads(line)

    def decode_and_evaluate(batch: list[str]) -> None:
        verdicts.clear()
        for line in batch:
            verdict = evaluate(json.loads(line), args.rubric)["verdict"]
            verdicts[verdict] = verdicts.get(verdict, 0) + 1

    n = args.count
    size = sum(map(len, lines)) / n
    print(
        f"listings:           {n:,} generated (rubric {args.rubric}, {size:,.0f} bytes of JSON each)"
    )
    print("                    wall clock                   CPU time of this process")
    best_cpu = float("inf")
    for round_number in range(1, args.rounds + 1):
        decode_wall, decode_cpu = _timed(decode_only, lines)
        profiler = cProfile.Profile() if args.profile and round_number == 1 else None
        if profiler:
            profiler.enable()
        total_wall, total_cpu = _timed(decode_and_evaluate, lines)
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        best_cpu = min(best_cpu, total_cpu)
        print(f"round {round_number}")
        for label, wall, cpu in (
            ("  json decode only", decode_wall, decode_cpu),
            ("  decode + evaluate", total_wall, total_cpu),
        ):
            print(
                f"{label:20s}{wall:6.2f} s = {n / wall:9,.0f}/s      {cpu:6.2f} s = {n / cpu:9,.0f}/s"
            )
        print(f"  evaluate alone:   {(total_cpu - decode_cpu) / n * 1e6:,.0f} µs CPU per listing")
    print(f"verdicts:           {verdicts}")
    met = "met" if n / best_cpu >= 5000 else "NOT met"
    print(f"best round:         {n / best_cpu:,.0f} listings/s (decode + evaluate, CPU time)")
    print(f"goal:               5,000 listings/s on one core: {met}")


if __name__ == "__main__":
    main()
