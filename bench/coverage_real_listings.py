"""Coverage on real listings: how often the evaluator finds a vitamin C form, a size, a price, an
ingredient list and stated percentages in ../shared/data/real_listings/ (read only, never copied).

    .venv/bin/python bench/coverage_real_listings.py [--folder PATH] [--show-misses N] [--show-unknown N]

Rows become listing dicts through bench/real_listings.py (the one loader every bench shares).
"Vitamin C forms the source names" checks the forms the row's own ``vitc_terms`` column says its
ingredients field contains (a keyword match made when the data was gathered, so kits and highlight
bullets count too) against the forms the evaluator reports. "Ingredient names recognised" is also
given for the tuning two-thirds and the held-out third of the rows (bench/label_sample.py's split).
``--show-unknown N`` prints the N most frequent unrecognised names in the tuning rows only (names
without their parentheses): the list to work through when raising "ingredient names recognised";
never add names from the held-out rows. Skips with a message when the folder is absent.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from label_sample import split_of  # noqa: E402
from real_listings import DEFAULT_FOLDER, listing_from_row, read_rows  # noqa: E402

from evaluator import evaluate  # noqa: E402
from evaluator.inci_names import name_key  # noqa: E402
from evaluator.schema import problems  # noqa: E402
from evaluator.vocab import ingredients, lookup_key  # noqa: E402

SERUM_TYPES = {"serum", "treatment", "oil"}
STRONG = {"strong_name", "strong_inci"}


def named_forms(row: dict) -> set[str]:
    """The vitamin C forms the row's ``vitc_terms`` says its ingredients field names."""
    forms = set()
    for term in (row.get("vitc_terms") or "").split("|"):
        term = term.strip()
        if term.startswith("ingr:"):
            # generic terms ("ingr:ascorbyl") name no form; only vocabulary names count
            found = ingredients().by_key.get(lookup_key(term.removeprefix("ingr:")))
            if found is not None and found.vitamin_c_form not in (None, "unspecified"):
                forms.add(found.vitamin_c_form)
    return forms


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument(
        "--show-misses", type=int, default=0, help="print N strong serums with no form found"
    )
    parser.add_argument(
        "--show-unknown", type=int, default=0, help="print the N commonest unrecognised names"
    )
    args = parser.parse_args()
    rows = read_rows(args.folder)
    if rows is None:
        print(f"skipped: {args.folder} not found (the real listings live outside the project)")
        return

    groups: dict[str, Counter] = {
        "all listings": Counter(),
        "strong vitamin C serums/oils": Counter(),
    }
    by_split: dict[str, Counter] = {"tuning": Counter(), "heldout": Counter()}
    misses, unknown = [], Counter()
    invalid = parser_errors = 0
    started = time.process_time()
    for row in rows:
        listing = listing_from_row(row)
        result = evaluate(listing)
        facts = result["facts"]
        invalid += bool(problems(result, listing))
        parser_errors += bool(facts["problems"])
        items = facts["ingredients"]["items"]
        split = split_of(row["hid"])
        by_split[split]["ingredients"] += len(items)
        by_split[split]["ingredients known"] += sum(1 for i in items if i["known"])
        if split == "tuning":
            unknown.update(name_key(i["raw"]) for i in items if not i["known"])
        forms = {f["form"] for f in facts["vitamin_c"]["forms"]}
        expected = named_forms(row)
        seen = {
            "a vitamin C form": bool(forms),
            "a vitamin C form in the INCI list": any(
                f["position"] is not None for f in facts["vitamin_c"]["forms"]
            ),
            "vitamin C named (form or words)": facts["vitamin_c"]["mentioned"],
            "a size (mL or g)": facts["size"]["kind"] in ("volume", "weight"),
            "a size in mL": facts["size"]["kind"] == "volume",
            "a price": facts["price"]["status"] == "found",
            "price per 30 mL": facts["price_per_30ml"] is not None,
            "an ingredient list (>= 5 items)": facts["ingredients"]["count"] >= 5,
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
            counter["forms named"] += len(expected)
            counter["forms named and found"] += len(expected & forms)
            for label, hit in seen.items():
                if hit:
                    counter[label] += 1
        if strong and not forms:
            misses.append((row.get("name"), (row.get("ingredients_text") or "")[:160]))
    seconds = time.process_time() - started

    print(f"real listings: {len(rows):,} rows from {args.folder} ({len(rows) / seconds:,.0f}/s)")
    print(f"{'found':36s}" + "".join(f"{name:>32s}" for name in groups))
    for label in seen:
        line = f"{label:36s}"
        for counter in groups.values():
            share = counter[label] / counter["listings"] if counter["listings"] else 0
            line += f"{counter[label]:>20,} ({share:6.1%})    "
        print(line)
    for label, part, whole in (
        ("ingredient names recognised", "ingredients known", "ingredients"),
        ("vitamin C forms the source names", "forms named and found", "forms named"),
    ):
        line = f"{label:36s}"
        for counter in groups.values():
            share = counter[part] / counter[whole] if counter[whole] else 0
            line += f"{counter[part]:>12,} / {counter[whole]:<6,} ({share:6.1%})"
        print(line)
    print(
        "ingredient names recognised by split: "
        + ", ".join(
            f"{name} {c['ingredients known']:,} / {c['ingredients']:,} "
            f"({c['ingredients known'] / max(c['ingredients'], 1):.1%})"
            for name, c in by_split.items()
        )
    )
    print(f"outputs failing the schema: {invalid}; listings with a parser error: {parser_errors}")
    for name, text in misses[: args.show_misses]:
        print(f"  no form: {name!r}: {text!r}")
    if args.show_unknown:
        print(f"most frequent unrecognised names in the tuning rows ({len(unknown):,} distinct):")
        for name, count in unknown.most_common(args.show_unknown):
            print(f"  {count:5d}  {name[:100]}")


if __name__ == "__main__":
    main()
