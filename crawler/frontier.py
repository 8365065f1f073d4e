"""The Redis side of a distributed crawl: key names, the request queue, and the run's state.

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
  scrapy-redis's scheduler queue and ``…:SHOP:dupefilter`` its duplicate filter, shared by every worker;
- a request a worker takes is kept in ``…:SHOP:inflight:WORKER`` until its answer has been parsed
  (or until the worker is idle); when a worker stops sending heartbeats, whatever it held goes back
  to the queue (``recover_dead_workers``), so a SIGKILLed worker loses nothing;
- workers append listings, crawl errors and final stats to the stream ``…:out``; one ingest process
  writes it into SQLite (crawler/ingest.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
from collections import deque
from typing import Any

import redis
from scrapy.utils.asyncio import call_later
from scrapy.utils.request import request_from_dict
from scrapy_redis.queue import PriorityQueue

PREFIX = "serumscope"
HEARTBEAT_SECONDS = 1.0
HEARTBEAT_TTL = 10  # seconds without a heartbeat before a worker counts as dead

# Take the best requests (up to ARGV[2]), remember them as this worker's (in flight) and mark the
# worker busy, in one step: nothing can see the queue empty while a request is in no list and the
# worker looks idle.
POP_SCRIPT = """
local items = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
if #items == 0 then return items end
redis.call('ZREM', KEYS[1], unpack(items))
for _, item in ipairs(items) do redis.call('HSET', KEYS[2], redis.sha1hex(item), item) end
redis.call('HSET', KEYS[3], ARGV[1], '1')
redis.call('HINCRBY', KEYS[4], 'popped', #items)
return items
"""
# Take the shop's start message (scrapy-redis's RedisMixin reads it), keeping it as this worker's
# until its start requests are queued, and mark the worker busy, in one step, as POP_SCRIPT does.
TAKE_START_SCRIPT = """
local data = redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
if not data then return {} end
redis.call('HSET', KEYS[3], ARGV[1], '1')
redis.call('SADD', KEYS[4], ARGV[2])
return {data}
"""
# Requests a worker takes at once: fewer round trips; they are in its in-flight hash like any other.
PREFETCH = 8
FRONTIER_KEY_META = "serumscope_frontier_key"
OUTBOX_SECONDS = 0.05
OUTBOX_SIZE = 200
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
    def from_name(cls, name: str) -> RunKeys:
        run_id, token = name.split(":", 1)
        return cls(run_id, token)

    def start(self, shop: str) -> str:
        return f"{self.base}:{shop}:start"

    def requests(self, shop: str) -> str:
        return f"{self.base}:{shop}:requests"

    def dupefilter(self, shop: str) -> str:
        return f"{self.base}:{shop}:dupefilter"

    def start_taken(self, shop: str, worker: str) -> str:
        return f"{self.base}:{shop}:start:{worker}"

    def inflight(self, shop: str, worker: str) -> str:
        return f"{self.base}:{shop}:inflight:{worker}"

    def leases(self, shop: str, slot: str) -> str:
        """The shop host's download leases shared by the workers (crawler/shop_limit.py)."""
        return f"{self.base}:{shop}:leases:{slot}"

    def currency(self, shop: str) -> str:
        """A Shopify shop's currency, read once for every worker (crawler/worker.py)."""
        return f"{self.base}:{shop}:currency"

    def currency_reader(self, shop: str) -> str:
        return f"{self.base}:{shop}:currency:reader"

    def alive(self, worker: str) -> str:
        return f"{self.base}:alive:{worker}"

    def stats(self, shop: str, source: str) -> str:
        """A worker's latest crawl statistics for the shop (or the ingest's, ``source="ingest"``)."""
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
    client: redis.Redis, run_id: int, shops: list[dict[str, Any]], settings: dict
) -> RunKeys:
    """Make ``run_id`` the current run (ending the previous one) and seed each shop's start
    message into the frontier."""
    keys = RunKeys(run_id, secrets.token_hex(8))
    previous = client.get(CURRENT_RUN)
    with client.pipeline(transaction=True) as pipe:
        if previous is not None:
            end_run(pipe, RunKeys.from_name(previous.decode()), "failed")
        pipe.set(keys.shops, json.dumps(shops))
        pipe.set(keys.settings, json.dumps(settings))
        pipe.set(keys.server, server_id(client))
        pipe.set(keys.state, "crawling")
        for shop in shops:
            pipe.rpush(keys.start(shop["name"]), json.dumps({"shop": shop["name"]}))
        pipe.set(CURRENT_RUN, keys.name)
        pipe.execute()
    return keys


def end_run(client: redis.Redis, keys: RunKeys, state: str) -> None:
    """Set the run's state to ``finished`` or ``failed``, if it still crawls (workers then stop)."""
    client.eval(END_SCRIPT, 1, keys.state, state)


def server_id(client: redis.Redis) -> str:
    """The id Redis gives itself at each start (a restart from a snapshot included)."""
    return client.info("server")["run_id"]


