"""Benchmark: evaluator listings/s per core on realistic listings, alternated with a baseline.

    .venv/bin/python bench/evaluate.py [--pairs 3] [--baseline main | --baseline decode]
                                       [--rubric post [--rubric extended]] [--count 2000] [--profile]

Goal (issue 12): at least 5,000 realistic listings/s on one core (CPU time of the process).

Listings: the rows of ../shared/data/real_listings/ when present (their INCI lists: median 39
ingredients), each given a description of a few hundred characters (its own, or another row's when it
has none) and two variants (its size and a travel size); else generated listings of the same shape
(25-40 ingredients, 300-600 characters of description, two variants). Each listing is evaluated once
per run, as `serumscope evaluate` does, so the ingredient-name cache warms up only as it would there.

Sides, alternated A B A B ... in fresh processes (`--pairs`, at least 3): A is this tree's evaluator,
B the baseline: the evaluator of a git revision (`--baseline REV`, default `main`, extracted with
`git archive` into a temporary folder; nothing in the tree changes) or `decode` (json decode only).
Each side prints its CPU-time rate; the summary gives the median and spread (min-max) of each side
and of the ratio A/B over the pairs. Only `evaluate(listing, rubric)` is timed; data files are read
before timing starts in both sides. With several `--rubric`s (as publishing scores `post` and
`extended`) a listing counts once for all of them: a side times `evaluate_many(listing, rubrics)`
(facts read once) where its evaluator has it, else `evaluate` once per rubric.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

GOAL = 5_000

NAMES = """Water|Glycerin|Propanediol|Butylene Glycol|Aloe Barbadensis Leaf Juice|Sodium Hyaluronate|
Niacinamide|Squalane|Caprylic/Capric Triglyceride|Ferulic Acid|Tocopherol|Panthenol|Allantoin|
Camellia Sinensis Leaf Extract|Citric Acid|Xanthan Gum|Phenoxyethanol|Ethylhexylglycerin|
Sodium Benzoate|Potassium Sorbate|Disodium EDTA|Parfum (Fragrance)|Limonene|Dimethicone|
Cetearyl Alcohol|Glyceryl Stearate|PEG-100 Stearate|Hydroxyethylcellulose|Carbomer|Sodium Hydroxide|
Pentylene Glycol|1,2-Hexanediol|Caprylyl Glycol|Bisabolol|Centella Asiatica Extract|Adenosine|
Polysorbate 20|Lecithin|Sodium Citrate|Hydrolyzed Hyaluronic Acid|Betaine|Trehalose|
Simmondsia Chinensis (Jojoba) Seed Oil|Helianthus Annuus (Sunflower) Seed Oil|Ceramide NP|
Acetyl Hexapeptide-8|Palmitoyl Tripeptide-1|Chlorphenesin|Tetrasodium Glutamate Diacetate|
Rosa Canina Fruit Oil|Glycyrrhiza Glabra (Licorice) Root Extract|Ethoxydiglycol|Sodium PCA|Urea|
Titanium Dioxide (CI 77891)|Iron Oxides (CI 77491)|Mica""".replace("\n", "").split("|")
FORMS = ["Ascorbic Acid", "Sodium Ascorbyl Phosphate", "3-O-Ethyl Ascorbic Acid",
         "Tetrahexyldecyl Ascorbate", "Ascorbyl Glucoside", "Magnesium Ascorbyl Phosphate"]  # fmt: skip
PHRASES = [
    "A brightening serum with {p}% {form} to fade dark spots and even skin tone.",
    "Packed in an amber glass dropper bottle to keep the vitamin C fresh.",
    "With 1% vitamin E and 0.5% ferulic acid for antioxidant protection.",
    "Apply 3-4 drops morning and evening after cleansing; follow with sunscreen.",
    "Clinically shown to improve radiance by 45% in 4 weeks.",
    "Free from parabens, sulfates and synthetic fragrance. Vegan and cruelty free.",
    "Lightweight, fast-absorbing texture for all skin types, including sensitive skin.",
    "Store in a cool, dark place. Airless pump keeps air out.",
]


def _generated(count: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    listings = []
    for i in range(count):
        form, percent = rng.choice(FORMS), rng.choice([5, 10, 15, 20])
        inci = rng.sample(NAMES[1:], rng.randint(24, 39))
        inci.insert(rng.randint(1, 6), form)
        description = " ".join(
            p.format(form=form, p=percent) for p in rng.sample(PHRASES, rng.randint(3, 6))
        )
        listings.append(
            {
                "id": f"bench:{i}",
                "title": f"{percent}% Vitamin C Serum",
                "description": description,
                "ingredients_text": "Water, " + ", ".join(inci) + ".",
                "categories": ["Skincare", "Serums"],
                "variants": [
                    {"position": 0, "title": "30 ml", "price": "29.00", "currency": "USD"}
                ],
            }
        )
    return listings


def realistic_listings(count: int) -> tuple[list[dict], str]:
    """Listings of the shape the issue names, and where they came from."""
    try:
        from real_listings import listing_from_row, read_rows

        rows = read_rows()
    except Exception:  # the bench still runs without the shared data
        rows = None
    if rows:
        listings = [listing_from_row(r) for r in rows if r.get("ingredients_text")]
        source = "real listings (../shared/data/real_listings)"
    else:
        listings = _generated(count)
        source = "generated listings (no ../shared/data/real_listings)"
    descriptions = [d for d in (x.get("description") for x in listings) if d and len(d) >= 200]
    for index, listing in enumerate(listings[:count]):
        if not listing.get("description") or len(listing["description"]) < 200:
            listing["description"] = descriptions[index % len(descriptions)]
        first = listing["variants"][0]
        try:
            travel_price = f"{float(first.get('price') or 0) * 0.6:.2f}"
        except ValueError:
            travel_price = "15.00"
        listing["variants"].append(
            {"position": 1, "title": "Travel size 15 ml", "price": travel_price,
             "currency": first.get("currency") or "USD"}
        )  # fmt: skip
        listing["is_candidate"] = 1
    return listings[:count], source


def _describe(listings: list[dict]) -> str:
    items = statistics.median((x["ingredients_text"] or "").count(",") + 1 for x in listings)
    description = statistics.median(len(x["description"] or "") for x in listings)
    variants = statistics.median(len(x["variants"]) for x in listings)
    return (
        f"{len(listings):,} listings: median {items:.0f} ingredients, {description:.0f} characters of"
        f" description, {variants:.0f} variants"
    )


def side(root: str | None, rubrics: list[str], count: int) -> None:
    """One timed side (run in its own process): prints JSON {rate, seconds}."""
    lines = [json.dumps(listing) for listing in realistic_listings(count)[0]]
    if root is None:  # baseline: json decode only
        started = time.process_time()
        for line in lines:
            json.loads(line)
    else:
        sys.path.insert(0, root)
        import evaluator

        if len(rubrics) > 1 and hasattr(evaluator, "evaluate_many"):
            evaluate_all = partial(evaluator.evaluate_many, rubrics=rubrics)
        else:
            evaluate_all = partial(_one_by_one, evaluator.evaluate, rubrics)
        evaluate_all(json.loads(lines[0]))  # data files read before timing
        import price_parser  # noqa: F401  the evaluator's lazy import (~35 ms), not timed either

        started = time.process_time()
        for line in lines:
            evaluate_all(json.loads(line))
    seconds = time.process_time() - started
    print(json.dumps({"rate": len(lines) / seconds, "seconds": seconds}))


def _one_by_one(evaluate: Callable, rubrics: list[str], listing: dict) -> list[dict]:
    return [evaluate(listing, rubric) for rubric in rubrics]


def _run_side(root: str | None, args: argparse.Namespace) -> float:
    command = [sys.executable, __file__, "--side", root or "decode"]
    command += [f"--rubric={rubric}" for rubric in args.rubric]
    output = subprocess.run(
        [*command, "--count", str(args.count)], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])["rate"]


def _baseline_root(revision: str, folder: Path) -> str:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "evaluator", "data"],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return str(folder)


def _spread(values: list[float], unit: str = "/s") -> str:
    fmt = "{:,.0f}" if unit == "/s" else "{:.2f}"
    return (
        f"median {fmt.format(statistics.median(values))}{unit}"
        f" (spread {fmt.format(min(values))}-{fmt.format(max(values))}{unit})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--baseline", default="main", help="a git revision, or 'decode'")
    parser.add_argument("--rubric", action="append", help="default: post; repeat for several")
    parser.add_argument("--count", type=int, default=2_000, help="listings per side (at most)")
    parser.add_argument("--profile", action="store_true", help="profile this tree's side once")
    parser.add_argument("--side", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.rubric = args.rubric or ["post"]
    if args.side:
        side(None if args.side == "decode" else args.side, args.rubric, args.count)
        return

    listings, source = realistic_listings(args.count)
    print(
        f"goal:      >= {GOAL:,} realistic listings/s on one core (CPU time),"
        f" rubric {' + '.join(args.rubric)}"
    )
    print(f"listings:  {_describe(listings)}; {source}")
    if args.profile:
        from evaluator import evaluate_many

        evaluate_many(listings[0], args.rubric)
        profiler = cProfile.Profile()
        profiler.runcall(lambda: [evaluate_many(listing, args.rubric) for listing in listings])
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    pairs = max(3, args.pairs)
    with tempfile.TemporaryDirectory() as folder:
        baseline = (
            None if args.baseline == "decode" else _baseline_root(args.baseline, Path(folder))
        )
        label = "json decode only" if baseline is None else f"evaluator at {args.baseline}"
        print(f"A = this tree's evaluator, B = {label}; {pairs} pairs, A B A B ...")
        measured, base = [], []
        for pair in range(1, pairs + 1):
            measured.append(_run_side(str(ROOT), args))
            base.append(_run_side(baseline, args))
            print(f"  pair {pair}: A {measured[-1]:9,.0f}/s   B {base[-1]:9,.0f}/s")
    ratios = [a / b for a, b in zip(measured, base, strict=True)]
    print(f"A this tree:   {_spread(measured)}")
    print(f"B baseline:    {_spread(base)}")
    print(f"ratio A/B:     {_spread(ratios, '×')}")
    met = "met" if statistics.median(measured) >= GOAL else "NOT met"
    print(f"goal {GOAL:,}/s per core: {met} (median of A)")


if __name__ == "__main__":
    main()
