"""The Redis side of a distributed crawl: key names, the run's state and stream, dead workers.

A distributed crawl (``serumscope crawl --redis URL``) is one run in Redis:

- ``serumscope:run`` names the current run, ``ID:TOKEN`` (the database's crawl_runs.id and a random
  token: two databases, or a restored one, sharing a Redis never share a run's keys);
  ``…:run:ID:TOKEN:shops`` holds its shops' configurations (so workers on other machines need no
  sites file) and ``…:state`` is ``crawling``, ``finished`` or ``failed``; publishing a run fails
  the one before it, if it still crawls;
- ``…:server`` is the run_id Redis gave itself (INFO server) when the run began: a Redis restarted
  from a snapshot brings the run's keys back as they were, but under another run_id, and the run
  counts as lost (RunLost), like one restarted empty;
- per shop, ``…:SHOP:start`` holds one message read by scrapy-redis's ``RedisMixin``
  (``make_request_from_data`` turns it into the shop's start requests), ``…:SHOP:requests`` is
  scrapy-redis's scheduler queue and ``…:SHOP:dupefilter`` its duplicate filter, shared by every worker
  (``…:SHOP:products``: a sitemap's product pages, which do without the filter, each once too);
- a request a worker takes is kept in ``…:SHOP:inflight:WORKER`` until its answer has been parsed
  (or until the worker is idle); when a worker stops sending heartbeats, whatever it held goes back
  to the queue (``recover_dead_workers``), so a SIGKILLed worker loses nothing (the worker's side:
  crawler/worker_queue.py);
- workers append listings, crawl errors and final stats to the stream ``…:out``; one ingest process
  writes it into SQLite (crawler/ingest.py).
"""

from __future__ import annotations

import json
import os
import pickle
import secrets
import socket
from typing import Any

import redis

PREFIX = "serumscope"
HEARTBEAT_SECONDS = 1.0
HEARTBEAT_TTL = 10  # seconds without a heartbeat before a worker counts as dead

OUTBOX_SIZE = 200  # rows in one stream entry, at most (a worker's outbox: crawler/worker_queue.py)


def stream_entry(rows: list[list]) -> dict[str, str]:
    """One entry of the run's stream: ``[kind, shop, data]`` rows, in the order they were sent."""
    return {"rows": json.dumps(rows, default=sorted)}


def stream_rows(fields: dict[bytes, bytes]) -> list[list]:
    return json.loads(fields[b"rows"])


# A run's state moves from crawling only: a finished run is never failed afterwards, nor the reverse.
END_SCRIPT = """
if redis.call('GET', KEYS[1]) == 'crawling' then redis.call('SET', KEYS[1], ARGV[1]) end
"""


class RunLost(Exception):
    """Redis answers, but the run's keys are gone (it restarted without its data)."""


class RunKeys:
    """The Redis keys of one distributed crawl run."""

    def __init__(self, run_id: int | str, token: str):
        self.run_id = int(run_id)
        self.name = f"{self.run_id}:{token}"
        self.base = f"{PREFIX}:run:{self.name}"
        self.shops = f"{self.base}:shops"
        self.settings = f"{self.base}:settings"
        self.state = f"{self.base}:state"
        self.busy = f"{self.base}:busy"
        self.workers = f"{self.base}:workers"
        self.counters = f"{self.base}:counters"
        self.out = f"{self.base}:out"
        self.server = f"{self.base}:server"
        # shop -> [finish reason, message]: one of the crawl limits stopped the shop
        self.limited = f"{self.base}:limited"

    @classmethod
    def new(cls, run_id: int) -> RunKeys:
        """The keys of a run about to be published, under a token of its own."""
        return cls(run_id, secrets.token_hex(8))

    @classmethod
    def from_name(cls, name: str) -> RunKeys:
        run_id, token = name.split(":", 1)
        return cls(run_id, token)

    def start(self, shop: str) -> str:
        return f"{self.base}:{shop}:start"

    def requests(self, shop: str) -> str:
        return f"{self.base}:{shop}:requests"

    def dupefilter(self, shop: str) -> str:
        return f"{self.base}:{shop}:dupefilter"

    def product_pages(self, shop: str) -> str:
        """The product page URLs a sitemap shop's workers queued (each fetched once in the run,
        though not through the duplicate filter: crawler/worker_queue.py, ONCE_META)."""
        return f"{self.base}:{shop}:products"

    def start_taken(self, shop: str, worker: str) -> str:
        return f"{self.base}:{shop}:start:{worker}"

    def inflight(self, shop: str, worker: str) -> str:
        return f"{self.base}:{shop}:inflight:{worker}"

    def leases(self, shop: str, slot: str) -> str:
        """The shop host's download leases shared by the workers (crawler/shop_limit.py)."""
        return f"{self.base}:{shop}:leases:{slot}"

    def validators(self, shop: str) -> str:
        """What workers need to re-crawl like a local crawl (crawler/distributed_recrawl.py): the
        shop's page validators, its known products, the listings seen unchanged, each shop's
        plan."""
        return f"{self.base}:{shop}:validators"

    def known_products(self, shop: str) -> str:
        return f"{self.base}:{shop}:known"

    def seen(self, shop: str) -> str:
        return f"{self.base}:{shop}:seen"

    @property
    def recrawl_plans(self) -> str:
        return f"{self.base}:recrawl"

    def currency(self, shop: str) -> str:
        """A Shopify shop's currency, read once for every worker (crawler/worker.py)."""
        return f"{self.base}:{shop}:currency"

    def currency_reader(self, shop: str) -> str:
        return f"{self.base}:{shop}:currency:reader"

    def alive(self, worker: str) -> str:
        return f"{self.base}:alive:{worker}"

    def stats(self, shop: str, source: str) -> str:
        """A worker's latest crawl statistics for the shop (or one ingest batch's,
        ``source="ingest:POSITION"``)."""
        return f"{self.base}:{shop}:stats:{source}"

    def all_stats(self, shop: str) -> str:
        return f"{self.base}:{shop}:stats:*"


