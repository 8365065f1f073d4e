"""Re-crawls of a distributed crawl, like a local crawl's (crawler/recrawl.py).

Before the run starts, the ``crawl --redis`` process (which has the store) publishes per shop what its
workers need (``publish_recrawl``): the shop's plan for this run (a full crawl, or skip unchanged
products), its product pages' validators for conditional requests, and its known products with
their change signals. Workers read it (``StreamRecrawl``, the workers' ``SERUMSCOPE_RECRAWL``) and
send what they record (listings seen unchanged, change signals a 304 confirmed, new page validators)
to the run's stream, each mark into the worker's outbox at once (crawler/worker_queue.py): it must
reach the stream with its request's ack or before, or a SIGKILL would lose it and the listing would
look gone. The ingest
stores the marks with the local crawl's store code (``store_marks``) and, once the run is finished,
remembers each shop whose full crawl completed (``record_full_crawls``): only it sees the whole run.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import redis
import sqlite_utils

from crawler.extract.listing import utc_now
from crawler.frontier import RunKeys
from crawler.recrawl import (
    FULL,
    SKIP,
    PlanSettings,
    Validators,
    full_crawl_completed,
    recrawl_plan,
)
from serumscope.store.freshness import (
    KnownProduct,
    known_products,
    page_validators,
    record_full_crawl,
    store_recrawl_marks,
)

if TYPE_CHECKING:  # the crawl --redis and ingest processes, which import this module, lack Scrapy
    from crawler.worker_queue import WorkerFrontier

RECRAWL_ENTRY = "recrawl"
CHUNK = 1000  # hash fields per HSET when publishing


def publish_recrawl(
    client: redis.Redis,
    keys: RunKeys,
    db: sqlite_utils.Database,
    shops: list[dict[str, Any]],
    settings: dict[str, Any],
) -> None:
    """Publish each shop's plan, page validators and (when it skips) known products for the run;
    ``settings`` are the run's overrides (``-s``, ``--full``) of the project's settings."""
    run_settings = PlanSettings.from_overrides(settings)
    for shop in shops:
        name = shop["name"]
        plan = recrawl_plan(db, name, run_settings)
        validators = {url: json.dumps(v) for url, v in page_validators(db, name).items()}
        known = known_products(db, name) if plan == SKIP else {}
        with client.pipeline(transaction=False) as pipe:
            if plan:
                pipe.hset(keys.recrawl_plans, name, plan)
            for key, fields in (
                (keys.validators(name), validators),
                (keys.known_products(name), {k: json.dumps(p) for k, p in known.items()}),
            ):
                items = list(fields.items())
                for start in range(0, len(items), CHUNK):
                    pipe.hset(key, mapping=dict(items[start : start + CHUNK]))
            pipe.execute()


class StreamRecrawl:
    """A worker's recrawl source: what the run published, marks sent to the run's stream."""

    batch = 1  # each mark to the outbox at once (see the module's docstring)

    def __init__(self, frontier: WorkerFrontier):
        self.frontier = frontier
        self.client = frontier.client
        self.keys = frontier.keys

    @classmethod
    def from_crawler(cls, crawler) -> StreamRecrawl:
        return cls(crawler.spider.frontier)

    def plan(self, shop: str) -> str | None:
        value = self.client.hget(self.keys.recrawl_plans, shop)
        return value.decode() if value else None

    def known_products(self, shop: str) -> dict[str, KnownProduct]:
        fields = self.client.hgetall(self.keys.known_products(shop))
        return {key.decode(): KnownProduct(*json.loads(value)) for key, value in fields.items()}

    def validators(self, shop: str) -> dict[str, Validators]:
        fields = self.client.hgetall(self.keys.validators(shop))
        return {url.decode(): tuple(json.loads(value)) for url, value in fields.items()}

    def record(
        self,
        run_id: int | None,
        shop: str,
        seen: list[str],
        sources: list[tuple[str, str, str, str | None, str]],
        validators: dict[str, Validators],
    ) -> None:
        marks = {"seen": seen, "sources": sources, "validators": validators}
        self.frontier.send(RECRAWL_ENTRY, shop, marks)

    def record_full_crawl(self, shop: str) -> None:
        """Nothing: one worker's crawl is not the shop's; the ingest records it (above)."""


def gather_marks(gathered: dict[str, dict], shop: str, marks: dict) -> None:
    """Add a worker's marks to the ingest batch's for the shop (stored in one go, in stream order)."""
    into = gathered.setdefault(shop, {"seen": [], "sources": [], "validators": {}})
    into["seen"] += marks["seen"]
    into["sources"] += marks["sources"]
    into["validators"].update(marks["validators"])


def store_marks(
    client: redis.Redis, keys: RunKeys, db: sqlite_utils.Database, shop: str, marks: dict
) -> None:
    """Store a worker's marks (within the ingest's batch transaction). The listings seen unchanged
    are also kept in Redis, so the run's summary tells them from listings stored again."""
    if marks["seen"]:
        client.sadd(keys.seen(shop), *marks["seen"])
    validators = {url: tuple(value) for url, value in marks["validators"].items()}
    sources = [tuple(row) for row in marks["sources"]]
    store_recrawl_marks(db, keys.run_id, marks["seen"], sources, validators, utc_now())


def seen_unchanged(client: redis.Redis, keys: RunKeys, shop: str) -> set[str]:
    return {listing.decode() for listing in client.smembers(keys.seen(shop))}


def record_full_crawls(
    client: redis.Redis,
    keys: RunKeys,
    db: sqlite_utils.Database,
    summaries: dict[str, dict[str, Any]],
) -> None:
    """Remember, as a local crawl does, each shop read in full by a run that completed it."""
    for name, plan in client.hgetall(keys.recrawl_plans).items():
        shop = name.decode()
        if plan.decode() == FULL and shop in summaries and full_crawl_completed(summaries[shop]):
            record_full_crawl(db, shop, utc_now())
