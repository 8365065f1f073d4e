"""Distributed crawl (docs/scaling.md): a real redis-server, `serumscope crawl --redis` with two
`serumscope worker` processes against the demo shops and a generated 2,000-product shop; the store
must equal a single-process crawl's, and no URL may be fetched twice (the shops' own request log)."""

from __future__ import annotations

import json
import sqlite3

import pytest
from distributed import (
    RequestLog,
    differences,
    finish,
    local_crawl,
    redis_server_or_skip,
    shop_table,
    start,
    start_workers,
    store_contents,
)

from serumscope.demo.generated import GeneratedShops

pytestmark = pytest.mark.slow


def write_sites(path, demo_shops, generated) -> None:
    demo_shops.write_sites(path)
    entry = generated.sites_entry()
    path.write_text(path.read_text() + "\n" + shop_table(entry))


@pytest.fixture(scope="module")
def crawls(demo_shops, tmp_path_factory):
    """A local crawl and a distributed one (2 workers) of the same shops, and the request log."""
    folder = tmp_path_factory.mktemp("distributed")
    redis = redis_server_or_skip(folder)
    try:
        with GeneratedShops(2000) as generated:
            sites = folder / "sites.toml"
            write_sites(sites, demo_shops, generated)
            local_crawl(sites, folder / "local.db")
            with RequestLog(demo_shops, generated) as log:
                crawl = start(
                    "crawl", "--sites", str(sites), "--db", str(folder / "dist.db"),
                    "--redis", redis.url, "--json", log=folder / "crawl.log",
                )  # fmt: skip
                workers = start_workers(redis.url, folder, 2)
                crawl_status = finish(crawl)
                worker_statuses = [finish(worker) for worker in workers]
        yield {
            "folder": folder,
            "crawl_status": crawl_status,
            "worker_statuses": worker_statuses,
            "log": log,
            "local": folder / "local.db",
            "dist": folder / "dist.db",
        }
    finally:
        redis.stop()


def test_distributed_crawl_stores_what_a_local_crawl_stores(crawls):
    output = (crawls["folder"] / "crawl.log").read_text()
    assert crawls["crawl_status"] == 0, output[-3000:]
    assert crawls["worker_statuses"] == [0, 0]
    local, dist = store_contents(crawls["local"]), store_contents(crawls["dist"])
    assert len(local["listings"]) > 2000
    assert differences(local, dist) == {}


def test_no_url_is_fetched_twice_across_workers(crawls):
    log = crawls["log"]
    assert len(log.entries) > 2000
    # The shop currency a Shopify worker reads is shared with the others through Redis.
    assert log.repeated() == {}


def test_both_workers_crawled(crawls):
    pages = []
    for n in range(2):
        text = (crawls["folder"] / f"worker{n}.log").read_text()
        pages.append(int(text.rsplit(": ", 1)[1].split()[0]))
    assert all(count > 100 for count in pages), pages


def test_the_run_row_has_per_shop_summaries_like_a_local_crawl(crawls):
    conn = sqlite3.connect(crawls["dist"])
    status, listings, stats = conn.execute(
        "SELECT status, listings_seen, stats FROM crawl_runs"
    ).fetchone()
    shops = json.loads(stats)["shops"]
    assert status == "ok"
    assert shops["generated"]["listings"] == 2000
    assert shops["generated"]["status"] == "ok"
    assert shops["generated"]["pages"] >= 2000
    assert listings == sum(shop["listings"] for shop in shops.values())
