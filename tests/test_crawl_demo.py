"""`serumscope crawl` against the running demo shops, checked field by field against the demo data
files (data/demo_shops/), not against copies of them."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import crawl_demo_shops
from example_tables import DEVICE_FACTS, device_labels

from crawler.extract.text import html_to_text
from evaluator.devices import device_facts
from serumscope.demo import build_catalog
from serumscope.demo.retailer import DISALLOWED_SECTION
from serumscope.store.tables import LISTING_JSON_COLUMNS

SEED_CHART = {
    "serumtologie-c-serum": 1,
    "skin-solutions-c-e-serum": 2,
    "art-naturals-enhanced-vitamin-c-serum": 3,
}


@pytest.fixture(scope="module")
def crawled(demo_shops, tmp_path_factory):
    sites, db, result = crawl_demo_shops(
        demo_shops, tmp_path_factory.mktemp("demo_crawl"), "--json"
    )
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    listings = {}
    for row in conn.execute("select * from listings"):
        listing = dict(row)
        for column in LISTING_JSON_COLUMNS:
            listing[column] = json.loads(listing[column]) if listing[column] else None
        listing["variants"] = [
            dict(v)
            for v in conn.execute(
                "select * from variants where listing_id = ? order by position", [listing["id"]]
            )
        ]
        listings[(listing["shop"], listing["title"])] = listing
    errors = [dict(r) for r in conn.execute("select * from crawl_errors")]
    yield {
        "db": db,
        "sites": sites,
        "summary": json.loads(result.stdout),
        "listings": listings,
        "errors": errors,
        "shops": demo_shops,
        "catalog": build_catalog(day=1),
    }
    conn.close()


def shop_names(crawled) -> dict[str, str]:
    platform_of = {"shopify": "shopify", "woocommerce": "woocommerce", "sitemap": "retailer"}
    return {platform_of[s["platform"]]: s["name"] for s in crawled["shops"].sites()}


def visible_products(crawled):
    """(platform, shop name, product) for every product a polite crawler may fetch."""
    names = shop_names(crawled)
    for platform, products in crawled["catalog"].products.items():
        for product in products:
            if product.get("page", {}).get("section") == DISALLOWED_SECTION:
                continue
            yield platform, names[platform], product


def find(crawled, shop: str, product: dict) -> dict:
    listing = crawled["listings"].get((shop, product["title"]))
    assert listing is not None, f"{shop}: {product['title']!r} not stored"
    return listing


def test_every_shop_crawled_ok(crawled):
    summary = crawled["summary"]
    assert summary["status"] == "ok"
    assert set(summary["shops"]) == set(shop_names(crawled).values())
    for shop in summary["shops"].values():
        assert shop["status"] == "ok"
        assert shop["listings"] > 0


def test_every_product_is_stored_and_judged(crawled):
    for platform, shop, product in visible_products(crawled):
        listing = find(crawled, shop, product)
        assert listing["is_candidate"] == int(product["expected"]["candidate"]), (
            platform, product["title"], listing["relevance_reason"]
        )  # fmt: skip
        assert listing["relevance_reason"]
        assert listing["url"].startswith("http://127.0.0.1:")
        assert listing["fetched_at"] and listing["first_seen"] and listing["last_seen"]
        assert listing["input_hash"]


def test_every_product_is_sorted_into_its_category(crawled):
    """Every demo device is a micro-needling device, every vitamin C serum a serum, and the look-alikes
    (an ice roller, a jade roller, micro-needle patches) neither."""
    seen = {}
    for platform, shop, product in visible_products(crawled):
        listing = find(crawled, shop, product)
        expected = product["expected"]["category"]
        assert listing["category"] == expected, (platform, product["title"], listing["category"])
        seen[expected] = seen.get(expected, 0) + 1
    assert seen["micro-needling-device"] >= 15 and seen["vitamin-c-serum"] >= 35


def test_device_facts_of_the_crawled_devices_match_the_demo_data(crawled):
    checked = 0
    for platform, shop, product in visible_products(crawled):
        expected = product["expected"].get("device")
        if not expected:
            continue
        facts = device_facts(find(crawled, shop, product))
        got = device_labels(facts)
        where = (platform, product["title"])
        assert got == {
            f: sorted(expected[f]) if f == "needles" else expected[f] for f in DEVICE_FACTS
        }, where
        for fact, key in (
            ("sterile", "sterile"),
            ("uses", "uses"),
            ("replaceable_heads", "replaceable"),
        ):
            if key in expected:
                assert facts[fact]["value"] == expected[key], (where, fact, facts[fact])
        checked += 1
    assert checked >= 15


def test_non_candidates_carry_a_reason_matching_the_demo(crawled):
    checked = 0
    stop = {"a", "the", "not", "of", "or", "with", "without", "no", "vitamin", "c", "product"}
    for _, shop, product in visible_products(crawled):
        expected = product["expected"]
        if expected["candidate"] or "relevance" not in expected:
            continue
        listing = find(crawled, shop, product)
        ours = set(re.findall(r"[a-z]+", listing["relevance_reason"].lower())) - stop
        theirs = set(re.findall(r"[a-z]+", expected["relevance"].lower())) - stop
        assert ours & theirs, (product["title"], listing["relevance_reason"], expected["relevance"])
        checked += 1
    assert checked >= 5


def test_fields_match_the_demo_data(crawled):
    currencies = {p: crawled["catalog"].shops[p]["currency"] for p in crawled["catalog"].shops}
    for platform, shop, product in visible_products(crawled):
        listing = find(crawled, shop, product)
        where = (platform, product["title"])
        assert listing["brand"] == product["brand"], where
        if product.get("ingredients"):
            assert product["ingredients"] in (listing["ingredients_text"] or ""), where
        else:
            assert listing["ingredients_text"] is None, where
        alts = [i["alt"] for i in product["images"] if i.get("alt")]
        for alt in alts:
            assert alt in (listing["image_alts"] or []), where
        prices = sorted(Decimal(v["price"]) for v in product["variants"])
        stored = sorted(Decimal(v["price"]) for v in listing["variants"])
        assert stored == prices, where
        by_price = {}
        for variant in product["variants"]:
            by_price.setdefault(Decimal(variant["price"]), set()).add(int(variant["available"]))
        for variant in listing["variants"]:
            if variant["available"] is not None or platform != "retailer":
                assert variant["available"] in by_price[Decimal(variant["price"])], where
        for variant in listing["variants"]:
            assert variant["currency"] == product.get("currency", currencies[platform]), where
            assert re.fullmatch(r"\d+(\.\d+)?", variant["price"]), where
        assert listing["provenance"]["title"] in (
            "api",
            "json-ld",
            "microdata",
            "opengraph",
            "html",
        )


def test_api_shops_keep_description_html_and_sale_prices(crawled):
    for platform, shop, product in visible_products(crawled):
        if platform == "retailer":
            continue
        listing = find(crawled, shop, product)
        first_words = html_to_text(product["description"]).split("\n")[0][:40]
        assert first_words in listing["description"], product["title"]
        assert listing["description_html"]
        for variant in product["variants"]:
            if variant.get("compare_at_price") and len(product["variants"]) == 1:
                assert listing["variants"][0]["regular_price"] == variant["compare_at_price"]


def test_one_variant_sale_prices_on_product_pages(crawled):
    checked = 0
    for platform, shop, product in visible_products(crawled):
        if platform != "retailer" or len(product["variants"]) != 1:
            continue
        variant = product["variants"][0]
        stored = find(crawled, shop, product)["variants"][0]["regular_price"]
        if variant.get("compare_at_price") and product["page"].get("markup") == "microdata":
            assert stored in (None, variant["compare_at_price"])  # the demo's microdata omits "was"
        elif variant.get("compare_at_price"):
            assert Decimal(stored) == Decimal(variant["compare_at_price"]), product["title"]
            checked += 1
        else:
            assert stored is None, product["title"]
    assert checked >= 1


@pytest.mark.parametrize("slug", sorted(SEED_CHART))
def test_seed_chart_products_field_by_field(crawled, slug):
    names = shop_names(crawled)
    matches = [
        (platform, p)
        for platform, products in crawled["catalog"].products.items()
        for p in products
        if p["slug"] == slug
    ]
    assert len(matches) == 1
    platform, product = matches[0]
    listing = find(crawled, names[platform], product)
    assert listing["is_candidate"] == 1
    assert listing["title"] == product["title"]
    assert listing["brand"] == product["brand"]
    assert product["ingredients"] in listing["ingredients_text"]
    assert [Decimal(v["price"]) for v in listing["variants"]] == [
        Decimal(v["price"]) for v in product["variants"]
    ]
    for stated in product["expected"].get("stated_percentages", []):
        text = " ".join(filter(None, [listing["title"], listing["description"]]))
        assert stated["text"].lower() in text.lower(), stated
    assert listing["id"].startswith(f"{names[platform]}:")


def test_robots_disallowed_pages_are_not_fetched(crawled):
    retailer = shop_names(crawled)["retailer"]
    stored_urls = [x["url"] for x in crawled["listings"].values() if x["shop"] == retailer]
    assert stored_urls and not [u for u in stored_urls if f"/{DISALLOWED_SECTION}/" in u]
    robots = [e for e in crawled["errors"] if e["kind"] == "robots"]
    assert robots and all(f"/{DISALLOWED_SECTION}/" in e["url"] for e in robots)


def test_pages_skipped_by_robots_txt_are_not_counted_as_errors(crawled):
    from serumscope.commands.crawling import _stats_table

    retailer = shop_names(crawled)["retailer"]
    skipped = sum(e["kind"] == "robots" and e["shop"] == retailer for e in crawled["errors"])
    shop = crawled["summary"]["shops"][retailer]
    assert skipped and shop["skipped_by_kind"] == {"robots": skipped}
    assert shop["errors"] == 0 and "robots" not in shop["errors_by_kind"]
    assert shop["status"] == "ok"
    table = _stats_table(crawled["summary"])
    assert f"    skipped by robots.txt: {skipped}" in table
    assert "errors (robots)" not in table
    retailer_row = next(line for line in table.splitlines() if line.startswith(retailer))
    assert retailer_row.split()[-1] == "0", retailer_row


def test_what_decided_relevance_and_sizes_is_counted_per_shop_in_the_table_and_coverage(crawled):
    from serumscope.commands.crawling import _stats_table

    table = _stats_table(crawled["summary"])
    conn = sqlite3.connect(crawled["db"])
    for shop, summary in crawled["summary"]["shops"].items():
        stored = dict(
            conn.execute(
                "select relevance_rule, count(*) from listings where shop = ? group by 1", [shop]
            ).fetchall()
        )
        assert summary["relevance"] == stored, shop
        assert summary["relevance"]["candidate"] == summary["candidates"]
        line = ", ".join(f"{k} {n}" for k, n in sorted(stored.items(), key=lambda i: (-i[1], i[0])))
        assert f"    decided by: {line}" in table
        sizes = dict(
            conn.execute(
                "select coalesce(json_extract(provenance, '$.size'), 'not read'), count(*)"
                " from listings where shop = ? group by 1",
                [shop],
            ).fetchall()
        )
        assert summary["size_from"] == sizes, shop
        assert "    sizes from: " in table
    conn.execute("PRAGMA query_only = 1")
    columns = ("candidates", "not_candidate_kind", "vitamin_c_not_featured", "no_vitamin_c_form",
               "kind_unknown", "not_judged")  # fmt: skip
    for row in conn.execute(f"select listings, {', '.join(columns)} from coverage").fetchall():
        assert row[0] == sum(row[1:]) and row[-1] == 0, row
    sources = ("size_from_data", "size_from_page_labels", "size_from_description", "size_from_title",
               "size_not_read")  # fmt: skip
    for row in conn.execute(f"select listings, {', '.join(sources)} from coverage").fetchall():
        assert row[0] == sum(row[1:]), row


def test_recrawl_on_day_two_updates_and_keeps_history(crawled, tmp_path):
    """Runs last in this module: a second crawl of the changed demo web into the same database."""
    import shutil

    db = tmp_path / "day2.db"
    shutil.copy(crawled["db"], db)
    shops = crawled["shops"]
    conn = sqlite3.connect(db)
    before = dict(conn.execute("select id, first_seen from listings").fetchall())
    shops.set_day(2)
    try:
        result = subprocess.run(
            [str(Path(sys.executable).parent / "serumscope"), "crawl", "--sites",
             str(crawled["sites"]), "--db", str(db), "--json", "--quiet"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        shops.set_day(1)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    run_id = summary["run_id"]
    assert summary["status"] == "ok", summary
    assert sum(shop["unchanged"] for shop in summary["shops"].values()) > 0
    after = dict(conn.execute("select id, first_seen from listings").fetchall())
    assert set(before) <= set(after)
    assert all(after[key] == value for key, value in before.items())
    names = shop_names(crawled)
    day2 = build_catalog(day=2)
    for platform, products in day2.products.items():
        for product in products:
            if product.get("page", {}).get("section") == DISALLOWED_SECTION:
                continue
            row = conn.execute(
                "select id, last_run_id, ingredients_text from listings where shop = ? and title = ?",
                [names[platform], product["title"]],
            ).fetchone()
            assert row is not None and row[1] == run_id, product["title"]
            if product.get("ingredients"):
                assert product["ingredients"] in row[2]
            prices = sorted(
                Decimal(p)
                for (p,) in conn.execute(
                    "select price from variants where listing_id = ? and last_seen = "
                    "(select max(last_seen) from variants where listing_id = ?)",
                    [row[0], row[0]],
                )
            )
            assert prices[0] == min(Decimal(v["price"]) for v in product["variants"]), product[
                "title"
            ]
    day2_titles = {(names[p], x["title"]) for p, xs in day2.products.items() for x in xs}
    gone = [key for (key, listing) in crawled["listings"].items() if key not in day2_titles]
    assert gone
    for shop, title in gone:
        last_run = conn.execute(
            "select last_run_id from listings where shop = ? and title = ?", [shop, title]
        ).fetchone()
        assert last_run is not None and last_run[0] != run_id
    conn.close()


def test_packaging_and_percentages_reach_the_evaluator_inputs(crawled):
    """The words the evaluator scores (packaging, stated percentages) are in the stored text."""
    checked = 0
    for _, shop, product in visible_products(crawled):
        expected = product["expected"]
        listing = find(crawled, shop, product)
        text = " ".join(
            filter(None, [listing["title"], listing["description"], *(listing["image_alts"] or [])])
        ).lower()
        if expected.get("packaging_text"):
            assert expected["packaging_text"].lower() in text, product["title"]
            checked += 1
        for stated in expected.get("stated_percentages", []):
            assert stated["text"].lower() in text, (product["title"], stated["text"])
    assert checked >= 10
