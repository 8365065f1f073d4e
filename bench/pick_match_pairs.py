"""Pick the fresh held-out product-matching pairs to label (bench/labels/matching_fresh.jsonl).

    .venv/bin/python bench/pick_match_pairs.py [--same-key 80] [--alike 70] [--export DIR]

Only pairs of held-out brands (``label_sample.split_of`` of the normalised brand, as
bench/matching.py splits them) in two sources, none already in bench/labels/matching.jsonl:
  (a) every pair the current matcher joins although the name keys differ;
  (b) a seeded random sample of the pairs sharing a name key;
  (c) the most alike pairs of one brand under two name keys (one pair per two keys, by rapidfuzz's
      token sort ratio of the matcher's normalised names), so there are plenty of same-brand
      non-matches. A pair also in (a) counts as (a).
Prints the keys and how each pair was found as JSON lines. ``--export DIR`` writes the rows of the
pairs side by side as JSON lines (outside the project: the listing text is not ours to copy), shuffled and
without how they were found, so that the labeller does not see what the matcher says.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import click
from rapidfuzz import fuzz

sys.path.insert(0, str(Path(__file__).resolve().parent))

from label_sample import split_of  # noqa: E402
from matching import dedup_key, read_labels, real_records, row_label_key, same_brand_pairs  # noqa: E402
from real_listings import joined_text, read_rows  # noqa: E402

from evaluator.product_match import match_products, normalise_name  # noqa: E402

SEED = 20261130
JOINED = "joined by the matcher, apart in the name key"
SAME_KEY = "one name key, random sample"
ALIKE = "most alike names of one brand under two name keys"
SHOWN = ("source_dataset", "brand", "name", "category", "size_text", "price_raw", "currency")


def pick(rows: list[dict], same_key: int, alike: int) -> list[dict]:
    keys = ["|".join(dedup_key(r.get("brand", ""), r.get("name", ""))) for r in rows]
    brands = [dedup_key(r.get("brand", ""), "")[0] for r in rows]
    names = [row_label_key(r) for r in rows]
    labelled = set(read_labels())
    pairs = [
        (i, j)
        for i, j in same_brand_pairs(rows, brands)
        if split_of(brands[i]) == "heldout" and tuple(sorted((names[i], names[j]))) not in labelled
    ]
    groups = [m["group"] for m in match_products(real_records(rows))]
    joined = [(i, j) for i, j in pairs if keys[i] != keys[j] and groups[i] == groups[j]]
    sharing = sorted(((i, j) for i, j in pairs if keys[i] == keys[j]), key=lambda p: tuple(
        sorted((names[p[0]], names[p[1]]))))  # fmt: skip
    sampled = random.Random(SEED).sample(sharing, min(same_key, len(sharing)))
    normalised = [normalise_name(r.get("name"), r.get("brand")) for r in rows]
    best: dict[tuple[str, str], tuple[float, tuple[str, str], tuple[int, int]]] = {}
    for i, j in pairs:
        if keys[i] == keys[j]:
            continue
        score = fuzz.token_sort_ratio(normalised[i], normalised[j])
        both = tuple(sorted((keys[i], keys[j])))
        candidate = (score, tuple(sorted((names[i], names[j]))), (i, j))
        if both not in best or candidate[:2] > best[both][:2]:
            best[both] = candidate
    ranked = sorted(best.values(), key=lambda c: (-c[0], c[1]))[:alike]
    click.echo(
        f"held-out pairs not yet labelled: {len(pairs)}; (a) joined across name keys "
        f"{len(joined)}; (b) {len(sampled)} of {len(sharing)} sharing a name key; (c) the "
        f"{len(ranked)} most alike of {len(best)} pairs of name keys (ratio >= "
        f"{ranked[-1][0] if ranked else 0:.0f})",
        err=True,
    )
    picked: dict[tuple[str, str], str] = {}
    for found, chosen in ((JOINED, joined), (SAME_KEY, sampled), (ALIKE, [c[2] for c in ranked])):
        for i, j in chosen:
            picked.setdefault(tuple(sorted((names[i], names[j]))), found)
    return [{"a": a, "b": b, "found": found} for (a, b), found in sorted(picked.items())]


def export(rows: list[dict], picked: list[dict], folder: Path) -> None:
    by_name = {row_label_key(r): r for r in rows}
    order = list(picked)
    random.Random(SEED + 1).shuffle(order)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "pairs_to_label.jsonl").open("w", encoding="utf-8") as handle:
        for pair in order:
            sides = {
                side: {
                    **{k: by_name[pair[side]].get(k) or "" for k in SHOWN},
                    "key": pair[side],
                    "ingredients": joined_text(by_name[pair[side]].get("ingredients_text") or ""),
                }
                for side in ("a", "b")
            }
            handle.write(json.dumps(sides, ensure_ascii=False) + "\n")


@click.command()
@click.option("--same-key", default=80, help="How many pairs sharing a name key to sample.")
@click.option("--alike", default=70, help="How many most alike pairs under two name keys.")
@click.option("--export", "folder", type=click.Path(path_type=Path), help="Write rows to label.")
def main(same_key: int, alike: int, folder: Path | None) -> None:
    rows = read_rows(name="vitc_listings_by_source.csv")
    if rows is None:
        raise click.ClickException("../shared/data/real_listings/ not found")
    picked = pick(rows, same_key, alike)
    for pair in picked:
        click.echo(json.dumps(pair))
    if folder:
        export(rows, picked, folder)


if __name__ == "__main__":
    main()
