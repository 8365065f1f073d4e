"""Re-crawls that skip what the shop says did not change (crawler/unchanged.py): `serumscope run` with
Scrapy's real engine against the three demo shops (sitemap lastmod, Shopify updated_at, the Store
API's product data), reconciling and history included."""

from __future__ import annotations

import sqlite3
import subprocess
from contextlib import closing

import pytest

from serumscope.child_process import serumscope_command

pytestmark = pytest.mark.slow


def run(sites, db, *options: str) -> dict:
    """One `serumscope run`; its runs row with the crawl's per-shop summary."""
    finished = subprocess.run(
        [*serumscope_command(), "run", "--sites", str(sites), "--db", str(db), "--quiet",
         "--log-dir", str(db.parent / "logs"), "-s", "AUTOTHROTTLE_ENABLED=false", *options],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stdout + finished.stderr
    row = rows(db, "SELECT * FROM runs ORDER BY id DESC LIMIT 1")[0]
    shops = rows(db, "SELECT stats FROM crawl_runs WHERE id = ?", [row["crawl_run_id"]])[0]
    import json

    row["shops"] = json.loads(shops["stats"])
    return row


def rows(db, sql: str, params=()) -> list[dict]:
    with closing(sqlite3.connect(db)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql, params)]


def listings(db) -> dict[str, dict]:
    return {r["id"]: r for r in rows(db, "SELECT * FROM listings")}


def changed_in(db, crawl_run_id: int) -> set[str]:
    """Listings with a recorded change (price, ingredients, appearance) in the crawl run."""
    return {
        r["listing_id"]
        for r in rows(
            db,
            """SELECT listing_id FROM variant_history WHERE run_id = :run
               UNION SELECT listing_id FROM ingredient_changes WHERE run_id = :run
               UNION SELECT listing_id FROM listing_events WHERE run_id = :run
                     AND event = 'appeared'""",
            {"run": crawl_run_id},
        )
    }


@pytest.fixture
def demo_run(demo_shops, tmp_path):
    """A first `serumscope run` of the demo shops (day 1); (sites, db, first listings)."""
    demo_shops.set_day(1)
    sites = demo_shops.write_sites(tmp_path / "sites.toml")
    db = tmp_path / "serumscope.db"
    run(sites, db)
    try:
        yield sites, db, listings(db)
    finally:
        demo_shops.set_day(1)


def test_unchanged_products_are_skipped_and_still_present(demo_run):
    sites, db, first = demo_run
    second = run(sites, db)
    summaries = second["shops"]
    assert set(summaries) == {s["shop"] for s in first.values()}
    for name, summary in summaries.items():
        assert summary["status"] == "ok", name
        assert summary["unchanged"] > 0 and summary["listings"] == 0, (name, summary)
    now = listings(db)
    assert set(now) == set(first)
    for listing_id, row in now.items():
        assert row["last_run_id"] == second["crawl_run_id"], listing_id  # seen by this run...
        assert row["fetched_at"] == first[listing_id]["fetched_at"]  # ...without being read
        assert row["gone_since"] is None, listing_id
    assert second["status"] == "ok" and second["gone"] == 0 and second["evaluated"] == 0
    variants_seen = rows(
        db, "SELECT count(*) AS n FROM variants WHERE gone_since IS NULL AND last_seen < ?",
        [min(r["last_seen"] for r in now.values())],
    )  # fmt: skip
    assert variants_seen[0]["n"] == 0


def test_changed_products_are_read_again_and_vanished_ones_marked_gone(demo_shops, demo_run):
    sites, db, first = demo_run
    demo_shops.set_day(2)
    third = run(sites, db)
    now = listings(db)
    read_again = {i for i in first if i in now and now[i]["fetched_at"] != first[i]["fetched_at"]}
    appeared = set(now) - set(first)
    changed = changed_in(db, third["crawl_run_id"])
    assert appeared and read_again
    # Exactly the products day 2 changed are read again, every shop skips the rest.
    assert read_again | appeared == changed
    assert {now[i]["shop"] for i in read_again} == {s for s in third["shops"]}
    gone = {i for i, r in now.items() if r["gone_since"]}
    assert gone == {i for i in first if "larkspur-magnesium-c-serum" in i}
    assert third["gone"] == 1
    assert all(r["last_run_id"] == third["crawl_run_id"] for i, r in now.items() if i not in gone)


def lie(demo_shops) -> tuple[str, str]:
    """Change a retailer price and a Shopify ingredient list without a new lastmod / updated_at;
    return the slugs of the products changed."""
    catalog = demo_shops.catalog
    retailer = next(p for p in catalog.products["retailer"] if p["variants"][0]["price"])
    retailer["variants"][0]["price"] = "1.23"
    shopify = catalog.products["shopify"][0]
    shopify["ingredients"] = "Aqua, Ascorbic Acid, Glycerin, Lying Extract"
    return retailer["slug"], shopify["slug"]


def stored_lie(db, slugs: tuple[str, str]) -> tuple[bool, bool]:
    retailer, shopify = slugs
    price = rows(
        db, "SELECT v.price FROM variants v JOIN listings l ON l.id = v.listing_id "
        "WHERE l.url LIKE ? AND v.position = 0", [f"%{retailer}%"],
    )  # fmt: skip
    ingredients = rows(
        db, "SELECT ingredients_text FROM listings WHERE url LIKE ?", [f"%{shopify}"]
    )
    return price[0]["price"] == "1.23", "Lying Extract" in (
        ingredients[0]["ingredients_text"] or ""
    )


def test_a_lying_shop_is_caught_by_the_full_crawl(demo_shops, demo_run):
    sites, db, _ = demo_run
    slugs = lie(demo_shops)
    run(sites, db)
    assert stored_lie(db, slugs) == (False, False)  # the shops said nothing changed
    forced = run(sites, db, "--full")
    assert stored_lie(db, slugs) == (True, True)
    assert all(s["unchanged"] == 0 for s in forced["shops"].values())
    assert forced["gone"] == 0


def test_a_full_crawl_comes_round_every_full_crawl_days(demo_shops, demo_run):
    sites, db, _ = demo_run
    done = rows(db, "SELECT name, full_crawl_at FROM shops")
    assert done and all(r["full_crawl_at"] for r in done)  # the first crawl read everything
    slugs = lie(demo_shops)
    run(sites, db)
    assert stored_lie(db, slugs) == (False, False)
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE shops SET full_crawl_at = '2020-01-01T00:00:00Z'")
    due = run(sites, db)
    assert stored_lie(db, slugs) == (True, True)
    assert all(s["unchanged"] == 0 for s in due["shops"].values())
    assert all(r["full_crawl_at"] > "2020" for r in rows(db, "SELECT full_crawl_at FROM shops"))


@pytest.mark.parametrize(
    ("lastmod", "latest"),
    [
        ("2026-01-06", "2026-01-07T12:00:00+00:00"),  # the day's end in the last time zone
        ("2026-01-06T06:00:00Z", "2026-01-06T06:00:00+00:00"),
        ("2026-01-06T08:00:00+02:00", "2026-01-06T06:00:00+00:00"),
        ("2026-01-06T06:00:00", "2026-01-06T18:00:00+00:00"),  # no zone: its latest reading
        (" 2026-01-06 ", "2026-01-07T12:00:00+00:00"),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_the_latest_moment_a_lastmod_can_stand_for(lastmod, latest):
    from crawler.unchanged import latest_moment

    moment = latest_moment(lastmod)
    assert (moment.isoformat() if moment else None) == latest
