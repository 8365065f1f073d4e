"""Pairwise precision and recall of the product matcher (evaluator/product_match.py, issue 15).

Goal (issue 15): precision >= 0.99, recall >= 0.90.

(a) The demo shops: crawled for real, grouped by serumscope; the truth is each product file's
    ``expected.product`` (tests/test_products.py checks the same grouping).
(b) ../shared/data/real_listings/vitc_listings_by_source.csv, read at run time (never copied): the
    same product appears once per source. Each source is one "shop"; every pair of rows of one
    brand in two sources is measured. The name key says which are matches (the README's dedup
    key behind ``also_in_sources``: brand and name lower-cased, accents/(TM)/(R) and punctuation
    removed, brand prefix stripped, plus a size or "mini" dropped, since sizes are offers of one
    product). The hand-checked pairs of bench/labels/matching.jsonl (README there) override it:
    the same product under a reworded name is a match, the same name over a reformulated list is
    not, and an unsure pair is left out. Figures are given for the tuning and the held-out brands
    (split by a hash of the brand, fixed before tuning; never tune on held-out), and, for
    comparison, against the name key alone. The fresh held-out pairs of
    bench/labels/matching_fresh.jsonl (labelled blind after the last matcher change, picked by
    bench/pick_match_pairs.py) are measured on their own, by their labels alone, and by how they
    were picked.

Prints the figures, how many known matches have names that differ between sources (as written),
and the matching time (median of 3 runs, spread), with the shipped thresholds.

    .venv/bin/python bench/matching.py [--show-errors 20] [--show-non-matches 100]
"""

from __future__ import annotations

import itertools
import json
import re
import statistics
import sys
import tempfile
import time
import unicodedata
from collections import defaultdict
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parent))

from label_sample import split_of  # noqa: E402
from real_listings import listing_from_row, read_rows  # noqa: E402

from evaluator import evaluate  # noqa: E402
from evaluator.headline import headline_values  # noqa: E402
from evaluator.product_match import (  # noqa: E402
    FIRST_INGREDIENTS,
    LIST_SIMILARITY,
    MAX_CUT,
    NAME_THRESHOLD,
    SPELLING_SIMILARITY,
    match_products,
)


def dedup_key(brand: str, name: str) -> tuple[str, str]:
    def plain(text: str) -> str:
        text = unicodedata.normalize("NFKD", re.sub(r"[™®]", "", text or ""))
        text = "".join(c for c in text if not unicodedata.combining(c)).lower()
        return " ".join(re.sub(r"[^a-z0-9 ]+", " ", text).split())

    b, n = plain(brand), plain(name)
    if b and n.startswith(b + " "):
        n = n[len(b) + 1 :]
    # sizes are offers of one product (issue 15): lookfantastic's "... 50ml", Sephora's "Mini ..."
    n = " ".join(SIZE_IN_KEY.sub(" ", f" {n} ").split())
    return b, n


SIZE_IN_KEY = re.compile(r" (?:\d+ ?(?:ml|g|oz)|mini|travel size|jumbo)(?= )")


LABELS = Path(__file__).resolve().parent / "labels" / "matching.jsonl"
FRESH_LABELS = LABELS.with_name("matching_fresh.jsonl")


def row_label_key(row: dict) -> str:
    """How bench/labels/matching.jsonl names a row (the hid alone repeats across sources)."""
    return f"{row['source_dataset']}/{row['hid']}"


def read_label_rows(path: Path = LABELS) -> list[dict]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def read_labels() -> dict[tuple[str, str], bool | None]:
    return {(label["a"], label["b"]): label["same"] for label in read_label_rows()}


def pairwise(groups: list, truth: list[str] | dict, pairs: list[tuple[int, int]]) -> dict:
    """Pairwise figures; ``truth`` is a group per row, or {pair: same} for these pairs."""
    tp = fp = fn = 0
    for i, j in pairs:
        same_truth = truth[i, j] if isinstance(truth, dict) else truth[i] == truth[j]
        same_found = groups[i] == groups[j]
        tp += same_truth and same_found
        fp += same_found and not same_truth
        fn += same_truth and not same_found
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
    }


def real_records(rows: list[dict]) -> list[dict]:
    records = []
    for row in rows:
        listing = listing_from_row(row)
        facts = evaluate(listing)["facts"]
        head = headline_values(facts)
        items = (facts.get("ingredients") or {}).get("items") or []
        records.append(
            {
                "listing_id": listing["id"],
                "shop": row["source_dataset"],
                "brand": row.get("brand"),
                "title": row.get("name"),
                "ingredients": [i["canonical"] for i in items],
                "vitamin_c_forms": head.get("vitamin_c_forms") or [],
                "vitamin_c_percent": head.get("vitamin_c_percent"),
            }
        )
    return records


