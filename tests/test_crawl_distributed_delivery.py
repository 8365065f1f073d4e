"""A worker's outbox batch delivered twice (redis-py sends a MULTI/EXEC again when the reply to it was
lost on a connection error or timeout, though Redis had applied it): the ingest stores each crawl
error once, each listing once. A real redis-server, the worker's own outbox, the ingest's own drain."""

from __future__ import annotations

import asyncio
import sqlite3

from crawler.frontier import connect
from crawler.ingest import Ingest, start_distributed
from crawler.storage import error_row
from crawler.worker_queue import Outbox, WorkerFrontier

SHOP = {"name": "lost-replies", "platform": "sitemap", "base_url": "http://127.0.0.1:9"}


def listing(number: int) -> dict:
    return {
        "id": f"lost-replies:{number}",
        "shop": SHOP["name"],
        "platform": "sitemap",
        "url": f"http://127.0.0.1:9/p/{number}",
        "title": f"Vitamin C serum {number}",
        "fetched_at": "2026-01-01T00:00:00Z",
        "variants": [],
    }


def test_a_batch_delivered_twice_stores_each_error_once(redis, tmp_path):
    client = connect(redis.url)
    db = tmp_path / "dist.db"
    keys = start_distributed(client, str(db), [SHOP], {})
    frontier = WorkerFrontier(client, keys, SHOP["name"], "worker-1", Outbox(client, keys))
    errors = [
        error_row(keys.run_id, SHOP["name"], f"http://127.0.0.1:9/p/{n}", "http", "HTTP 500", 500)
        for n in range(3)
    ]
    rows = [("listing", listing(n)) for n in range(2)] + [("error", row) for row in errors]

    async def deliver_twice():  # what redis-py's retry of the outbox's EXEC does
        for _delivery in range(2):
            for kind, data in rows:
                frontier.send(kind, SHOP["name"], data)
            frontier.flush()

    asyncio.run(deliver_twice())  # the outbox's timer needs a running event loop
    assert frontier.lost is None
    assert client.xlen(keys.out) == 2  # one stream entry per outbox batch

    ingest = Ingest(client, str(db), keys, [SHOP])
    ingest.current_shop = SHOP["name"]
    while ingest.drain_once(block_ms=100):
        pass

    with sqlite3.connect(db) as conn:
        stored_errors = conn.execute("SELECT url, error_key FROM crawl_errors ORDER BY url")
        assert [tuple(row) for row in stored_errors] == [(e["url"], e["error_key"]) for e in errors]
        assert conn.execute("SELECT count(*) FROM listings").fetchone()[0] == 2
