"""Pairwise precision and recall of the product matcher (evaluator/product_match.py, issue 15).

Goal (issue 15): precision >= 0.99, recall >= 0.90.

(a) The demo shops: crawled for real, grouped by serumscope; the truth is each product file's
    ``expected.product`` (tests/test_products.py checks the same grouping).
(b) ../shared/data/real_listings/vitc_listings_by_source.csv, read at run time (never copied): the
    same product appears once per source. Known matches: rows of different sources with the same
    dedup key (the README's: brand and name lower-cased, accents/(TM)/(R) and punctuation removed,
    brand prefix stripped -- the rows ``also_in_sources`` points at -- plus a size or "mini"
    dropped, since sizes are offers of one product). Known non-matches: every pair
    of the same brand with different keys (the 100+ hardest, those whose normalised names are most
    alike, are printed to be checked by eye with --show-non-matches). Each source is one "shop".

Prints the figures, how many known matches have names that differ between sources (raw), and
the matching time (median of 3 runs, spread), with the shipped thresholds.

    .venv/bin/python bench/matching.py [--show-non-matches 100]
"""

from __future__ import annotations

import itertools
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

from real_listings import listing_from_row, read_rows  # noqa: E402

from evaluator import evaluate  # noqa: E402
from evaluator.headline import headline_values  # noqa: E402
from evaluator.product_match import (  # noqa: E402
    FIRST_INGREDIENTS,
    LIST_SIMILARITY,
    NAME_THRESHOLD,
    match_products,
    normalise_name,
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


def pairwise(groups: list[int], truth: list[str], pairs: list[tuple[int, int]]) -> dict:
    tp = fp = fn = 0
    for i, j in pairs:
        same_truth, same_found = truth[i] == truth[j], groups[i] == groups[j]
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


def measure_real(show_non_matches: int) -> None:
    rows = read_rows(name="vitc_listings_by_source.csv")
    if rows is None:
        click.echo("(b) real listings: ../shared/data/real_listings/ not found, skipped")
        return
    truth = ["|".join(dedup_key(r.get("brand", ""), r.get("name", ""))) for r in rows]
    by_brand: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        by_brand[dedup_key(row.get("brand", ""), "")[0]].append(index)
    pairs = [
        (i, j)
        for members in by_brand.values()
        for i, j in itertools.combinations(members, 2)
        if rows[i]["source_dataset"] != rows[j]["source_dataset"]
    ]
    known_matches = [(i, j) for i, j in pairs if truth[i] == truth[j]]
    non_matches = [(i, j) for i, j in pairs if truth[i] != truth[j]]
    differ = sum(rows[i]["name"] != rows[j]["name"] for i, j in known_matches)
    click.echo(
        f"(b) real listings: {len(rows)} rows, {len(known_matches)} known matching pairs across "
        f"sources ({differ} with names that differ as written), {len(non_matches)} same-brand "
        "non-matching pairs"
    )
    started = time.perf_counter()
    records = real_records(rows)
    click.echo(f"    evaluated {len(rows)} rows in {time.perf_counter() - started:.1f}s")
    matches, seconds = timed(records)
    groups = [m["group"] for m in matches]
    figures = pairwise(groups, truth, known_matches + non_matches)
    click.echo(
        f"    precision {figures['precision']:.3f} ({figures['fp']} wrong merges), recall "
        f"{figures['recall']:.3f} ({figures['tp']} of {len(known_matches)} known matches; "
        f"{figures['fn']} missed)"
    )
    with_lists = [
        (i, j) for i, j in known_matches if records[i]["ingredients"] and records[j]["ingredients"]
    ]
    sub = pairwise(groups, truth, with_lists)
    click.echo(
        f"    recall where both sources give an ingredient list: {sub['recall']:.3f} "
        f"({sub['tp']} of {len(with_lists)})"
    )
    methods = defaultdict(int)
    for match in matches:
        methods[match["method"]] += 1
    click.echo(f"    methods: {dict(methods)}")
    click.echo(
        f"    matching time: median {statistics.median(seconds):.3f}s, spread "
        f"{min(seconds):.3f}-{max(seconds):.3f}s over 3 runs"
    )
    if show_non_matches:
        from rapidfuzz import fuzz

        def alike(pair: tuple[int, int]) -> float:
            a, b = (normalise_name(rows[k]["name"], rows[k]["brand"]) for k in pair)
            return fuzz.token_sort_ratio(a, b)

        click.echo(f"    the {show_non_matches} most alike same-brand non-matches (check by eye):")
        for i, j in sorted(non_matches, key=alike, reverse=True)[:show_non_matches]:
            joined = "JOINED" if groups[i] == groups[j] else "apart"
            click.echo(f"      {joined:6} {rows[i]['name']!r} | {rows[j]['name']!r}")
        wrong = [(i, j) for i, j in non_matches if groups[i] == groups[j]]
        for i, j in wrong[:20]:
            click.echo(f"      WRONG MERGE {rows[i]['name']!r} | {rows[j]['name']!r}")


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
    "--show-non-matches", default=0, help="Print this many of the most alike non-matches."
)
@click.option("--skip-demo", is_flag=True, help="Only the real listings.")
def main(show_non_matches: int, skip_demo: bool) -> None:
    click.echo("goal (issue 15): pairwise precision >= 0.99, recall >= 0.90")
    click.echo(
        f"shipped settings: name ratio >= {NAME_THRESHOLD}, first {FIRST_INGREDIENTS} ingredients "
        f"in order, list similarity >= {LIST_SIMILARITY}"
    )
    if not skip_demo:
        measure_demo()
    measure_real(show_non_matches)


if __name__ == "__main__":
    main()