def timed(records: list[dict]) -> tuple[list[dict], list[float]]:
    seconds = []
    for _ in range(3):
        started = time.perf_counter()
        matches = match_products(records)
        seconds.append(time.perf_counter() - started)
    return matches, seconds


def same_brand_pairs(rows: list[dict], brands: list[str]) -> list[tuple[int, int]]:
    by_brand: dict[str, list[int]] = defaultdict(list)
    for index, brand in enumerate(brands):
        by_brand[brand].append(index)
    return [
        (i, j)
        for members in by_brand.values()
        for i, j in itertools.combinations(members, 2)
        if rows[i]["source_dataset"] != rows[j]["source_dataset"]
    ]


def corrected_truth(rows: list[dict], keys: list[str], pairs: list) -> tuple[dict, dict]:
    """{pair: same}: rows are one product when their name keys are equal or a hand-checked label
    says so, taken transitively (the Mini of a product a label joins to a reworded name is that
    product too); a label saying two rows differ, or that it is unsure (the pair is left out),
    overrides that for its pair. Also counts of what the labels did."""
    labels = read_labels()
    names = [row_label_key(r) for r in rows]
    index = {name: position for position, name in enumerate(names)}
    product = list(range(len(rows)))

    def root(k: int) -> int:
        while product[k] != k:
            product[k] = product[product[k]]
            k = product[k]
        return k

    first_of_key: dict[str, int] = {}
    for position, key in enumerate(keys):
        product[root(position)] = root(first_of_key.setdefault(key, position))
    for (a, b), same in labels.items():
        if same and a in index and b in index:
            product[root(index[a])] = root(index[b])
    truth, counts = {}, defaultdict(int)
    for i, j in pairs:
        label = labels.get(tuple(sorted((names[i], names[j]))), "none")
        if label == "none":
            truth[i, j] = root(i) == root(j)
            continue
        counts["checked"] += 1
        counts["checked non-matches"] += label is False
        if label is None:
            counts["unsure, left out"] += 1
            continue
        counts["confirmed" if label == (keys[i] == keys[j]) else "overturned"] += 1
        truth[i, j] = label
    return truth, counts


def figures_line(name: str, figures: dict) -> str:
    return (
        f"    {name:9} precision {figures['precision']:.3f} ({figures['fp']} wrong merges), recall "
        f"{figures['recall']:.3f} ({figures['tp']} of {figures['tp'] + figures['fn']} matches)"
    )


def measure_real(show_errors: int) -> None:
    rows = read_rows(name="vitc_listings_by_source.csv")
    if rows is None:
        click.echo("(b) real listings: ../shared/data/real_listings/ not found, skipped")
        return
    keys = ["|".join(dedup_key(r.get("brand", ""), r.get("name", ""))) for r in rows]
    brands = [dedup_key(r.get("brand", ""), "")[0] for r in rows]
    pairs = same_brand_pairs(rows, brands)
    known_matches = [(i, j) for i, j in pairs if keys[i] == keys[j]]
    differ = sum(rows[i]["name"] != rows[j]["name"] for i, j in known_matches)
    truth, counts = corrected_truth(rows, keys, pairs)
    click.echo(
        f"(b) real listings: {len(rows)} rows, {len(pairs)} same-brand pairs across sources; "
        f"{len(known_matches)} share a name key ({differ} with names that differ as written)"
    )
    click.echo(f"    hand-checked pairs (bench/labels/matching.jsonl): {dict(counts)}")
    started = time.perf_counter()
    records = real_records(rows)
    click.echo(f"    evaluated {len(rows)} rows in {time.perf_counter() - started:.1f}s")
    matches, seconds = timed(records)
    groups = [m["group"] for m in matches]
    for split in ("tuning", "heldout"):
        chosen = [p for p in truth if split_of(brands[p[0]]) == split]
        click.echo(figures_line(split, pairwise(groups, truth, chosen)))
    click.echo(figures_line("all", pairwise(groups, truth, list(truth))))
    click.echo(figures_line("name key", pairwise(groups, keys, pairs)) + " (labels ignored)")
    measure_fresh(rows, groups)
    with_lists = [p for p in truth if all(records[k]["ingredients"] for k in p)]
    sub = pairwise(groups, truth, with_lists)
    click.echo(
        f"    recall where both sources give an ingredient list: {sub['recall']:.3f} "
        f"({sub['tp']} of {sub['tp'] + sub['fn']})"
    )
    methods = defaultdict(int)
    for match in matches:
        methods[match["method"]] += 1
    click.echo(f"    methods: {dict(methods)}")
    click.echo(
        f"    matching time: median {statistics.median(seconds):.3f}s, spread "
        f"{min(seconds):.3f}-{max(seconds):.3f}s over 3 runs"
    )
    if show_errors:
        tuning = [p for p in truth if split_of(brands[p[0]]) == "tuning"]
        wrong = [p for p in tuning if groups[p[0]] == groups[p[1]] and not truth[p]]
        missed = [p for p in tuning if groups[p[0]] != groups[p[1]] and truth[p]]
        for kind, errors in (("WRONG MERGE", wrong), ("MISSED", missed)):
            for i, j in errors[:show_errors]:
                click.echo(f"      {kind} {rows[i]['name']!r} | {rows[j]['name']!r}")


