"""Faults of a distributed crawl, with a real redis-server and a generated shop answering each page
after 10 ms: a worker SIGKILLed mid-crawl loses nothing, an ingest SIGKILLed mid-crawl stores
nothing twice, and a Redis restart fails the run cleanly; each time the store then equals a local
crawl's (after the next run, for the Redis restart)."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from contextlib import closing

import pytest
from distributed import (
    differences,
    finish,
    locally_crawled_shop,
    start,
    start_workers,
    store_contents,
)

pytestmark = pytest.mark.slow
PAGES = 600


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    with locally_crawled_shop(tmp_path_factory.mktemp("faults"), PAGES) as shop:
        yield shop


def stored(db) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT count(*) FROM listings").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def wait_until(condition, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def crawl(shop, db, redis, tmp_path, *options: str):
    return start(
        "crawl", "--sites", str(shop["sites"]), "--db", str(db), "--redis", redis.url, *options,
        log=tmp_path / "crawl.log",
    )  # fmt: skip


def test_a_killed_worker_loses_nothing(shop, redis, tmp_path):
    db = tmp_path / "dist.db"
    crawler = crawl(shop, db, redis, tmp_path)
    victim, survivor = start_workers(redis.url, tmp_path, 2)
    wait_until(lambda: stored(db) > PAGES // 4)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    (restarted,) = start_workers(redis.url, tmp_path, 1, first=2)
    assert finish(crawler) == 0, (tmp_path / "crawl.log").read_text()[-2000:]
    assert finish(survivor) == 0 and finish(restarted) == 0
    assert differences(shop["local"], store_contents(db)) == {}


def seen_by(db, run_id: int) -> int:
    with closing(sqlite3.connect(db)) as conn:
        query = "SELECT count(*) FROM listings WHERE last_run_id = ? AND gone_since IS NULL"
        return conn.execute(query, [run_id]).fetchone()[0]


def test_a_worker_killed_mid_recrawl_loses_no_seen_mark(shop, redis, tmp_path):
    """A re-crawl of the shop (no lastmod: every page is asked with its ETag and answers 304): the
    listings a killed worker confirmed unchanged are still seen by the run."""
    db = tmp_path / "dist.db"
    with closing(sqlite3.connect(shop["db"])) as local, closing(sqlite3.connect(db)) as copy:
        local.backup(copy)  # the local crawl was run 1
    # AutoThrottle lowers no delay on a 304 (Scrapy takes non-200 answers for error pages): a fixed
    # delay keeps this re-crawl as long as a first crawl.
    pace = ("-s", "AUTOTHROTTLE_ENABLED=false", "-s", "DOWNLOAD_DELAY=0.02")
    crawler = crawl(shop, db, redis, tmp_path, *pace)
    victim, survivor = start_workers(redis.url, tmp_path, 2)
    wait_until(lambda: seen_by(db, 2) > PAGES // 4)
    assert victim.poll() is None and seen_by(db, 2) < PAGES // 2
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    (restarted,) = start_workers(redis.url, tmp_path, 1, first=2)
    assert finish(crawler) == 0, (tmp_path / "crawl.log").read_text()[-2000:]
    assert finish(survivor) == 0 and finish(restarted) == 0
    assert seen_by(db, 2) == PAGES
    with closing(sqlite3.connect(db)) as conn:
        (stats,) = conn.execute("SELECT stats FROM crawl_runs WHERE id = 2").fetchone()
    summary = json.loads(stats)["shops"]["generated"]
    assert summary["not_modified"] >= PAGES and summary["listings"] == 0
    assert differences(shop["local"], store_contents(db)) == {}


def test_a_killed_ingest_stores_nothing_twice(shop, redis, tmp_path):
    db = tmp_path / "dist.db"
    crawler = crawl(shop, db, redis, tmp_path, "--no-ingest")
    workers = start_workers(redis.url, tmp_path, 2)
    ingest = start("ingest", "--redis", redis.url, "--db", str(db), log=tmp_path / "ingest1.log")
    wait_until(lambda: stored(db) > PAGES // 4)
    ingest.send_signal(signal.SIGKILL)
    ingest.wait()
    ingest = start("ingest", "--redis", redis.url, "--db", str(db), log=tmp_path / "ingest2.log")
    assert finish(ingest) == 0, (tmp_path / "ingest2.log").read_text()[-2000:]
    assert finish(crawler) == 0
    assert [finish(worker) for worker in workers] == [0, 0]
    assert differences(shop["local"], store_contents(db)) == {}


def test_a_redis_restart_fails_the_run_and_the_next_run_completes(shop, redis, tmp_path):
    db = tmp_path / "dist.db"
    crawler = crawl(shop, db, redis, tmp_path)
    workers = start_workers(redis.url, tmp_path, 2)
    wait_until(lambda: stored(db) > PAGES // 4)
    redis.stop()
    redis.start()  # empty: --save "" keeps nothing
    assert finish(crawler) == 1
    assert all(finish(worker) == 1 for worker in workers)
    for n in range(2):
        assert "lost Redis" in (tmp_path / f"worker{n}.log").read_text()
    with sqlite3.connect(db) as conn:
        status, stats = conn.execute("SELECT status, stats FROM crawl_runs").fetchone()
        gone = conn.execute("SELECT count(*) FROM listings WHERE gone_since IS NOT NULL")
        assert gone.fetchone()[0] == 0
    assert status == "failed"
    assert "Redis" in json.loads(stats)["error"]

    crawler = crawl(shop, db, redis, tmp_path)
    workers = start_workers(redis.url, tmp_path, 2, first=2)
    assert finish(crawler) == 0
    assert [finish(worker) for worker in workers] == [0, 0]
    assert differences(shop["local"], store_contents(db)) == {}
