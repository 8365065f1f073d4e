"""Politeness per shop across workers (crawler/shop_limit.py): two `serumscope worker`s with a real
redis-server crawl one generated shop that answers each page after a delay; the shop itself records
how many requests it answers at once and when they come. Together the workers must stay within what
one local crawl may send: the per-domain concurrency, and the download delay between requests."""

from __future__ import annotations

import statistics
import time
from itertools import pairwise

import pytest
import redis as redis_client
from distributed import ShopLoad, finish, redis_server_or_skip, shop_table, start, start_workers

from crawler.frontier import RunKeys, current_run_keys, end_run, recover_dead_workers
from serumscope.demo.generated import GeneratedShops

pytestmark = pytest.mark.slow


def crawl_with_two_workers(tmp_path, pages: int, delay: float, *settings: str) -> dict:
    redis = redis_server_or_skip(tmp_path)
    try:
        with GeneratedShops(pages, delay=delay) as shop:
            sites = tmp_path / "sites.toml"
            entry = shop.sites_entry()
            sites.write_text(shop_table(entry))
            setting_args = [arg for setting in settings for arg in ("-s", setting)]
            with ShopLoad(shop) as load:
                crawl = start(
                    "crawl", "--sites", str(sites), "--db", str(tmp_path / "dist.db"),
                    "--redis", redis.url, *setting_args, log=tmp_path / "crawl.log",
                )  # fmt: skip
                workers = start_workers(redis.url, tmp_path, 2)
                assert finish(crawl) == 0, (tmp_path / "crawl.log").read_text()[-2000:]
                assert [finish(worker) for worker in workers] == [0, 0]
            url = shop.servers[shop.name].url
    finally:
        redis.stop()
    pages_per_worker = [
        int((tmp_path / f"worker{n}.log").read_text().rsplit(": ", 1)[1].split()[0])
        for n in range(2)
    ]
    return {
        "most": load.most[url],
        "arrivals": load.arrivals[url],
        "pages_per_worker": pages_per_worker,
    }


def test_two_workers_stay_within_one_shops_concurrency(tmp_path):
    seen = crawl_with_two_workers(
        tmp_path, 300, 0.05, "CONCURRENT_REQUESTS_PER_DOMAIN=2", "AUTOTHROTTLE_ENABLED=false"
    )
    assert all(pages > 30 for pages in seen["pages_per_worker"]), seen["pages_per_worker"]
    assert len(seen["arrivals"]) >= 300
    # Each worker alone may send 2 at once; the shop sees 2 at most from both together.
    assert seen["most"] == 2


def test_two_workers_keep_one_shops_download_delay(tmp_path):
    delay = 0.1
    seen = crawl_with_two_workers(
        tmp_path, 150, 0.0, f"DOWNLOAD_DELAY={delay}", "AUTOTHROTTLE_ENABLED=false",
        "CONCURRENT_REQUESTS=2",  # so that neither worker takes most of the queue at once
    )  # fmt: skip
    assert all(pages > 10 for pages in seen["pages_per_worker"]), seen["pages_per_worker"]
    arrivals = sorted(seen["arrivals"])
    gaps = [later - earlier for earlier, later in pairwise(arrivals)]
    # Leases are granted `delay` apart on Redis's clock; a worker busy parsing sends its request a
    # few ms late, so single gaps vary (as they do in a local crawl, whose delays vary by ±50%),
    # but not the pace: any 10 requests in a row take 10 delays.
    assert statistics.median(gaps) > delay * 0.95, sorted(gaps)
    spans = [later - earlier for earlier, later in zip(arrivals, arrivals[10:], strict=False)]
    assert min(spans) > 10 * delay * 0.85, sorted(spans)[:5]


def test_a_dead_workers_leases_are_freed(tmp_path):
    """The ingest's look for silent workers also frees the shop leases they held."""
    server = redis_server_or_skip(tmp_path)
    try:
        client = redis_client.Redis.from_url(server.url)
        keys = RunKeys(7, "token")
        leases = keys.leases("shop", "127.0.0.1")
        client.zadd(leases, {"dead-1|0": 1e15, "dead-1|1": 1e15, "alive-2|0": 1e15})
        client.set(f"{leases}:next", 0)
        client.sadd(keys.workers, "dead-1", "alive-2")
        client.set(keys.alive("alive-2"), "now")
        assert recover_dead_workers(client, keys, ["shop"]) == ["dead-1"]
        assert client.zrange(leases, 0, -1) == [b"alive-2|0"]
    finally:
        server.stop()


def test_a_worker_whose_run_failed_stops_though_every_lease_is_held(tmp_path):
    """A Redis restored from a snapshot brings back the leases of its time, held for a minute: a
    worker stopping (its run failed) must not wait for one before its spider can close."""
    redis = redis_server_or_skip(tmp_path)
    try:
        with GeneratedShops(400, delay=0.05) as shop:
            sites = tmp_path / "sites.toml"
            sites.write_text(shop_table(shop.sites_entry()))
            crawl = start(
                "crawl", "--sites", str(sites), "--db", str(tmp_path / "dist.db"),
                "--redis", redis.url, "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2",
                "-s", "AUTOTHROTTLE_ENABLED=false", log=tmp_path / "crawl.log",
            )  # fmt: skip
            (worker,) = start_workers(redis.url, tmp_path, 1)
            client = redis_client.Redis.from_url(redis.url)
            deadline = time.monotonic() + 60
            while not (held := list(client.scan_iter(match="*:leases:*", _type="zset"))):
                assert time.monotonic() < deadline, "no lease was ever taken"
                time.sleep(0.05)
            # Both of the shop's slots held by a worker of the snapshot's time, for 10 minutes.
            until = time.time() * 1000 + 600_000
            client.zadd(held[0], {"gone|0": until, "gone|1": until})
            time.sleep(0.3)  # the worker's next downloads wait for a lease
            end_run(client, current_run_keys(client), "failed")
            assert finish(worker, timeout=60) == 1  # not after the leases' 10 minutes
            assert finish(crawl, timeout=60) == 1
    finally:
        redis.stop()
