"""Conditional requests (crawler/incremental.py) with Scrapy's real engine against the demo retailer,
which answers ETag / Last-Modified and 304 Not Modified. The crawls are full (``--full``): otherwise
the sitemap's lastmod spares the requests altogether (tests/test_crawl_unchanged.py)."""

from __future__ import annotations

import re
import sqlite3
import subprocess
from contextlib import closing

import pytest
from distributed import shop_table

from serumscope.child_process import serumscope_command
from serumscope.demo.generated import GeneratedShops

pytestmark = pytest.mark.slow


def crawl(sites, db, *settings: str) -> None:
    """A full crawl (``--full``); AutoThrottle off unless ``settings`` are given."""
    finished = subprocess.run(
        [
            *serumscope_command(),
            "crawl",
            "--sites",
            str(sites),
            "--db",
            str(db),
            "--quiet",
            *(settings or ("-s", "AUTOTHROTTLE_ENABLED=false")),
            "--full",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in finished.stderr, finished.stderr


def rows(db, sql: str) -> list[dict]:
    with closing(sqlite3.connect(db)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql)]


def write_retailer_sites(demo_shops, path) -> None:
    retailer = next(s for s in demo_shops.sites() if s["platform"] == "sitemap")
    lines = ["[[shop]]"]
    for key, value in retailer.items():
        rendered = (
            "[" + ", ".join(f'"{v}"' for v in value) + "]"
            if isinstance(value, list)
            else f'"{value}"'
        )
        lines.append(f"{key} = {rendered}")
    path.write_text("\n".join(lines) + "\n")


def test_unchanged_product_pages_are_confirmed_by_304_not_downloaded_again(demo_shops, tmp_path):
    sites, db = tmp_path / "sites.toml", tmp_path / "serumscope.db"
    write_retailer_sites(demo_shops, sites)
    demo_shops.set_day(1)
    try:
        crawl(sites, db)
        first = {r["id"]: r for r in rows(db, "SELECT * FROM listings")}
        validators = rows(db, "SELECT * FROM page_validators")
        assert first and validators
        assert all(v["etag"] or v["last_modified"] for v in validators)
        assert {v["listing_id"] for v in validators} == set(first)

        crawl(sites, db)
        second = {r["id"]: r for r in rows(db, "SELECT * FROM listings")}
        assert set(second) == set(first)
        for listing_id, row in second.items():
            assert row["last_run_id"] == 2, listing_id  # seen by the second run...
            assert row["fetched_at"] == first[listing_id]["fetched_at"]  # ...without a download
        errors = rows(db, "SELECT * FROM crawl_errors WHERE run_id = 2 AND kind = 'ignored'")
        assert errors == []

        demo_shops.set_day(2)
        crawl(sites, db)
    finally:
        demo_shops.set_day(1)
    third = {r["id"]: r for r in rows(db, "SELECT * FROM listings")}
    refetched = {i for i, r in third.items() if r["fetched_at"] != first[i]["fetched_at"]}
    changed = {
        r["listing_id"] for r in rows(db, "SELECT listing_id FROM variant_history WHERE run_id = 3")
    }
    assert changed, "day 2 changes a retailer price"
    assert changed <= refetched
    assert all(third[i]["last_run_id"] == 3 for i in refetched)


def throttle_delays(log: str, body_size: int) -> list[int]:
    """AutoThrottle's delay (ms) after each answer of ``body_size`` bytes (AUTOTHROTTLE_DEBUG)."""
    pattern = re.compile(r"\| delay:\s*(\d+) ms .*\| size:\s*(\d+) bytes")
    return [int(delay) for delay, size in pattern.findall(log) if int(size) == body_size]


def test_a_recrawl_answered_by_304s_lets_autothrottle_speed_up(tmp_path):
    """With the shipped AutoThrottle: a 304 lowers the delay as a 200 does, so a re-crawl of a shop
    without change dates is not held at the pace its sitemap answers left."""
    with GeneratedShops(pages=120, delay=0.01) as shop:
        sites = tmp_path / "sites.toml"
        sites.write_text(shop_table(shop.sites_entry()))
        logs = []
        for run in (1, 2):
            log = tmp_path / f"crawl-{run}.log"
            crawl(
                sites, tmp_path / "serumscope.db", "-s", "AUTOTHROTTLE_DEBUG=true",
                "-s", "LOG_LEVEL=INFO", "-s", f"LOG_FILE={log}",
            )  # fmt: skip
            logs.append(log.read_text())
    assert len(throttle_delays(logs[0], 0)) == 0
    not_modified = throttle_delays(logs[1], 0)
    assert len(not_modified) >= 120  # every product page answered 304
    assert not_modified[-1] < not_modified[0] / 2, not_modified