CURRENT_RUN = f"{PREFIX}:run"


def connect(url: str) -> redis.Redis:
    """A client for ``redis://HOST:PORT/DB``; raises redis.ConnectionError when it does not answer."""
    client = redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10)
    client.ping()
    return client


def worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def publish_run(
    client: redis.Redis, keys: RunKeys, shops: list[dict[str, Any]], settings: dict
) -> None:
    """Make the run (``RunKeys.new``) the current one (ending the previous one) and seed each shop's
    start message into the frontier."""
    previous = current_run_keys(client)
    with client.pipeline(transaction=True) as pipe:
        if previous is not None:
            end_run(pipe, previous, "failed")
        pipe.set(keys.shops, json.dumps(shops))
        pipe.set(keys.settings, json.dumps(settings))
        pipe.set(keys.server, server_id(client))
        pipe.set(keys.state, "crawling")
        for shop in shops:
            pipe.rpush(keys.start(shop["name"]), json.dumps({"shop": shop["name"]}))
        pipe.set(CURRENT_RUN, keys.name)
        pipe.execute()


# ``serumscope:run`` is let go only by the run it names.
LET_GO_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
"""


def forget_run(client: redis.Redis, keys: RunKeys) -> None:
    """Delete every key of a run that never began (its publishing failed): nothing of it stays in
    Redis, and no worker can join it."""
    client.eval(LET_GO_SCRIPT, 1, CURRENT_RUN, keys.name)
    batch = []
    for key in client.scan_iter(match=f"{keys.base}:*", count=1000):
        batch.append(key)
        if len(batch) == 1000:
            client.delete(*batch)
            batch = []
    if batch:
        client.delete(*batch)


def end_run(client: redis.Redis, keys: RunKeys, state: str) -> None:
    """Set the run's state to ``finished`` or ``failed``, if it still crawls (workers then stop)."""
    client.eval(END_SCRIPT, 1, keys.state, state)


def server_id(client: redis.Redis) -> str:
    """The id Redis gives itself at each start (a restart from a snapshot included)."""
    return client.info("server")["run_id"]


def current_run(client: redis.Redis) -> tuple[RunKeys, list[dict[str, Any]], dict] | None:
    """The run workers should join (keys, shops, settings), or None when no run is crawling."""
    keys = current_run_keys(client)
    if keys is None:
        return None
    try:
        if check_run(client, keys) != "crawling":
            return None
    except RunLost:
        end_run(client, keys, "failed")  # brought back by a restart: nobody may join it
        return None
    shops = json.loads(client.get(keys.shops) or b"[]")
    settings = json.loads(client.get(keys.settings) or b"{}")
    return keys, shops, settings


def current_run_keys(client: redis.Redis) -> RunKeys | None:
    """The keys of the run ``serumscope:run`` names; None when it names none this version can read
    (an ``ID`` without a token, left by an older serumscope: nobody's run to join or end)."""
    name = (client.get(CURRENT_RUN) or b"").decode()
    run_id, _, token = name.partition(":")
    return RunKeys.from_name(name) if run_id.isdigit() and token else None


def run_state(client: redis.Redis, keys: RunKeys) -> str | None:
    state = client.get(keys.state)
    return state.decode() if state else None


