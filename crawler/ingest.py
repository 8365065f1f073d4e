"""``serumscope ingest``: the one writer of a distributed crawl (crawler/frontier.py).

It reads the run's stream (listings, crawl errors and re-crawl marks the workers sent) and writes it
into the SQLite store with the local crawl's own writers (crawler.pipelines.store.ListingWriter; the
marks: crawler/distributed_recrawl.py), batch by batch; each
batch's transaction also moves the stream position in ``ingest_positions``, so an ingest killed
mid-batch stores nothing of it and the next one starts again from there: nothing lost, nothing twice.
While the stream is empty it looks after the frontier: requests of dead workers go back to the queue,
and once nothing is queued, in flight or moving (two looks half a second apart) the crawl is
finished: the run row gets its per-shop summary, as a local crawl's does.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import redis
import sqlite_utils

from crawler.collector import collect_for_crawling
from crawler.distributed_recrawl import (
    RECRAWL_ENTRY,
    gather_marks,
    publish_recrawl,
    record_full_crawls,
    seen_unchanged,
    store_marks,
)
from crawler.frontier import (
    OUTBOX_SIZE,
    RunKeys,
    RunLost,
    check_run,
    end_run,
    forget_run,
    frontier_snapshot,
    publish_run,
    recover_dead_workers,
    stream_rows,
)
from crawler.pipelines.store import ListingWriter, unstored_error
from crawler.storage import error_row, finish_run, save_errors, save_shop, shared_db, start_run
from crawler.summary import LIMITS_STAT, shop_summary
from serumscope.store.database import transaction
from serumscope.store.status import crawl_status

BATCH = 500  # rows (listings and errors) per transaction, give or take one stream entry
SETTLE_SECONDS = 0.5
GATHER_SECONDS = 0.5
PROGRESS_SECONDS = 5.0
TAKEOVER_SECONDS = 30.0  # another ingest storing nothing this long while the run goes on: take over


class AnotherIngest(Exception):
    """Another ingest stored the batch first: two must not write the same run."""


class Ingest:
    """Drains one run's stream into the database at ``db_path``."""

    def __init__(self, client: redis.Redis, db_path: str, keys: RunKeys, shops: list[dict]):
        self.client = client
        self.db: sqlite_utils.Database = shared_db(db_path)
        self.keys = keys
        self.shops = shops
        self.shop_names = [shop["name"] for shop in shops]
        self.unstored: list[dict[str, Any]] = []
        self.counts: dict[str, Counter] = {}  # shop -> the batch's statistics (``count``)
        self.writer = ListingWriter(self.db, keys.run_id, self.count, self.record_unstored)
        with transaction(self.db):
            self.db.execute(
                "INSERT OR IGNORE INTO ingest_positions (stream, last_id, run_id) VALUES (?, ?, ?)",
                [keys.out, "0-0", keys.run_id],
            )
        self.position = self.stored_position()
        for shop in shops:
            save_shop(self.db, shop)

    def stored_position(self) -> str:
        """How far the stream is stored (by this ingest or another)."""
        return self.db.execute(
            "SELECT last_id FROM ingest_positions WHERE stream = ?", [self.keys.out]
        ).fetchone()[0]

    def count(self, name: str, value: int = 1) -> None:
        """Statistics the writer keeps (invalid fields): the batch's, sent with it (``send_counts``).
        Listings stored are not among them: ``summary`` counts them in the store."""
        if name != "serumscope/listings_stored":
            self.counts.setdefault(self.current_shop, Counter())[name] += value

    def send_counts(self) -> None:
        """The batch's statistics join the shop's totals in Redis, under the stream position the
        batch starts from, in place of what an ingest killed before committing it had sent: the
        batch is stored again from there, and counted once."""
        source = f"ingest:{self.position}"
        with self.client.pipeline(transaction=True) as pipe:
            if self.shop_names:
                pipe.delete(*(self.keys.stats(shop, source) for shop in self.shop_names))
            for shop, counts in self.counts.items():
                pipe.hset(self.keys.stats(shop, source), mapping=dict(counts))
            pipe.execute()

    def record_unstored(self, item: dict[str, Any], error: BaseException) -> None:
        url, kind, message = unstored_error(item, error)
        shop = item.get("shop") or self.current_shop
        self.unstored.append(error_row(self.keys.run_id, shop, url, kind, message))

    def read(self, block_ms: int) -> tuple[str, list[list]]:
        """The next rows of the stream (listings and errors) and the last entry they came from: up
        to BATCH rows, gathered for up to GATHER_SECONDS after the first (a transaction per batch,
        not per listing, is most of the ingest's cost)."""
        position, rows = self.position, []
        deadline = None
        while len(rows) < BATCH:
            wait = block_ms if deadline is None else int(1000 * (deadline - time.monotonic()))
            if deadline is not None and wait <= 0:
                break
            # An entry holds up to OUTBOX_SIZE rows (one worker's outbox).
            count = max(1, (BATCH - len(rows)) // OUTBOX_SIZE)
            answer = self.client.xread({self.keys.out: position}, count=count, block=max(wait, 1))
            if not answer:
                break
            for entry_id, fields in answer[0][1]:
                rows += stream_rows(fields)
                position = entry_id.decode()
            deadline = deadline or time.monotonic() + GATHER_SECONDS
        return position, rows

    def drain_once(self, block_ms: int = 250) -> int:
        """Store the next batch of the stream; return how many rows it had (0: none came)."""
        last, rows = self.read(block_ms)
        if last == self.position:
            return 0
        listings: dict[str, list[dict[str, Any]]] = {}
        errors, marks = [], {}
        for kind, shop, data in rows:
            if kind == "listing":
                listings.setdefault(shop, []).append(data)
            elif kind == "error":
                errors.append(data)
            elif kind == RECRAWL_ENTRY:
                gather_marks(marks, shop, data)
        self.unstored, self.counts = [], {}
        with transaction(self.db):
            # First, so the transaction holds SQLite's write lock before it reads anything (two
            # ingests would otherwise deadlock) and stores nothing another ingest stored.
            moved = self.db.execute(
                "UPDATE ingest_positions SET last_id = ? WHERE stream = ? AND last_id = ?",
                [last, self.keys.out, self.position],
            )
            if moved.rowcount != 1:
                raise AnotherIngest(f"another ingest writes run {self.keys.run_id}")
            for shop, items in listings.items():
                self.current_shop = shop
                self.writer.write_each(items)
            save_errors(self.db, errors + self.unstored)
            for shop, data in marks.items():
                store_marks(self.client, self.keys, self.db, shop, data)
            self.send_counts()
        self.position = last
        self.client.xtrim(self.keys.out, minid=last)  # stored: Redis may forget them
        return len(rows)

    def crawl_finished(self) -> bool:
        """True when nothing is queued, held or moving, on two looks SETTLE_SECONDS apart."""
        recover_dead_workers(self.client, self.keys, self.shop_names)
        first = frontier_snapshot(self.client, self.keys, self.shop_names)
        if first is None:
            return False
        time.sleep(SETTLE_SECONDS)
        recover_dead_workers(self.client, self.keys, self.shop_names)
        return first == frontier_snapshot(self.client, self.keys, self.shop_names)

    def run_until_finished(
        self, progress: Callable[[str], None] | None = None, every: float = PROGRESS_SECONDS
    ) -> None:
        """Store the stream until the crawl is finished; every ``every`` seconds, a line to
        ``progress``."""
        self.current_shop = self.shop_names[0] if self.shop_names else ""
        next_line = time.monotonic()
        while True:
            if progress and time.monotonic() >= next_line:
                progress(self.progress_line())
                next_line = time.monotonic() + every
            state = check_run(self.client, self.keys)
            if state != "crawling":
                raise RunLost(f"the run was ended ({state}) before its crawl finished")
            if self.drain_once():
                continue
            if self.crawl_finished():
                while self.drain_once(block_ms=200):
                    pass
                return

    def progress_line(self) -> str:
        keys, client = self.keys, self.client
        queued = sum(
            client.llen(keys.start(shop)) + client.zcard(keys.requests(shop))
            for shop in self.shop_names
        )
        workers = [raw.decode() for raw in client.smembers(keys.workers)]
        held = sum(
            client.hlen(keys.inflight(shop, worker))
            for worker in workers
            for shop in self.shop_names
        )
        alive = sum(bool(client.exists(keys.alive(worker))) for worker in workers)
        seen = self.db.execute(
            "SELECT count(*) FROM listings WHERE last_run_id = ?", [keys.run_id]
        ).fetchone()[0]
        # Listings seen unchanged carry the run's id too (crawler/distributed_recrawl.py).
        unchanged = sum(client.scard(keys.seen(shop)) for shop in self.shop_names)
        return (
            f"run {keys.run_id}: {queued} queued, {held} in flight, {alive} workers, "
            f"{seen - unchanged} listings stored, {unchanged} seen unchanged"
        )

    def summary(self, finished: bool) -> dict[str, dict[str, Any]]:
        """Per-shop figures in the local crawl's form (crawler.summary.shop_summary), from the
        workers' statistics and what the store holds for this run."""
        shops = {}
        limited = {
            shop.decode(): json.loads(limit)
            for shop, limit in self.client.hgetall(self.keys.limited).items()
        }
        for name in self.shop_names:
            stats: dict[str, Any] = {}
            for source in self.client.scan_iter(match=self.keys.all_stats(name)):
                for key, value in self.client.hgetall(source).items():
                    stats[key.decode()] = stats.get(key.decode(), 0) + int(value)
            seen_by_run = self.db.execute(
                "SELECT id FROM listings WHERE shop = ? AND last_run_id = ?",
                [name, self.keys.run_id],
            )
            unchanged = seen_unchanged(self.client, self.keys, name)
            stats["serumscope/listings_stored"] = sum(
                1 for (listing,) in seen_by_run if listing not in unchanged
            )
            for kind, count in self.db.execute(
                "SELECT kind, count(*) FROM crawl_errors WHERE shop = ? AND run_id = ? GROUP BY kind",
                [name, self.keys.run_id],
            ):
                stats[f"serumscope/errors/{kind}"] = count
            stats[LIMITS_STAT] = [
                message
                for (message,) in self.db.execute(
                    "SELECT message FROM crawl_errors WHERE shop = ? AND run_id = ? AND kind = ?",
                    [name, self.keys.run_id, "limit"],
                )
            ]
            stats["finish_reason"] = "finished" if finished else "redis_lost"
            if name in limited:  # its limit's message is a crawl error, read above
                stats["finish_reason"] = limited[name][0]
            shops[name] = shop_summary(stats)
        return shops


def finish(ingest: Ingest) -> dict[str, Any]:
    """Record the finished run in the database, with its per-shop summary."""
    shops = ingest.summary(finished=True)
    status = crawl_status(shop["status"] for shop in shops.values())
    record_full_crawls(ingest.client, ingest.keys, ingest.db, shops)
    stats: dict[str, Any] = {"shops": shops, "distributed": True}
    finish_run(
        ingest.db,
        ingest.keys.run_id,
        status,
        sum(s["listings"] for s in shops.values()),
        sum(s["errors"] for s in shops.values()),
        stats,
    )
    return {"run_id": ingest.keys.run_id, "status": status, "shops": shops, "error": None}


def start_distributed(
    client: redis.Redis, db_path: str, sites: list[dict[str, Any]], settings: dict[str, Any]
) -> RunKeys:
    """Open the run in the database, publish what workers need to re-crawl like a local crawl
    (crawler/distributed_recrawl.py) and seed the shops into the frontier."""
    db = shared_db(db_path)
    run_id = start_run(db, [shop["name"] for shop in sites])
    with transaction(db):
        for shop in sites:
            save_shop(db, shop)
    keys = RunKeys.new(run_id)
    try:
        publish_recrawl(client, keys, db, sites, settings)  # before workers can join the run
        publish_run(client, keys, sites, settings)
    except Exception as error:  # Redis refused it, or a run setting is unreadable
        # A run that never began: its row ends failed and nothing of it stays in Redis.
        fail_run(db_path, keys, sites, f"could not publish the run: {error}")
        with contextlib.suppress(redis.RedisError):
            forget_run(client, keys)
        raise
    return keys


def ingest_run(
    client: redis.Redis,
    db_path: str,
    keys: RunKeys,
    shops: list[dict],
    progress: Callable[[str], None] | None = None,
    progress_seconds: float = PROGRESS_SECONDS,
) -> dict:
    """Drain the run into the database until it is finished; a lost Redis fails the run (what was
    stored stays; nothing is marked gone, since the run is not complete). While another ingest
    writes the run, leave it to that one (taking over if it stops storing)."""
    collect_for_crawling()  # listings come and go in the thousands, as in a local crawl
    try:
        while True:
            ingest = Ingest(client, db_path, keys, shops)
            try:
                ingest.run_until_finished(progress, progress_seconds)
                break
            except AnotherIngest:
                if not another_ingest_writes(ingest):
                    return recorded_run(ingest)
        result = finish(ingest)
        end_run(client, keys, "finished")
        return result
    except redis.RedisError as error:
        return fail_run(
            db_path, keys, shops, f"lost Redis: {type(error).__name__}: {error}", client
        )
    except RunLost as error:
        return fail_run(db_path, keys, shops, str(error), client)


def another_ingest_writes(ingest: Ingest) -> bool:
    """Wait while another ingest stores the run: False once the run ended, True when the other
    stored nothing for TAKEOVER_SECONDS (killed, say) while the run goes on."""
    position, since = ingest.position, time.monotonic()
    while check_run(ingest.client, ingest.keys) == "crawling":
        time.sleep(1.0)
        stored = ingest.stored_position()
        if stored != position:
            position, since = stored, time.monotonic()
        elif time.monotonic() - since > TAKEOVER_SECONDS:
            return True
    return False


def recorded_run(ingest: Ingest) -> dict:
    """The run as the other ingest recorded it."""
    status, stats = ingest.db.execute(
        "SELECT status, stats FROM crawl_runs WHERE id = ?", [ingest.keys.run_id]
    ).fetchone()
    stats = json.loads(stats or "{}")
    return {
        "run_id": ingest.keys.run_id,
        "status": status,
        "shops": stats.get("shops", {}),
        "error": stats.get("error"),
    }


def fail_run(
    db_path: str,
    keys: RunKeys,
    shops: list[dict],
    message: str,
    client: redis.Redis | None = None,
    status: str = "failed",
) -> dict:
    """Record the run as failed (or interrupted) in the database, and in Redis when it answers, so
    its workers stop; a run already finished stays as it was recorded."""
    db = shared_db(db_path)
    summary = {
        shop["name"]: {**shop_summary({}), "status": "failed", "startup_error": message}
        for shop in shops
    }
    finish_run(db, keys.run_id, status, 0, 0, {"shops": summary, "error": message})
    if client is not None:
        # When Redis is gone, the workers find that out themselves.
        with contextlib.suppress(redis.RedisError):
            end_run(client, keys, "failed")
    return {"run_id": keys.run_id, "status": status, "shops": summary, "error": message}
