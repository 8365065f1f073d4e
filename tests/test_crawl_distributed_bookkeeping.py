"""A distributed run's bookkeeping, with a real redis-server and a generated shop answering each
page after 10 ms: a run that cannot be published is recorded as failed and leaves no key in Redis;
an ingest killed and restarted counts the writer's statistics once; requests handed back from a
dead worker keep their priority, and handing them back loses none a worker takes meanwhile; a
`run --redis` stopped by SIGTERM (a systemd timeout) leaves no worker waiting on its run; a current
run an older serumscope left in Redis stops neither the crawl nor its workers."""

from __future__ import annotations

import asyncio
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
import redis as redis_client
from distributed import (
    SERUMSCOPE,
    finish,
    locally_crawled_shop,
    redis_server_or_skip,
    shop_table,
    start,
    start_workers,
)
from scrapy import Request
from scrapy_redis import picklecompat

from crawler.frontier import connect, recover_dead_workers, stop_shop
from crawler.ingest import Ingest, start_distributed
from crawler.worker_queue import POP_SCRIPT, Outbox, WorkerFrontier, request_dict
from serumscope.demo.generated import GeneratedShops
from serumscope.store.listings import MAX_TEXT_CHARS

pytestmark = pytest.mark.slow
PAGES = 100


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    with locally_crawled_shop(tmp_path_factory.mktemp("bookkeeping"), PAGES) as shop:
        yield shop


def run_rows(db) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT status, stats FROM crawl_runs ORDER BY id").fetchall()


def crawl(shop, db, redis_url: str, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SERUMSCOPE, "crawl", "--sites", str(shop["sites"]), "--db", str(db), "--redis", redis_url,
         "--quiet", *options],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_run_with_an_unreadable_setting_is_recorded_as_failed(shop, redis, tmp_path):
    db = tmp_path / "dist.db"
    result = crawl(shop, db, redis.url, "-s", "SERUMSCOPE_FULL_CRAWL_DAYS=weekly")
    ((status, stats),) = run_rows(db)
    assert status == "failed"
    assert "weekly" in stats
    assert result.returncode == 1
    assert "could not start the run" in result.stderr
    assert redis_client.Redis.from_url(redis.url).keys("serumscope:*") == []


def test_a_run_redis_refuses_to_publish_leaves_no_key(shop, tmp_path):
    """Redis answers PING and takes the re-crawl's data, but refuses the run itself (INFO renamed
    away, as some hosted Redis do): the run is recorded as failed, and what was written goes."""
    server = redis_server_or_skip(tmp_path, "--rename-command", "INFO", "")
    try:
        db = tmp_path / "dist.db"
        shutil.copy(shop["db"], db)  # a re-crawl: the shop's plan and known products are published
        result = crawl(shop, db, server.url)
        left = redis_client.Redis(port=server.port).keys("serumscope:*")
    finally:
        server.stop()
    assert result.returncode == 1
    assert [status for status, _stats in run_rows(db)] == ["ok", "failed"]
    assert left == []


SHOP = {"name": "counted", "platform": "sitemap", "base_url": "http://127.0.0.1:9"}
# An ingest that dies at its batch's COMMIT (SIGKILL, from SQLite's trace callback): the batch's
# listings were written, and the statistics the writer keeps were counted, but nothing committed.
DIE_AT_COMMIT = """
import os, signal, sys
from crawler.frontier import RunKeys, connect
from crawler.ingest import Ingest
url, db, name, shop = sys.argv[1:]
ingest = Ingest(connect(url), db, RunKeys.from_name(name), [{"name": shop}])
ingest.current_shop = shop
ingest.db.conn.set_trace_callback(
    lambda statement: statement == "COMMIT" and os.kill(os.getpid(), signal.SIGKILL)
)
ingest.drain_once(block_ms=1000)
"""