def check_run(client: redis.Redis, keys: RunKeys) -> str:
    """The run's state (``failed`` once another run was published); raises RunLost when Redis lost
    it or restarted since it began (from a snapshot: its keys are back, but not as they were)."""
    with client.pipeline(transaction=False) as pipe:
        pipe.get(keys.state)
        pipe.get(keys.server)
        pipe.get(CURRENT_RUN)
        state, server, current = pipe.execute()
    if state is None:
        raise RunLost("Redis no longer has the run (restarted without its data?)")
    if server is None or server.decode() != server_id(client):
        raise RunLost("Redis restarted during the run (its keys were restored from a snapshot)")
    if state == b"crawling" and current != keys.name.encode():
        return "failed"  # another run was published meanwhile
    return state.decode()


def recover_dead_workers(client: redis.Redis, keys: RunKeys, shops: list[str]) -> list[str]:
    """Put the requests of workers that stopped sending heartbeats back into the queue, with their
    priority; return their names."""
    dead = []
    for raw in client.smembers(keys.workers):
        worker = raw.decode()
        if client.exists(keys.alive(worker)):
            continue
        watched = [keys.alive(worker)]
        for shop in shops:
            watched += [keys.inflight(shop, worker), keys.start_taken(shop, worker)]

        def hand_back(pipe, worker: str = worker) -> bool:
            # Read under WATCH: should the worker (only paused, say) take or finish a request, or
            # beat again, before EXEC, the transaction starts over.
            if pipe.exists(keys.alive(worker)):
                return False
            held = {shop: pipe.hvals(keys.inflight(shop, worker)) for shop in shops}
            taken = {shop: pipe.lrange(keys.start_taken(shop, worker), 0, -1) for shop in shops}
            pipe.multi()
            for shop in shops:
                if held[shop]:
                    pipe.zadd(keys.requests(shop), {data: queue_score(data) for data in held[shop]})
                pipe.delete(keys.inflight(shop, worker))
                if taken[shop]:
                    pipe.rpush(keys.start(shop), *taken[shop])
                pipe.delete(keys.start_taken(shop, worker))
                pipe.hdel(keys.busy, f"{worker}|{shop}")
            pipe.srem(keys.workers, worker)
            return True

        if client.transaction(hand_back, *watched, value_from_callable=True):
            release_leases(client, keys, worker)
            dead.append(worker)
    return dead


def queue_score(data: bytes) -> int:
    """A request's score in its shop's queue, -priority (ReliableQueue.push_found), read back from
    the request as queued (scrapy-redis's default serializer: pickle)."""
    try:
        return -int(pickle.loads(data).get("priority", 0))
    except Exception:  # noqa: BLE001 - unreadable here: it still goes back, at the default score
        return 0


def stop_shop(
    client: redis.Redis, keys: RunKeys, shop: str, worker: str, limit: tuple[str, str] | None
) -> bool:
    """A worker's crawler of the shop closed before the shop was done: put what it held back in the
    queue; with ``limit`` (finish reason, message), one of the crawl limits stopped it, and so the
    shop, for every worker. True when this call marked the shop limited."""
    held = client.hvals(keys.inflight(shop, worker))
    with client.pipeline(transaction=True) as pipe:
        if limit:
            pipe.hsetnx(keys.limited, shop, json.dumps(limit))
        if held:
            pipe.zadd(keys.requests(shop), {data: queue_score(data) for data in held})
        pipe.delete(keys.inflight(shop, worker))
        pipe.hdel(keys.busy, f"{worker}|{shop}")
        answers = pipe.execute()
    return bool(limit and answers[0])


def release_leases(client: redis.Redis, keys: RunKeys, worker: str) -> None:
    """Free the shop leases (crawler/shop_limit.py) a dead worker held."""
    prefix = f"{worker}|".encode()
    for key in client.scan_iter(match=keys.leases("*", "*"), _type="zset"):
        held = [lease for lease in client.zrange(key, 0, -1) if lease.startswith(prefix)]
        if held:
            client.zrem(key, *held)


def frontier_snapshot(client: redis.Redis, keys: RunKeys, shops: list[str]) -> tuple | None:
    """None while the crawl goes on (requests queued or held, a worker busy); once it looks done,
    the counters to compare with a later look (the same twice, SETTLE_SECONDS apart: finished).
    A shop a crawl limit stopped (``stop_shop``) is done, whatever it has left."""
    limited = {name.decode() for name in client.hkeys(keys.limited)}
    shops = [shop for shop in shops if shop not in limited]
    for shop in shops:
        if client.llen(keys.start(shop)) or client.zcard(keys.requests(shop)):
            return None
    for field, value in client.hgetall(keys.busy).items():
        if value == b"1" and field.decode().rsplit("|", 1)[1] not in limited:
            return None
    for raw in client.smembers(keys.workers):
        worker = raw.decode()
        for shop in shops:
            if client.exists(keys.inflight(shop, worker), keys.start_taken(shop, worker)):
                return None
    counters = client.hgetall(keys.counters)
    return tuple(sorted(counters.items()))
