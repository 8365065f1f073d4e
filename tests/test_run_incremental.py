"""Conditional requests (crawler/incremental.py) with Scrapy's real engine against the demo retailer,
which answers ETag / Last-Modified and 304 Not Modified. The crawls are full (``--full``): otherwise
the sitemap's lastmod spares the requests altogether (tests/test_crawl_unchanged.py)."""

from __future__ import annotations

import sqlite3
import subprocess
from contextlib import closing

import pytest

from serumscope.child_process import serumscope_command

pytestmark = pytest.mark.slow


def crawl(sites, db) -> None:
    finished = subprocess.run(
        [
            *serumscope_command(),
            "crawl",
            "--sites",
            str(sites),
            "--db",
            str(db),
            "--quiet",
            "-s",
            "AUTOTHROTTLE_ENABLED=false",
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