def test_an_ingest_killed_mid_batch_and_restarted_counts_the_batch_once(redis, tmp_path):
    client = connect(redis.url)
    db = tmp_path / "dist.db"
    keys = start_distributed(client, str(db), [SHOP], {})
    frontier = WorkerFrontier(client, keys, SHOP["name"], "worker-1", Outbox(client, keys))

    async def send():  # the outbox's timer needs a running event loop
        for number in range(3):
            frontier.send("listing", SHOP["name"], {
                "id": f"counted:{number}", "shop": SHOP["name"], "platform": "sitemap",
                "url": f"http://127.0.0.1:9/p/{number}", "fetched_at": "2026-01-01T00:00:00Z",
                "title": "Vitamin C serum " + "x" * MAX_TEXT_CHARS,  # cut: an invalid title
                "variants": [],
            })  # fmt: skip
        frontier.flush()

    asyncio.run(send())
    killed = subprocess.run(
        [sys.executable, "-c", DIE_AT_COMMIT, redis.url, str(db), keys.name, SHOP["name"]],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert killed.returncode == -9, killed.stderr
    ingest = Ingest(client, str(db), keys, [SHOP])
    ingest.current_shop = SHOP["name"]
    while ingest.drain_once(block_ms=100):
        pass
    summary = ingest.summary(finished=True)[SHOP["name"]]
    assert summary["listings"] == 3
    assert summary["fields_invalid"] == {"title": 3}


def queued_request(url: str, priority: int = 0) -> tuple[bytes, int]:
    """A request as a worker queues it (ReliableQueue.push_found): scrapy-redis's serializer of
    its dict, scored -priority."""
    data = picklecompat.dumps(request_dict(Request(url, priority=priority), None))
    return data, -priority


def take(client, keys, worker: str, count: int) -> list[bytes]:
    """What a worker's ReliableQueue.pop does: its script moves requests into its in-flight hash."""
    shop = SHOP["name"]
    taken = [keys.requests(shop), keys.inflight(shop, worker), keys.busy, keys.counters]
    return client.eval(POP_SCRIPT, len(taken), *taken, f"{worker}|{shop}", count)


def test_requests_handed_back_keep_their_priority(redis, tmp_path):
    client = connect(redis.url)
    keys = start_distributed(client, str(tmp_path / "dist.db"), [SHOP], {})
    queue = keys.requests(SHOP["name"])
    # A redirect goes first (REDIRECT_PRIORITY_ADJUST), a retry last (RETRY_PRIORITY_ADJUST).
    requests = [queued_request(f"http://127.0.0.1:9/p/{n}", n - 1) for n in range(4)]
    client.zadd(queue, dict(requests))
    client.sadd(keys.workers, "dead-worker")  # it took them, then stopped sending heartbeats
    assert len(take(client, keys, "dead-worker", 8)) == 4
    assert recover_dead_workers(client, keys, [SHOP["name"]]) == ["dead-worker"]
    assert client.zrange(queue, 0, -1, withscores=True) == sorted(
        ((data, float(score)) for data, score in requests), key=lambda pair: pair[1]
    )
    # and so does what a worker hands back when a crawl limit stops it
    take(client, keys, "limited-worker", 8)
    stop_shop(client, keys, SHOP["name"], "limited-worker", None)
    assert {score for _data, score in client.zrange(queue, 0, -1, withscores=True)} == {
        float(score) for _data, score in requests
    }


def test_handing_back_a_dead_workers_requests_loses_none_it_takes_meanwhile(redis, tmp_path):
    """A worker counted dead (no heartbeat for 10 s: a long pause) that takes requests while the
    ingest hands back what it held: none may vanish from both the queue and its in-flight hash."""
    client = connect(redis.url)
    keys = start_distributed(client, str(tmp_path / "dist.db"), [SHOP], {})
    queue, inflight = keys.requests(SHOP["name"]), keys.inflight(SHOP["name"], "paused-worker")
    requests = dict(queued_request(f"http://127.0.0.1:9/p/{n}") for n in range(3000))
    client.zadd(queue, requests)
    client.sadd(keys.workers, "paused-worker")
    taker = connect(redis.url)
    done = threading.Event()

    def take_all():
        while take(taker, keys, "paused-worker", 1):
            pass
        done.set()

    thread = threading.Thread(target=take_all)
    thread.start()
    while not done.is_set():
        client.sadd(keys.workers, "paused-worker")
        recover_dead_workers(client, keys, [SHOP["name"]])
    thread.join()
    assert set(client.zrange(queue, 0, -1)) | set(client.hvals(inflight)) == set(requests)


def test_a_run_stopped_by_sigterm_stops_its_workers(redis, tmp_path):
    """What systemd does to serumscope.service at TimeoutStartSec (deploy/systemd): `run --redis`
    stops its crawl, which ends the run in Redis; no worker is left waiting on it."""
    with GeneratedShops(200, delay=0.1) as generated:
        sites = tmp_path / "sites.toml"
        sites.write_text(shop_table(generated.sites_entry()))
        db = tmp_path / "dist.db"
        run = start(
            "run", "--sites", str(sites), "--db", str(db), "--log-dir", str(tmp_path / "logs"),
            "--redis", redis.url, "--quiet", log=tmp_path / "run.log",
        )  # fmt: skip
        (worker,) = start_workers(redis.url, tmp_path, 1)
        deadline = time.monotonic() + 60
        while stored(db) < 10:
            assert time.monotonic() < deadline, (tmp_path / "run.log").read_text()[-2000:]
            time.sleep(0.1)
        run.send_signal(signal.SIGTERM)
        assert finish(run, timeout=60) == 143
        assert finish(worker, timeout=30) == 1
    assert "the run did not finish (failed)" in (tmp_path / "worker0.log").read_text()
    assert [status for status, _stats in run_rows(db)] == ["interrupted"]


def stored(db) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT count(*) FROM listings").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_a_current_run_an_older_serumscope_left_does_not_stop_the_next_run(shop, redis, tmp_path):
    """``serumscope:run`` as a serumscope before run tokens wrote it: the run's id alone."""
    redis_client.Redis.from_url(redis.url).set("serumscope:run", "3")
    db = tmp_path / "dist.db"
    run = start(
        "crawl", "--sites", str(shop["sites"]), "--db", str(db), "--redis", redis.url,
        log=tmp_path / "crawl.log",
    )  # fmt: skip
    (worker,) = start_workers(redis.url, tmp_path, 1)
    assert finish(run) == 0, (tmp_path / "crawl.log").read_text()[-2000:]
    assert finish(worker) == 0, (tmp_path / "worker0.log").read_text()[-2000:]
    assert [status for status, _stats in run_rows(db)] == ["ok"]
