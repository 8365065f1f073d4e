"""A sitemap shop whose products are each listed in two child sitemaps, crawled by two workers with
a real redis-server: the two sitemaps of a product are read by different workers, yet each product
page is fetched once (the shop's request log), and the store equals a single-process crawl's."""

from __future__ import annotations

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
PAGES = 480
SITEMAPS = 96  # a worker holds at most ~40 requests at once: both workers read some


@pytest.fixture(scope="module")
def crawls(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sitemaps")
    redis = redis_server_or_skip(folder)
    try:
        with GeneratedShops(PAGES, delay=0.02, sitemaps=SITEMAPS) as generated:
            sites = folder / "sites.toml"
            sites.write_text(shop_table(generated.sites_entry()))
            local_crawl(sites, folder / "local.db")
            with RequestLog(generated) as log:
                crawl = start(
                    "crawl", "--sites", str(sites), "--db", str(folder / "dist.db"),
                    "--redis", redis.url, log=folder / "crawl.log",
                )  # fmt: skip
                workers = start_workers(redis.url, folder, 2)
                statuses = [finish(crawl), *(finish(worker) for worker in workers)]
        yield {"folder": folder, "statuses": statuses, "log": log}
    finally:
        redis.stop()


def test_each_product_page_is_fetched_once_across_workers(crawls):
    assert crawls["statuses"] == [0, 0, 0], (crawls["folder"] / "crawl.log").read_text()[-3000:]
    log = crawls["log"]
    products = [path for _shop, path in log.entries if path.startswith("/products/")]
    assert len(products) == PAGES
    assert log.repeated() == {}


def test_the_store_equals_a_single_process_crawl(crawls):
    folder = crawls["folder"]
    local, dist = store_contents(folder / "local.db"), store_contents(folder / "dist.db")
    assert len(local["listings"]) == PAGES
    assert differences(local, dist) == {}
