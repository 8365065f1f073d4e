"""The site after two unattended `serumscope run` cycles (day 1 then day 2 of the demo shops): change
queries, the Atom feed, price history and search over new listings."""

from __future__ import annotations

import html
import json
import re
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from datasette.utils import tilde_encode
from site_fixtures import get, rows

from serumscope.site import (
    SITE_DB_NAME,
    listing_path,
    make_datasette,
)


@pytest.fixture(scope="module")
def two_day_db(demo_shops, tmp_path_factory) -> Path:
    """Two unattended `serumscope run` cycles, day 1 then day 2 of the demo shops."""
    folder = tmp_path_factory.mktemp("two-days")
    sites, db_path = folder / "sites.toml", folder / "site.db"
    demo_shops.write_sites(sites)
    command = [sys.executable, "-c", "from serumscope.cli import cli; cli()", "run", "--quiet"]
    command += ["--sites", str(sites), "--db", str(db_path)]
    try:
        for day in (1, 2):
            demo_shops.set_day(day)
            subprocess.run(command, check=True, stdin=subprocess.DEVNULL, timeout=120)
    finally:
        demo_shops.set_day(1)
    return db_path


@pytest.fixture(scope="module")
def two_day_ds(two_day_db):
    return make_datasette(two_day_db)


def test_second_run_shows_in_the_change_queries(two_day_ds):
    changes = get(two_day_ds, f"/{SITE_DB_NAME}/changes_since_last_run.json?_shape=array").json()
    kinds = {row["change"] for row in changes}
    assert {"price", "ingredients"} <= kinds, kinds
    drops = get(two_day_ds, f"/{SITE_DB_NAME}/recent_price_drops.json?_shape=array").json()
    assert any("Daily C 15" in row["title"] for row in drops)
    assert all(float(row["new_price"]) < float(row["old_price"]) for row in drops)


def test_atom_feed_lists_price_drops_and_new_recommendations(two_day_ds):
    feed = get(two_day_ds, f"/{SITE_DB_NAME}/feed.atom")
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("application/xml")
    titles = re.findall(r"<title>([^<]*)</title>", feed.text)
    assert any(title.startswith("Price drop: ") and "Daily C 15" in title for title in titles)
    assert any(title.startswith("Recommended: ") for title in titles)
    links = re.findall(r'<link href="([^"]*)"', feed.text)
    assert any(link.startswith("http://localhost/listing/") for link in links)
    for link in links:
        assert link.startswith("http://localhost/"), link
    summaries = re.findall(r"<content[^>]*>([^<]*)</content>", feed.text)
    recommended = [s for s in summaries if s.startswith("Now scores")]
    assert recommended and all("per 30 mL" in s and "recommend line" in s for s in recommended)
    rows = get(two_day_ds, f"/{SITE_DB_NAME}/feed.json?_shape=array").json()
    dated = dict(
        re.findall(
            r"<entry>\s*<id>([^<]*)</id>\s*<title>[^<]*</title>\s*<updated>([^<]*)<", feed.text
        )
    )
    assert len(dated) == len(rows)
    for row in rows:  # each entry dated as its row, in UTC
        updated = datetime.fromisoformat(dated[row["atom_id"]])
        assert updated == datetime.fromisoformat(
            row["atom_updated"]
        ) and updated.utcoffset() == timedelta(0)


def feed_ids(ds) -> list[str]:
    return sorted(e["atom_id"] for e in get(ds, f"/{SITE_DB_NAME}/feed.json?_shape=array").json())


def test_atom_entry_ids_name_the_event_not_a_row_number(two_day_ds, two_day_db, tmp_path):
    ids = feed_ids(two_day_ds)
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"tag:serumscope,2026:[A-Za-z0-9~._/:-]+", i) for i in ids), ids
    drops = rows(two_day_db, "select variant_id, changed_at from price_drops")
    recommended = rows(two_day_db, "select listing_id, changed_at from new_recommendations")
    assert drops and recommended
    expected = {
        f"tag:serumscope,2026:price-drop/{tilde_encode(d['variant_id'])}/{d['changed_at']}"
        for d in drops
    } | {
        f"tag:serumscope,2026:recommend/{tilde_encode(r['listing_id'])}/{r['changed_at']}"
        for r in recommended
    }
    product_news = rows(
        two_day_db,
        "select * from product_events where event in ('new shop', 'now cheapest')",
    )
    assert product_news
    expected |= {
        f"tag:serumscope,2026:product/{e['product_id']}/{e['event'].replace(' ', '-')}/"
        f"{tilde_encode(e['listing_id'])}/{e['occurred_at']}"
        for e in product_news
    }
    assert set(ids) == expected
    # The same history with other row numbers (as a rebuilt database would have) keeps every id.
    renumbered = tmp_path / "renumbered.db"
    with sqlite3.connect(two_day_db) as source, sqlite3.connect(renumbered) as copy:
        source.backup(copy)
        for table in ("score_changes", "variant_history", "product_events"):
            copy.execute(f"update {table} set id = id + 1000000")
    assert feed_ids(make_datasette(renumbered)) == ids


def test_listing_page_charts_its_price_history(two_day_ds, two_day_db):
    listing_id = rows(two_day_db, "select listing_id from price_drops limit 1")[0]["listing_id"]
    page = get(two_day_ds, listing_path(listing_id)).text
    assert 'id="price-chart"' in page
    history = json.loads(html.unescape(re.search(r'data-history="([^"]*)"', page).group(1)))
    assert len(history) >= 2 and history[-1]["price"] < history[-2]["price"]


def test_search_finds_a_listing_new_on_day_two_without_a_manual_refresh(two_day_ds):
    found = get(two_day_ds, f"/{SITE_DB_NAME}/search.json?q=firming+ampoule&_shape=array").json()
    assert "C Firming Ampoule 18%" in [row["name"] for row in found]
    # the trigram index of names, rebuilt with the search index as the crawl ended
    compared = get(two_day_ds, f"/{SITE_DB_NAME}/compare.json?first=firming+amp&_shape=array")
    assert "C Firming Ampoule 18%" in [row["name"] for row in compared.json()]
