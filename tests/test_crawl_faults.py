"""Bad input: a good crawl, then a crawl where every page fails differently. The crawl finishes, each
failure is recorded per URL in crawl_errors, and what the good crawl stored is left intact."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fault_servers import JUNK_LOCS, FaultShop

FAST_SETTINGS = [
    "-s", "DOWNLOAD_TIMEOUT=1", "-s", "RETRY_TIMES=1", "-s", "RETRY_BACKOFF_BASE=0.1",
    "-s", "RETRY_BACKOFF_MAX=5", "-s", "DOWNLOAD_MAXSIZE=200000", "-s", "AUTOTHROTTLE_ENABLED=false",
    "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16",
]  # fmt: skip
CONTENT_COLUMNS = (
    "id, title, brand, description, ingredients_text, image_alts, is_candidate, first_seen"
)


def run_crawl(sites: Path, db: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "serumscope"), "crawl", "--sites", str(sites), "--db", str(db),
         "--quiet", "--json", *FAST_SETTINGS],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture(scope="module")
def crawls(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("faults")
    db, sites = tmp / "faults.db", tmp / "sites.toml"
    with FaultShop() as shop, FaultShop() as closed:
        sites.write_text(
            f'[[shop]]\nname = "faulty"\nplatform = "sitemap"\nbase_url = "{shop.base_url}"\n'
            f'product_url_patterns = ["/products/p"]\n\n'
            f'[[shop]]\nname = "feed"\nplatform = "shopify"\nbase_url = "{shop.base_url}"\n\n'
            f'[[shop]]\nname = "closed"\nplatform = "sitemap"\nbase_url = "{closed.base_url}"\n'
        )
        good = run_crawl(sites, db)
        before = {
            "listings": rows(db, f"select {CONTENT_COLUMNS} from listings order by id"),
            "variants": rows(db, "select id, price, currency, size_text from variants order by id"),
        }
        shop.mode, closed.mode = "faulty", "closed"
        shop.log.clear()
        closed.log.clear()
        faulty = run_crawl(sites, db)
        yield {
            "db": db,
            "good": good,
            "faulty": faulty,
            "before": before,
            "shop": shop,
            "closed": closed,
        }


def test_good_crawl_stores_every_page(crawls):
    assert crawls["good"].returncode == 0, crawls["good"].stderr
    ids = {row[0] for row in crawls["before"]["listings"]}
    assert {f"faulty:/products/p{i}" for i in range(1, 10)} <= ids
    assert "feed:9001" in ids
    assert {f"closed:/products/p{i}" for i in range(1, 10)} <= ids


def test_faulty_crawl_finishes_and_reports_partial(crawls):
    result = crawls["faulty"]
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] == "partial"
    assert summary["shops"]["faulty"]["status"] == "partial"
    assert summary["shops"]["closed"]["status"] == "failed"
    assert summary["shops"]["feed"]["status"] == "failed"


def test_earlier_data_is_intact(crawls):
    db = crawls["db"]
    assert (
        rows(db, f"select {CONTENT_COLUMNS} from listings order by id")
        == crawls["before"]["listings"]
    )
    assert (
        rows(db, "select id, price, currency, size_text from variants order by id")
        == crawls["before"]["variants"]
    )


def test_each_failure_is_recorded_per_url(crawls):
    db, base = crawls["db"], crawls["shop"].base_url
    run_id = json.loads(crawls["faulty"].stdout)["run_id"]
    errors = rows(db, f"select shop, url, kind, status from crawl_errors where run_id = {run_id}")
    by_url = {}
    for shop, url, kind, status in errors:
        by_url.setdefault(url, set()).add((shop, kind, status))
    expected = {
        f"{base}/products/p1": ("faulty", "http", 500),
        f"{base}/products/p2": ("faulty", "http", 503),
        f"{base}/products/p3": ("faulty", "timeout", None),
        f"{base}/products/p4": ("faulty", "connection", None),
        f"{base}/products/p5": ("faulty", "parse", 200),
        f"{base}/products/p6": ("faulty", "http", 404),
        f"{base}/products/p8": ("faulty", "oversize", None),
        f"{base}/products.json?limit=250&page=1": ("feed", "parse", 200),
    }
    for url, error in expected.items():
        assert error in by_url.get(url, set()), (url, by_url.get(url))
    redirect_errors = [e for e in errors if e[2] == "redirect"]
    assert redirect_errors and all(e[0] == "faulty" for e in redirect_errors)
    junk = [e for e in errors if e[2] == "junk-url"]
    assert len(junk) == len(JUNK_LOCS)
    closed = [e for e in errors if e[0] == "closed"]
    assert closed and all(e[2] == "robots" for e in closed)


def test_skipped_urls_are_listed_apart_from_errors(crawls):
    faulty = json.loads(crawls["faulty"].stdout)["shops"]["faulty"]
    assert faulty["skipped_by_kind"]["junk-url"] == len(JUNK_LOCS)
    assert "junk-url" not in faulty["errors_by_kind"]
    assert faulty["errors"] == sum(faulty["errors_by_kind"].values()) > 0


def test_retry_after_is_honoured(crawls):
    times = crawls["shop"].requests_for("/products/p2")
    assert len(times) == 2
    assert times[1] - times[0] >= 0.9


def test_robots_disallow_all_fetches_no_page(crawls):
    paths = [path for _, path in crawls["closed"].log]
    assert "/robots.txt" in paths
    assert not [p for p in paths if p.startswith("/products/") or p.startswith("/sitemap")]


def test_non_utf8_page_is_decoded(crawls):
    title = rows(crawls["db"], "select title from listings where id = 'faulty:/products/p9'")[0][0]
    assert title == "Crème Vitamin C Sérum P9"


def test_run_rows_record_status_and_counts(crawls):
    runs = rows(
        crawls["db"], "select status, listings_seen, errors, stats from crawl_runs order by id"
    )
    assert [r[0] for r in runs] == ["ok", "partial"]
    assert runs[1][2] > 0
    assert "faulty" in json.loads(runs[1][3])