def measure_fresh(rows: list[dict], groups: list) -> None:
    """The fresh held-out pairs, each judged by its own label only (unsure pairs left out)."""
    labels = read_label_rows(FRESH_LABELS)
    if not labels:
        return
    index = {row_label_key(row): position for position, row in enumerate(rows)}
    truth, kinds = {}, defaultdict(list)
    for label in labels:
        if label["same"] is None or label["a"] not in index or label["b"] not in index:
            continue
        pair = index[label["a"]], index[label["b"]]
        truth[pair] = label["same"]
        kinds[label["found"]].append(pair)
    unsure = sum(label["same"] is None for label in labels)
    click.echo(
        f"    fresh held-out pairs (bench/labels/matching_fresh.jsonl): {len(labels)} labelled, "
        f"{sum(v is False for v in truth.values())} non-matches, {unsure} unsure, left out"
    )
    click.echo(figures_line("fresh", pairwise(groups, truth, list(truth))))
    for found, pairs in sorted(kinds.items()):
        figures = pairwise(groups, truth, pairs)
        joined = sum(groups[i] == groups[j] for i, j in pairs)
        click.echo(
            f"      {found}: {len(pairs)} pairs, {sum(truth[p] for p in pairs)} matches; "
            f"matcher joins {joined} ({figures['fp']} wrong), misses {figures['fn']}"
        )


def measure_demo() -> None:
    from serumscope.commands.publishing import build_demo_database
    from serumscope.demo import DemoShops, build_catalog
    from serumscope.store.database import open_db

    with tempfile.TemporaryDirectory() as folder, DemoShops() as shops:
        path = Path(folder) / "demo.db"
        build_demo_database(shops, path)
        names = {platform: config["name"] for platform, config in shops.catalog.shops.items()}
        expected = {
            (names[p["platform"]], p["slug"]): p["expected"].get("product") or p["key"]
            for p in build_catalog(2).all_products()
        }
        db = open_db(path)
        listed = list(
            db.query(
                "SELECT shop, url, product_id FROM listings"
                " WHERE product_id IS NOT NULL AND gone_since IS NULL"
            )
        )
        db.close()
    slug = re.compile(r"^.*/(?:products|product|staff-picks)/([^/]+)/?$")
    truth = [expected[r["shop"], slug.sub(r"\1", r["url"])] for r in listed]
    groups = [r["product_id"] for r in listed]
    figures = pairwise(groups, truth, list(itertools.combinations(range(len(listed)), 2)))
    click.echo(
        f"(a) demo shops: {len(listed)} serum listings; precision {figures['precision']:.3f} "
        f"({figures['fp']} wrong merges), recall {figures['recall']:.3f} "
        f"({figures['tp']} of {figures['tp'] + figures['fn']} matching pairs)"
    )


@click.command()
@click.option(
    "--show-errors", default=0, help="Print this many wrong merges and misses (tuning brands only)."
)
@click.option("--skip-demo", is_flag=True, help="Only the real listings.")
def main(show_errors: int, skip_demo: bool) -> None:
    click.echo("goal (issue 15): pairwise precision >= 0.99, recall >= 0.90")
    click.echo(
        f"shipped settings: name ratio >= {NAME_THRESHOLD}, first {FIRST_INGREDIENTS} ingredients "
        f"in order, list similarity >= {LIST_SIMILARITY}; or one list told differently (cut by up"
        f" to {MAX_CUT} at the start, cut or continued at the end, names spelt alike >= "
        f"{SPELLING_SIMILARITY}); sunscreen filters left out"
    )
    if not skip_demo:
        measure_demo()
    measure_real(show_errors)


if __name__ == "__main__":
    main()
