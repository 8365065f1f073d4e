"""Distributed re-crawls skip like local ones (crawler/distributed_recrawl.py): with a real
redis-server and two `serumscope worker` processes, three crawls of the unchanged demo shops (the
first, a re-crawl, a forced full one) ask the shops for the same pages, get the same 304s (the shops'
own logs) and leave the same store as the same three local crawls."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing

import pytest
from distributed import (
    RequestLog,
    StatusLog,
    differences,
    finish,
    local_crawl,
    redis_server_or_skip,
    start,
    start_workers,
    store_contents,
)

pytestmark = pytest.mark.slow
CRAWLS = {"first": (), "again": (), "full": ("--full",)}
QUIET = ("-s", "AUTOTHROTTLE_ENABLED=false")
# The Shopify currency is read from whichever product a crawl meets first: any one will do.
CURRENCY = re.compile(r"/products/[^/]+\.json$")


def distributed_crawl(sites, db, redis, folder, name: str, *options: str) -> None:
    crawl = start(
        "crawl", "--sites", str(sites), "--db", str(db), "--redis", redis.url, *QUIET, *options,
        log=folder / f"crawl-{name}.log",
    )  # fmt: skip
    workers = start_workers(redis.url, folder / name, 2)
    assert finish(crawl) == 0, (folder / f"crawl-{name}.log").read_text()[-3000:]
    assert [finish(worker) for worker in workers] == [0, 0]


def rows(db, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(db)) as conn:
        return sorted(conn.execute(sql).fetchall())


def remembered(db) -> dict[str, list]:
    """What the next crawl reads: product change signals, page validators, full crawls."""
    return {
        "sources": rows(db, "SELECT shop, key, listing_id, version FROM product_sources"),
        "validators": rows(db, "SELECT url, etag, last_modified, listing_id FROM page_validators"),
        "full crawls": rows(db, "SELECT name, full_crawl_at IS NOT NULL FROM shops"),
    }


def shop_figures(db, run_id: int) -> dict[str, tuple]:
    import json

    stats = rows(db, f"SELECT stats FROM crawl_runs WHERE id = {run_id}")[0][0]
    shops = json.loads(stats)
    shops = shops.get("shops", shops)
    return {
        name: (s["status"], s["listings"], s["unchanged"], s["not_modified"])
        for name, s in shops.items()
    }


@pytest.fixture(scope="module")
def crawls(demo_shops, tmp_path_factory):
    """The three crawls, local and distributed, each with the shops' request and status logs, and
    what each store holds after it."""
    folder = tmp_path_factory.mktemp("recrawl")
    redis = redis_server_or_skip(folder)
    demo_shops.set_day(1)
    sites = demo_shops.write_sites(folder / "sites.toml")
    results = {}
    try:
        for name, options in CRAWLS.items():
            (folder / name).mkdir()
            for side in ("local", "dist"):
                db = folder / f"{side}.db"
                with RequestLog(demo_shops) as requests, StatusLog(demo_shops) as statuses:
                    if side == "local":
                        local_crawl(sites, db, *QUIET, *options)
                    else:
                        distributed_crawl(sites, db, redis, folder, name, *options)
                results[name, side] = {
                    "requests": {p for _shop, p in requests.entries if not CURRENCY.match(p)},
                    "statuses": statuses.statuses(),
                    "store": store_contents(db),
                    "remembered": remembered(db),
                    "figures": shop_figures(db, len(results) // 2 + 1),
                    "sightings": rows(db, "SELECT last_run_id, gone_since FROM listings"),
                }
        yield results
    finally:
        redis.stop()


@pytest.mark.parametrize("name", list(CRAWLS))
def test_each_crawl_stores_what_the_local_crawl_stores(crawls, name):
    local, dist = crawls[name, "local"], crawls[name, "dist"]
    assert differences(local["store"], dist["store"]) == {}
    assert local["remembered"] == dist["remembered"]
    assert local["figures"] == dist["figures"]


@pytest.mark.parametrize("name", list(CRAWLS))
def test_each_crawl_asks_the_shops_what_the_local_crawl_asks(crawls, name):
    local, dist = crawls[name, "local"], crawls[name, "dist"]
    assert dist["requests"] == local["requests"]
    # (200s differ: each worker reads robots.txt, and whichever product it meets for the currency)
    assert dist["statuses"][304] == local["statuses"][304]


def test_a_re_crawl_skips_the_unchanged_products(crawls):
    first, again = crawls["first", "dist"], crawls["again", "dist"]
    assert len(again["requests"]) < len(first["requests"]) // 2
    for name, (status, stored, unchanged, _) in again["figures"].items():
        assert status == "ok" and stored == 0 and unchanged > 0, name
    assert again["sightings"] and set(again["sightings"]) == {(2, None)}  # all seen, none gone


def test_a_full_crawl_asks_with_validators_and_gets_304s(crawls):
    full = crawls["full", "dist"]
    assert full["statuses"][304] > 0
    assert sum(figures[3] for figures in full["figures"].values()) == full["statuses"][304]
    assert all(full_crawl for _shop, full_crawl in full["remembered"]["full crawls"])
