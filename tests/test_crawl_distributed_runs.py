"""How a distributed run ends, with a real redis-server and a generated shop answering each page after
10 ms: a crawl stopped by SIGTERM, or left crawling by a killed one, ends its run in Redis too (its
workers stop and join the next run); two databases sharing a Redis never share a run's keys; a Redis
restarted from a snapshot loses the run; a run recorded as failed is never recorded as ok later."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess

import pytest
import redis as redis_client
from distributed import (
    SERUMSCOPE,
    differences,
    finish,
    free_port,
    local_crawl,
    locally_crawled_shop,
    shop_table,
    start,
    start_workers,
    store_contents,
)

from crawler.frontier import current_run
from crawler.storage import finish_run, shared_db, start_run
from crawler.worker_queue import Outbox, WorkerFrontier
from serumscope.demo.generated import GeneratedShops

pytestmark = pytest.mark.slow
PAGES = 200


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    with locally_crawled_shop(tmp_path_factory.mktemp("runs"), PAGES) as shop:
        yield shop


def stored(db) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT count(*) FROM listings").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def wait_until(condition, timeout: float = 120) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def crawl(shop, db, redis, tmp_path, name="crawl", *options):
    return start(
        "crawl", "--sites", str(shop["sites"]), "--db", str(db), "--redis", redis.url, *options,
        log=tmp_path / f"{name}.log",
    )  # fmt: skip


def run_statuses(db) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT status FROM crawl_runs ORDER BY id")]


def test_a_crawl_stopped_by_sigterm_ends_its_run_and_the_next_run_completes(shop, redis, tmp_path):
    db = tmp_path / "dist.db"
    crawler = crawl(shop, db, redis, tmp_path)
    (worker,) = start_workers(redis.url, tmp_path, 1)
    wait_until(lambda: stored(db) > 20)
    crawler.send_signal(signal.SIGTERM)
    assert finish(crawler, timeout=30) == -signal.SIGTERM
    assert run_statuses(db) == ["interrupted"]
    assert finish(worker, timeout=30) == 1  # stopped at once: the unit starts it again
    assert "the run did not finish (failed)" in (tmp_path / "worker0.log").read_text()

    # A re-crawl is quick (its pages answer 304): a progress line every 0.2 s, not every 5 s.
    crawler = crawl(shop, db, redis, tmp_path, "crawl2", "-s", "SERUMSCOPE_PROGRESS_INTERVAL=0.2")
    (worker,) = start_workers(redis.url, tmp_path, 1, first=1)
    assert finish(crawler) == 0, (tmp_path / "crawl2.log").read_text()[-2000:]
    assert finish(worker) == 0
    assert run_statuses(db) == ["interrupted", "ok"]
    progress = r"run 2: \d+ queued, \d+ in flight, [12] workers, \d+ listings stored"
    assert re.search(progress, (tmp_path / "crawl2.log").read_text())
    assert differences(shop["local"], store_contents(db)) == {}


def test_a_new_run_ends_the_run_a_killed_crawl_left_crawling(shop, redis, tmp_path):
    db = tmp_path / "dist.db"
    crawler = crawl(shop, db, redis, tmp_path)
    (orphaned,) = start_workers(redis.url, tmp_path, 1)
    wait_until(lambda: stored(db) > 20)
    crawler.send_signal(signal.SIGKILL)  # no chance to end its run
    crawler.wait()
    crawler = crawl(shop, db, redis, tmp_path, "crawl2")
    assert finish(orphaned, timeout=30) == 1
    (worker,) = start_workers(redis.url, tmp_path, 1, first=1)
    assert finish(crawler) == 0, (tmp_path / "crawl2.log").read_text()[-2000:]
    assert finish(worker) == 0
    assert differences(shop["local"], store_contents(db)) == {}


def test_two_databases_on_one_redis_each_get_a_whole_crawl(shop, redis, tmp_path):
    """Both databases' first run has id 1: the second must not inherit the first's frontier."""
    for name in ("a", "b"):
        db = tmp_path / f"{name}.db"
        crawler = crawl(shop, db, redis, tmp_path, f"crawl-{name}")
        (worker,) = start_workers(redis.url, tmp_path, 1, first=0 if name == "a" else 1)
        assert finish(crawler) == 0, (tmp_path / f"crawl-{name}.log").read_text()[-2000:]
        assert finish(worker) == 0
        assert differences(shop["local"], store_contents(db)) == {}, name


def test_a_redis_restored_from_a_snapshot_fails_the_run(shop, redis, tmp_path):
    """A Redis restarted with persistence brings the run back as it was at its last snapshot: the
    workers must stop, and no ingest may take the run up again and record it as ok."""
    db = tmp_path / "dist.db"
    crawler = crawl(shop, db, redis, tmp_path)
    workers = start_workers(redis.url, tmp_path, 2)
    wait_until(lambda: stored(db) > 20)
    client = redis_client.Redis(port=redis.port)
    # Leases given back between the snapshot and the restart come back held, until they expire
    # (DOWNLOAD_TIMEOUT + LEASE_SECONDS): held leases in the snapshot make that sure to happen.
    for key in client.scan_iter("*:leases:*"):
        if not key.endswith(b":next"):
            client.zadd(key, {f"given back|{n}": 4_000_000_000_000 for n in range(16)})
    client.save()  # what a `save` line of redis.conf does
    redis.stop()
    redis.start()  # loads dump.rdb from its folder
    assert finish(crawler, timeout=60) == 1
    assert [finish(worker, timeout=30) for worker in workers] == [1, 1]
    ingest = start(
        "ingest", "--redis", redis.url, "--db", str(db), "--wait", "3", log=tmp_path / "ingest.log"
    )
    assert finish(ingest, timeout=60) == 1
    assert "no crawl run to ingest" in (tmp_path / "ingest.log").read_text()
    assert run_statuses(db) == ["failed"]
    with sqlite3.connect(db) as conn:
        stats = json.loads(conn.execute("SELECT stats FROM crawl_runs").fetchone()[0])
        gone = conn.execute("SELECT count(*) FROM listings WHERE gone_since IS NOT NULL")
        assert gone.fetchone()[0] == 0
    assert "Redis" in stats["error"]


def test_a_failed_run_is_never_recorded_as_ok_afterwards(tmp_path):
    db = shared_db(tmp_path / "runs.db")
    run_id = start_run(db, ["shop"])
    finish_run(db, run_id, "failed", 0, 0, {"error": "lost Redis"})
    finish_run(db, run_id, "ok", 10, 0, {})
    row = db.execute("SELECT status, listings_seen FROM crawl_runs").fetchone()
    assert row == ("failed", 0)


def test_a_crawl_limit_stops_the_shop_for_every_worker_and_the_run_ends(shop, redis, tmp_path):
    db = tmp_path / "dist.db"
    crawler = start(
        "crawl", "--sites", str(shop["sites"]), "--db", str(db), "--redis", redis.url,
        "-s", "CLOSESPIDER_PAGECOUNT=30", log=tmp_path / "crawl.log",
    )  # fmt: skip
    workers = start_workers(redis.url, tmp_path, 2)
    assert finish(crawler, timeout=90) == 0, (tmp_path / "crawl.log").read_text()[-2000:]
    assert [finish(worker, timeout=30) for worker in workers] == [0, 0]
    assert run_statuses(db) == ["partial"]
    with sqlite3.connect(db) as conn:
        (summary,) = json.loads(conn.execute("SELECT stats FROM crawl_runs").fetchone()[0])[
            "shops"
        ].values()
        limits = conn.execute("SELECT message FROM crawl_errors WHERE kind = 'limit'").fetchall()
    assert summary["limits"] == [
        "page limit reached: CLOSESPIDER_PAGECOUNT = 30 pages; the crawl stopped there"
    ]
    assert summary["finish_reason"] == "closespider_pagecount"
    assert limits == [(summary["limits"][0],)]
    assert 30 <= stored(db) < PAGES


def test_a_start_message_taken_by_a_worker_that_died_is_crawled_by_another(shop, redis, tmp_path):
    """A worker killed right after taking a shop's start message, before it queued the shop's start
    requests: the message goes back to the frontier like any request it held."""
    db = tmp_path / "dist.db"
    crawler = crawl(shop, db, redis, tmp_path)
    client = redis_client.Redis.from_url(redis.url)
    wait_until(lambda: current_run(client) is not None, timeout=30)
    keys, shops, _settings = current_run(client)
    (name,) = [entry["name"] for entry in shops]
    killed = WorkerFrontier(client, keys, name, "killed-1", Outbox(client, keys))
    assert killed.take_start() != []
    (worker,) = start_workers(redis.url, tmp_path, 1)
    assert finish(crawler) == 0, (tmp_path / "crawl.log").read_text()[-2000:]
    assert finish(worker) == 0
    assert run_statuses(db) == ["ok"]
    assert differences(shop["local"], store_contents(db)) == {}


def test_two_ingests_of_one_run_store_each_entry_once(redis, tmp_path):
    """An ingest unit left enabled beside `crawl --redis` (which ingests itself): one writes, the
    other waits; the crawl error (a missing sitemap) is stored once, as in a local crawl."""
    with GeneratedShops(PAGES, delay=0.01) as generated:
        entry = generated.sites_entry()
        entry["sitemap_urls"].append(entry["base_url"] + "/missing-sitemap.xml")
        sites = tmp_path / "sites.toml"
        sites.write_text(shop_table(entry))
        local_crawl(sites, tmp_path / "local.db")
        db = tmp_path / "dist.db"
        crawler = crawl({"sites": sites}, db, redis, tmp_path)
        ingest = start("ingest", "--redis", redis.url, "--db", str(db), log=tmp_path / "ingest.log")
        workers = start_workers(redis.url, tmp_path, 2)
        assert finish(crawler) == 0, (tmp_path / "crawl.log").read_text()[-2000:]
        assert finish(ingest) == 0, (tmp_path / "ingest.log").read_text()[-2000:]
        assert [finish(worker) for worker in workers] == [0, 0]
    local = store_contents(tmp_path / "local.db")
    assert len(local["crawl_errors"]) == 1
    assert differences(local, store_contents(db)) == {}


def test_a_crawl_without_ingest_whose_run_vanishes_fails(shop, redis, tmp_path):
    db = tmp_path / "dist.db"
    crawler = start(
        "crawl", "--sites", str(shop["sites"]), "--db", str(db), "--redis", redis.url,
        "--no-ingest", log=tmp_path / "crawl.log",
    )  # fmt: skip
    client = redis_client.Redis.from_url(redis.url)
    wait_until(lambda: current_run(client) is not None, timeout=30)
    client.flushall()  # what a Redis restarted empty looks like
    assert finish(crawler, timeout=30) == 1
    assert run_statuses(db) == ["failed"]


def test_run_says_when_its_redis_does_not_answer(shop, tmp_path):
    result = subprocess.run(
        [SERUMSCOPE, "run", "--sites", str(shop["sites"]), "--db", str(tmp_path / "x.db"),
         "--redis", f"redis://127.0.0.1:{free_port()}/0", "--quiet"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert "cannot reach Redis at redis://127.0.0.1:" in result.stderr


def test_a_run_redis_refuses_to_publish_is_recorded_as_failed(shop, tmp_path):
    """Redis answers PING but refuses the run (here: INFO renamed away, as some hosted Redis do)."""
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--dir", str(tmp_path), "--rename-command", "INFO", ""],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        client = redis_client.Redis(port=port)
        wait_until(lambda: ping(client), timeout=10)
        db = tmp_path / "dist.db"
        result = subprocess.run(
            [SERUMSCOPE, "crawl", "--sites", str(shop["sites"]), "--db", str(db),
             "--redis", f"redis://127.0.0.1:{port}/0"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        server.kill()
        server.wait()
    assert result.returncode == 1
    assert run_statuses(db) == ["failed"]


def ping(client) -> bool:
    try:
        return client.ping()
    except redis_client.ConnectionError:
        return False