def current_run(client: redis.Redis) -> tuple[RunKeys, list[dict[str, Any]], dict] | None:
    """The run workers should join (keys, shops, settings), or None when no run is crawling."""
    name = client.get(CURRENT_RUN)
    if name is None:
        return None
    keys = RunKeys.from_name(name.decode())
    try:
        if check_run(client, keys) != "crawling":
            return None
    except RunLost:
        end_run(client, keys, "failed")  # brought back by a restart: nobody may join it
        return None
    shops = json.loads(client.get(keys.shops) or b"[]")
    settings = json.loads(client.get(keys.settings) or b"{}")
    return keys, shops, settings


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
    """Put the requests of workers that stopped sending heartbeats back into the queue; return
    their names."""
    dead = []
    for raw in client.smembers(keys.workers):
        worker = raw.decode()
        if client.exists(keys.alive(worker)):
            continue
        with client.pipeline(transaction=True) as pipe:
            for shop in shops:
                held = client.hvals(keys.inflight(shop, worker))
                for data in held:
                    pipe.zadd(keys.requests(shop), {data: 0})
                pipe.delete(keys.inflight(shop, worker))
                for data in client.lrange(keys.start_taken(shop, worker), 0, -1):
                    pipe.rpush(keys.start(shop), data)
                pipe.delete(keys.start_taken(shop, worker))
                pipe.hdel(keys.busy, f"{worker}|{shop}")
            pipe.srem(keys.workers, worker)
            pipe.execute()
        release_leases(client, keys, worker)
        dead.append(worker)
    return dead


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
        for data in held:
            pipe.zadd(keys.requests(shop), {data: 0})
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


class ReliableQueue(PriorityQueue):
    """scrapy-redis's priority queue, whose ``pop`` also keeps the request as this worker's until
    it has been handled (``ack``), and counts what was taken (the crawl's end is when
    nothing moved between two looks)."""

    def __init__(self, server, spider, key, serializer=None):
        super().__init__(server, spider, key, serializer)
        self.frontier: WorkerFrontier = spider.frontier
        self.pop_script = server.register_script(POP_SCRIPT)
        self.prefetched: deque[bytes] = deque()

    def __len__(self):
        return super().__len__() + len(self.prefetched)

    def pop(self, timeout=0):
        if not self.prefetched:
            frontier = self.frontier
            self.prefetched.extend(
                self.pop_script(
                    keys=[self.key, frontier.inflight, frontier.keys.busy, frontier.keys.counters],
                    args=[frontier.busy_field, PREFETCH],
                )
            )
            if not self.prefetched:
                return None
        data = self.prefetched.popleft()
        request = request_from_dict(self.serializer.loads(data), spider=self.spider)
        request.meta[FRONTIER_KEY_META] = hashlib.sha1(data).hexdigest()  # the script's sha1hex
        return request


class WorkerFrontier:
    """One worker's view of one shop's frontier: its in-flight hash, busy flag and outbox.

    What the worker sends (listings and errors to the stream, requests done) waits in the outbox
    for up to OUTBOX_SECONDS or OUTBOX_SIZE entries and goes in one round trip, in the order it came:
    a request leaves the in-flight hash only after what its answer gave is in the stream."""

    def __init__(self, client: redis.Redis, keys: RunKeys, shop: str, worker: str):
        self.client = client
        self.keys = keys
        self.shop = shop
        self.worker = worker
        self.inflight = keys.inflight(shop, worker)
        self.busy_field = f"{worker}|{shop}"
        # MULTI/EXEC: a batch Redis refuses (out of memory, say) must not apply its acks without the
        # listings before them.
        self.outbox = client.pipeline(transaction=True)
        self.flush_call = None
        self.lost: redis.RedisError | None = None

    def send(self, entry: dict[str, str]) -> None:
        self.outbox.xadd(self.keys.out, entry)
        self.later()

    def ack(self, request) -> None:
        """The request's answer was parsed and what it gave is sent: no need to redo it."""
        key = request.meta.get(FRONTIER_KEY_META)
        if key:
            self.outbox.hdel(self.inflight, key)
            self.later()

    def later(self) -> None:
        if len(self.outbox) >= OUTBOX_SIZE:
            self.flush()
        elif self.flush_call is None:
            self.flush_call = call_later(OUTBOX_SECONDS, self.flush)

    def flush(self) -> None:
        if self.flush_call is not None:
            self.flush_call.cancel()
            self.flush_call = None
        if len(self.outbox):
            try:
                self.outbox.execute()
            except redis.RedisError as error:
                # Nothing of the batch was applied: its requests stay in flight, to be handed out
                # again once this worker is gone (the heartbeat stops it with this error).
                self.lost = error

    def take_start(self) -> list[bytes]:
        """The shop's start message, if still there (``RedisMixin.fetch_data``); it stays this
        worker's (given back if the worker dies) until ``start_queued``."""
        keys = self.keys
        taken = [
            keys.start(self.shop),
            keys.start_taken(self.shop, self.worker),
            keys.busy,
            keys.workers,
        ]
        return self.client.eval(TAKE_START_SCRIPT, len(taken), *taken, self.busy_field, self.worker)

    def start_queued(self) -> None:
        self.client.delete(self.keys.start_taken(self.shop, self.worker))

    def idle(self) -> None:
        """Nothing in flight: every request taken was handled (failed ones too)."""
        self.flush()
        if self.lost:
            return  # some were handled but not sent: leave them in flight
        with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(self.inflight)
            pipe.hset(self.keys.busy, self.busy_field, "0")
            pipe.execute()
