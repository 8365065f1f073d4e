"""Products over three days of real crawls of the demo shops (issue 15): product ids stay the same
from one day's crawl to the next; a listing whose formula changes moves to another product and the
move is recorded; a product at a new shop and an offer that becomes the cheapest reach the site's
recent changes and its Atom feed.

Day 1 and day 2 are the demo's own; day 3, written here into a copy of the demo data, reformulates
the Nordvik travel size (one of the three shops' Nordvik listings) and drops the price of the
retailer's 30 ml Nordvik so that it becomes the product's cheapest offer."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from evaluator.rubrics import scored_rubrics
from serumscope.demo import DemoShops
from serumscope.demo.catalog import DEMO_DATA_DIR
from serumscope.runs import run_once
from serumscope.store.database import open_db
from serumscope.store.schema import refresh_site_tables

DAY3 = """
date = "2026-01-07T06:00:00Z"
prices = [{ product = "retailer/nordvik-c-15-serum", variant = 1, price = "9.00" }]
ingredients = [
  { product = "woocommerce/nordvik-vitamin-c-15-serum-travel", ingredients = "Aqua, L-Ascorbic Acid, Niacinamide, Propanediol, Glycerin, Betaine, Tocopherol, Ferulic Acid, Sodium Hyaluronate, Xanthan Gum, Sodium Hydroxide, Sodium Benzoate, Potassium Sorbate" },
]
"""
TRAVEL = "nordvik-vitamin-c-15-serum-travel"
NORDVIK = ("nordvik-c15-vitamin-c-serum", "nordvik-c-15-serum", TRAVEL)


def product_ids(db) -> dict[str, int]:
    """{listing URL's last part: product id} of the current serum listings."""
    return {
        row["url"].rstrip("/").rsplit("/", 1)[-1]: row["product_id"]
        for row in db.query(
            "SELECT url, product_id FROM listings"
            " WHERE product_id IS NOT NULL AND gone_since IS NULL"
        )
    }


@pytest.fixture(scope="module")
def three_days(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("days")
    data = folder / "demo_shops"
    shutil.copytree(DEMO_DATA_DIR, data)
    (data / "days" / "day3.toml").write_text(DAY3, encoding="utf-8")
    db_path = folder / "demo.db"
    days: dict = {"db": db_path}
    with DemoShops(data_dir=data) as shops:
        sites = shops.write_sites(folder / "sites.toml")
        for day in (1, 2, 3):
            shops.set_day(day)
            result = run_once(
                sites, db_path, folder / "logs", rubrics=list(scored_rubrics().values())
            )
            assert result.exit_code in (0, 1), result.summary
            db = open_db(db_path)
            days[day] = {
                "ids": product_ids(db),
                "changes": list(
                    db.query(
                        "SELECT * FROM recent_changes WHERE change IN ('new shop', 'now cheapest')"
                    )
                ),
            }
            db.close()
    db = open_db(db_path)
    refresh_site_tables(db)
    db.close()
    return days


def test_product_ids_stay_the_same_from_one_days_crawl_to_the_next(three_days):
    one, two, three = (three_days[day]["ids"] for day in (1, 2, 3))
    assert len(one) > 10 and len(set(one.values())) < len(one)  # some products in several shops
    assert {key: two[key] for key in one if key in two} == {
        key: one[key] for key in one if key in two
    }
    unchanged = [key for key in two if key in three and key != TRAVEL]
    assert {key: three[key] for key in unchanged} == {key: two[key] for key in unchanged}
    assert len({one[key] for key in NORDVIK}) == 1  # the three shops' Nordvik: one product


def test_a_reformulated_listing_moves_and_the_move_is_recorded(three_days):
    before, after = three_days[2]["ids"], three_days[3]["ids"]
    nordvik = before[TRAVEL]
    assert after[TRAVEL] != nordvik
    assert [after[key] for key in NORDVIK if key != TRAVEL] == [nordvik, nordvik]
    db = open_db(three_days["db"])
    moves = list(db.query("SELECT * FROM product_events WHERE event = 'listing moved'"))
    assert len(moves) == 1
    assert moves[0]["product_id"] == after[TRAVEL]
    assert moves[0]["detail"].startswith(f"from product {nordvik}:")
    assert moves[0]["run_id"] == db.execute("SELECT max(id) FROM crawl_runs").fetchone()[0]


def test_product_events_reach_recent_changes_and_the_feed(three_days):
    nordvik = three_days[1]["ids"][NORDVIK[0]]
    first = [c for c in three_days[1]["changes"] if c["detail"] == f"product {nordvik}"]
    assert [c["change"] for c in first] == ["new shop", "new shop"]  # and one 'new product'
    assert not [c for c in three_days[2]["changes"] if c["detail"] == f"product {nordvik}"]
    cheapest = [c for c in three_days[3]["changes"] if c["change"] == "now cheapest"]
    assert [(c["detail"], c["url"].rstrip("/").rsplit("/", 1)[-1]) for c in cheapest] == [
        (f"product {nordvik}", "nordvik-c-15-serum")
    ]
    assert "30 ml at" in cheapest[0]["new_value"]

    from serumscope.site import make_datasette

    feed = asyncio.run(make_datasette(Path(three_days["db"])).client.get("/serumscope/feed.atom"))
    assert feed.status_code == 200
    assert "Cheapest now at" in feed.text and "Now also at" in feed.text
    assert f"/product/{nordvik}</" in feed.text or f'/product/{nordvik}"' in feed.text
