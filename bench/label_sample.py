"""Draw the labelled sample of real listings (bench/labels/): which rows, and which are held out.

    .venv/bin/python bench/label_sample.py [--size 450] [--export DIR]

Stratified by source and the CSV's product-type guess (serums, oils and treatments drawn twice as
often, so the candidate class is well represented), seeded, so the same rows come out every time. A
third of the rows, chosen by a hash of the row key before any tuning, is held out: never tune on it.
``--export DIR`` writes the drawn rows (outside the project: the listing text is not ours to copy) as
JSON lines for the people labelling them, following ../shared/LABELING.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from real_listings import DEFAULT_FOLDER, read_rows  # noqa: E402

SEED = 20261129
CANDIDATE_TYPES = {"serum", "oil", "treatment"}
LABEL_FIELDS = (
    "hid", "source_dataset", "brand", "name", "category", "size_text", "price_raw", "currency",
    "highlights_or_description", "ingredients_text",
)  # fmt: skip


def split_of(hid: str) -> str:
    """ "heldout" for a third of the keys, fixed by a hash so it never depends on tuning."""
    return "heldout" if int(hashlib.sha1(hid.encode()).hexdigest(), 16) % 3 == 0 else "tuning"


def draw(rows: list[dict], size: int) -> list[dict]:
    strata: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        strata[(row["source_dataset"], row["product_type_guess"])].append(row)
    weight = {key: len(v) * (2 if key[1] in CANDIDATE_TYPES else 1) for key, v in strata.items()}
    total = sum(weight.values())
    rng = random.Random(SEED)
    sample = []
    for key in sorted(strata):
        members = sorted(strata[key], key=lambda r: r["hid"])
        want = min(len(members), max(2, round(size * weight[key] / total)))
        sample.extend(rng.sample(members, want))
    return sorted(sample, key=lambda r: r["hid"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--size", type=int, default=450)
    parser.add_argument("--export", type=Path, help="write the rows to label here (not the repo)")
    args = parser.parse_args()
    rows = read_rows(args.folder)
    if rows is None:
        sys.exit(f"{args.folder} not found (the real listings live outside the project)")
    sample = draw(rows, args.size)
    held = sum(split_of(r["hid"]) == "heldout" for r in sample)
    print(
        f"{len(sample)} rows drawn from {len(rows)}: {held} held out, {len(sample) - held} tuning"
    )
    if args.export:
        args.export.mkdir(parents=True, exist_ok=True)
        with (args.export / "rows.jsonl").open("w", encoding="utf-8") as handle:
            for row in sample:
                record = {k: row.get(k, "")[:6000] for k in LABEL_FIELDS}
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(f"wrote {args.export / 'rows.jsonl'}")


if __name__ == "__main__":
    main()
