"""Coverage on real listings: how often the evaluator finds a vitamin C form, a size, a price, an
ingredient list and stated percentages in ../shared/data/real_listings/ (read only, never copied).

    .venv/bin/python bench/coverage_real_listings.py [--folder PATH] [--show-misses N]

Rows become listing dicts the way a crawler would see the page: name -> title, highlights or
description -> description, the ingredients field -> ingredients_text (Kaggle's Python-list strings
are joined back into text), size and price -> one variant. Skips with a message when the folder is
absent.
"""

from __future__ import annotations

import argparse
import ast
import csv
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evaluator import evaluate  # noqa: E402
from evaluator.schema import problems  # noqa: E402

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "shared" / "data" / "real_listings"
SERUM_TYPES = {"serum", "treatment", "oil"}
STRONG = {"strong_name", "strong_inci"}


def _text(value: str) -> str:
    value = value.strip()
    if value.startswith("[") and value.endswith("]"):
        try:
            parts = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
        if isinstance(parts, list):
            # a part ending in ":" names the next product of a kit; other parts continue one list
            return "".join(
                f"{p}\n" if str(p).rstrip().endswith(":") else f"{p} " for p in parts
            ).strip()
    return value


def listing_from_row(row: dict) -> dict:
    price = row.get("price_raw") or row.get("price_usd") or ""
    return {
        "id": f"real:{row.get('source_dataset')}:{row.get('product_id') or row.get('name')}",
        "title": row.get("name") or "",
        "brand": row.get("brand") or None,
        "description": _text(row.get("highlights_or_description") or "") or None,
        "ingredients_text": _text(row.get("ingredients_text") or "") or None,
        "categories": [row["category"]] if row.get("category") else [],
        "is_candidate": 1,
        "variants": [
            {
                "position": 0,
                "title": row.get("size_text") or "Default Title",
                "price": price.replace("USD", "").replace("GBP", "").strip() or None,
                "currency": row.get("currency") or "USD",
            }
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument(
        "--show-misses", type=int, default=0, help="print N listings with no form found"
    )
    args = parser.parse_args()
    path = args.folder / "vitc_listings_all.csv"
    if not path.exists():
        print(f"skipped: {path} not found (the real listings live outside the project)")
        return
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))

    groups: dict[str, Counter] = {
        "all listings": Counter(),
        "strong vitamin C serums/oils": Counter(),
    }
    misses = []
    invalid = parser_errors = 0
    started = time.process_time()
    for row in rows:
        listing = listing_from_row(row)
        result = evaluate(listing)
        facts = result["facts"]
        invalid += bool(problems(result, listing))
        parser_errors += bool(facts["problems"])
        seen = {
            "a vitamin C form": bool(facts["vitamin_c"]["forms"]),
            "vitamin C named (form or words)": facts["vitamin_c"]["mentioned"],
            "a size (mL or g)": facts["size"]["kind"] in ("volume", "weight"),
            "a size in mL": facts["size"]["kind"] == "volume",
            "a price": facts["price"]["status"] == "found",
            "price per 30 mL": facts["price_per_30ml"] is not None,
            "an ingredient list (>= 5 items)": facts["ingredients"]["count"] >= 5,
            "ingredients recognised (share)": None,
            "any stated %": bool(facts["actives"]),
            "a stated vitamin C %": facts["vitamin_c"]["percent"] is not None,
            "light/packaging stated": facts["light"]["value"] != "unknown",
            "a dispenser named": facts["dispenser"]["value"] != "unknown",
        }
        strong = (
            row.get("vitc_confidence") in STRONG and row.get("product_type_guess") in SERUM_TYPES
        )
        for name, counter in groups.items():
            if name.startswith("strong") and not strong:
                continue
            counter["listings"] += 1
            counter["ingredients"] += facts["ingredients"]["count"]
            counter["ingredients known"] += facts["ingredients"]["known"]
            for label, hit in seen.items():
                if hit:
                    counter[label] += 1
        if strong and not facts["vitamin_c"]["forms"]:
            misses.append((row.get("name"), (row.get("ingredients_text") or "")[:160]))
    seconds = time.process_time() - started

    print(f"real listings: {len(rows):,} rows from {path} ({len(rows) / seconds:,.0f} listings/s)")
    labels = [label for label in seen if not label.startswith("ingredients recognised")]
    header = f"{'found':34s}" + "".join(f"{name:>32s}" for name in groups)
    print(header)
    for label in labels:
        line = f"{label:34s}"
        for counter in groups.values():
            share = counter[label] / counter["listings"] if counter["listings"] else 0
            line += f"{counter[label]:>20,} ({share:6.1%})    "
        print(line)
    line = f"{'ingredient names recognised':34s}"
    for counter in groups.values():
        share = (
            counter["ingredients known"] / counter["ingredients"] if counter["ingredients"] else 0
        )
        line += f"{counter['ingredients known']:>20,} ({share:6.1%})    "
    print(line)
    print(f"outputs failing the schema: {invalid}; listings with a parser error: {parser_errors}")
    for name, ingredients in misses[: args.show_misses]:
        print(f"  no form: {name!r}: {ingredients!r}")


if __name__ == "__main__":
    main()
