"""The "done when" of scheduled re-crawls: `serumscope run` against the demo shops on day 1 and day 2.

What changed between the days is read from the demo data itself (``build_catalog(1)`` vs ``(2)``), and
must show up in the history tables and views after the second run, and on the site (`serumscope
serve`): the change queries and the Atom feed.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
import urllib.request
from contextlib import closing
from decimal import Decimal

import pytest
from conftest import free_port

from serumscope.child_process import serumscope_command
from serumscope.demo import build_catalog
from serumscope.store.status import EXIT_OK

pytestmark = pytest.mark.slow


def day_differences() -> dict[str, dict]:
    """title -> what day 2 changes for it: prices (old, new), ingredients (old, new), gone, new."""
    before = {p["key"]: p for p in build_catalog(1).all_products()}
    after = {p["key"]: p for p in build_catalog(2).all_products()}
    changes: dict[str, dict] = {}
    for key, old in before.items():
        new = after.get(key)
        if new is None:
            changes.setdefault(old["title"], {})["gone"] = True
            continue
        for old_variant, new_variant in zip(old["variants"], new["variants"], strict=True):
            if old_variant["price"] != new_variant["price"]:
                changes.setdefault(old["title"], {})["price"] = (
                    Decimal(old_variant["price"]),
                    Decimal(new_variant["price"]),
                )
        if old.get("ingredients") != new.get("ingredients"):
            changes.setdefault(old["title"], {})["ingredients"] = (
                old["ingredients"],
                new["ingredients"],
            )
    for key, new in after.items():
        if key not in before:
            changes.setdefault(new["title"], {})["new"] = True
    return changes


def rows(db, sql: str, params=()) -> list[dict]:
    with closing(sqlite3.connect(db)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql, params)]


def run(sites, db) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*serumscope_command(), "run", "--sites", str(sites), "--db", str(db), "--quiet"],
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture(scope="module")
def two_days(demo_shops, tmp_path_factory):
    folder = tmp_path_factory.mktemp("two_days")
    sites, db = folder / "sites.toml", folder / "serumscope.db"
    demo_shops.write_sites(sites)
    demo_shops.set_day(1)
    try:
        first = run(sites, db)
        demo_shops.set_day(2)
        second = run(sites, db)
    finally:
        demo_shops.set_day(1)
    return first, second, db


def test_two_days_of_demo_shops_leave_every_change_in_the_history(two_days):
    first, second, db = two_days
    assert first.returncode == EXIT_OK, first.stderr
    assert second.returncode == EXIT_OK, second.stderr
    assert first.stdout.startswith("run 1 ok: shops 3 ok;")
    assert second.stdout.startswith("run 2 ok: shops 3 ok;")

    stored = {r["title"]: r["id"] for r in rows(db, "SELECT id, title FROM listings")}
    expected = {title: change for title, change in day_differences().items() if title in stored}
    assert any("price" in c for c in expected.values()), "the demo data should change prices"
    assert any("ingredients" in c for c in expected.values())
    assert any(c.get("gone") for c in expected.values())
    assert any(c.get("new") for c in expected.values())

    price_changes = {
        r["listing_title"]: (Decimal(r["old_price"]), Decimal(r["new_price"]))
        for r in rows(db, "SELECT * FROM variant_changes WHERE change = 'changed' AND run_id = 2")
    }
    assert price_changes == {t: c["price"] for t, c in expected.items() if "price" in c}

    drops = {r["listing_title"] for r in rows(db, "SELECT listing_title FROM price_drops")}
    assert drops == {
        t for t, c in expected.items() if "price" in c and c["price"][1] < c["price"][0]
    }

    reformulated = rows(
        db,
        "SELECT l.title, i.old_text, i.new_text, i.run_id FROM ingredient_changes i "
        "JOIN listings l ON l.id = i.listing_id WHERE i.kind = 'changed'",
    )
    assert {r["title"] for r in reformulated} == {
        t for t, c in expected.items() if "ingredients" in c
    }
    for row in reformulated:
        old_list, new_list = expected[row["title"]]["ingredients"]
        assert old_list in row["old_text"] and new_list in row["new_text"]
        assert row["run_id"] == 2

    events = {
        (r["title"], r["event"])
        for r in rows(
            db,
            "SELECT l.title, e.event FROM listing_events e JOIN listings l ON l.id = e.listing_id "
            "WHERE e.run_id = 2",
        )
    }
    assert events == {(t, "gone") for t, c in expected.items() if c.get("gone")} | {
        (t, "appeared") for t, c in expected.items() if c.get("new")
    }
    gone = rows(db, "SELECT title FROM listings WHERE gone_since IS NOT NULL")
    assert {r["title"] for r in gone} == {t for t, c in expected.items() if c.get("gone")}


def test_recent_changes_lists_what_the_second_day_changed(two_days):
    _, _, db = two_days
    recent = rows(db, "SELECT * FROM recent_changes")
    assert {r["run_id"] for r in recent} == {2}
    by_kind: dict[str, set[str]] = {}
    for r in recent:
        by_kind.setdefault(r["change"], set()).add(r["title"])
    stored = {r["title"] for r in rows(db, "SELECT title FROM listings")}
    expected = {title: change for title, change in day_differences().items() if title in stored}
    assert by_kind["price"] == {t for t, c in expected.items() if "price" in c}
    assert by_kind["ingredients"] == {t for t, c in expected.items() if "ingredients" in c}
    assert by_kind["gone"] == {t for t, c in expected.items() if c.get("gone")}
    assert by_kind["appeared"] == {t for t, c in expected.items() if c.get("new")}


def test_second_run_evaluates_only_what_changed(two_days):
    _, second, db = two_days
    run_row = rows(db, "SELECT evaluated, listings_seen FROM runs WHERE id = 2")[0]
    changed_ids = {
        r["listing_id"]
        for r in rows(
            db,
            "SELECT listing_id FROM variant_history WHERE run_id = 2 "
            "UNION SELECT listing_id FROM ingredient_changes WHERE run_id = 2 "
            "UNION SELECT listing_id FROM listing_changes WHERE run_id = 2 "
            "UNION SELECT listing_id FROM listing_events WHERE run_id = 2 AND event = 'appeared'",
        )
    }
    assert 0 < run_row["evaluated"] <= len(changed_ids) < run_row["listings_seen"]
    scored_again = {
        r["listing_id"]
        for r in rows(db, "SELECT listing_id FROM evaluations WHERE evaluated_at > "
                      "(SELECT started_at FROM crawl_runs WHERE id = 2)")
    }  # fmt: skip
    assert scored_again <= changed_ids


def test_the_site_shows_the_changes_in_its_queries_and_atom_feed(two_days):
    _, _, db = two_days
    stored = {r["title"] for r in rows(db, "SELECT title FROM listings")}
    expected = {title: change for title, change in day_differences().items() if title in stored}
    port = free_port()
    site = subprocess.Popen(
        [*serumscope_command(), "serve", "--db", str(db), "--port", str(port), "--no-refresh"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/serumscope"

    def get(path: str) -> bytes:
        with urllib.request.urlopen(base + path, timeout=20) as response:
            assert response.status == 200
            return response.read()

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get(".json")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        changes = json.loads(get("/changes_since_last_run.json?_shape=array"))
        drops = json.loads(get("/recent_price_drops.json?_shape=array"))
        feed = get("/feed.atom").decode()
    finally:
        site.send_signal(signal.SIGTERM)
        site.wait(timeout=30)

    seen = {(c["change"], c["title"]) for c in changes}
    for title, change in expected.items():
        if "price" in change:
            assert ("price", title) in seen
        if "ingredients" in change:
            assert ("ingredients", title) in seen
        if change.get("gone"):
            assert ("gone", title) in seen
        if change.get("new"):
            assert ("appeared", title) in seen
    dropped = {t for t, c in expected.items() if "price" in c and c["price"][1] < c["price"][0]}
    assert {d["title"] for d in drops} == dropped
    assert feed.startswith("<?xml") and "<feed" in feed
    for title in dropped:
        assert f"Price drop: {title}" in feed.replace("&amp;", "&")
