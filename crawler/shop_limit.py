"""Politeness per shop shared by every worker of a distributed crawl (crawler/frontier.py).

Scrapy keeps ``CONCURRENT_REQUESTS_PER_DOMAIN`` and the download delay (AutoThrottle's, or
``DOWNLOAD_DELAY``) per process; N workers on one shop would send N times as much. Each download of a
worker first takes a lease from ``…:SHOP:leases:HOST`` in Redis (frontier.RunKeys.leases): at most the per-domain concurrency
leases exist at once, and two leases are granted at least the slot's current delay apart (``…:next``),
both judged on Redis's clock in one script, so the shop sees what one local crawl would send.

The leases are taken by a downloader middleware placed after every other one (it runs last on the
way out and first on the way back), so a lease spans the download only, not robots.txt checks or
retry back-offs. A lease ends with the download's answer or failure; one a dead worker held ends
when the ingest notices the worker's silence (``crawler.frontier.release_leases``), or at the latest after
``LEASE_SECONDS`` past the download timeout.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque

import redis
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import reactor
from twisted.internet.defer import Deferred

logger = logging.getLogger("serumscope.shop_limit")

LEASE_META = "serumscope_shop_lease"
LEASE_SECONDS = 30  # beyond DOWNLOAD_TIMEOUT: a lease outlives any download it covers
FULL_POLL_SECONDS = 0.02  # every lease taken, by other workers: look again after this long

# KEYS: leases (sorted set: lease -> expiry, ms), next (earliest next grant, ms).
# ARGV: limit, lease, lease ms, delay ms, a lease to release first ("" for none).
# Returns 0 when granted, else the milliseconds to wait (-1: every lease is taken).
ACQUIRE_SCRIPT = """
if ARGV[5] ~= '' then redis.call('ZREM', KEYS[1], ARGV[5]) end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return -1 end
local next_grant = tonumber(redis.call('GET', KEYS[2]) or '0')
if now < next_grant then return next_grant - now end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
local delay = tonumber(ARGV[4])
if delay > 0 then redis.call('SET', KEYS[2], now + delay, 'PX', delay + 1000) end
return 0
"""


class ShopGate:
    """One shop host's queue of downloads waiting for a lease in this worker; only its head asks
    Redis, so a queue of any length costs one question at a time."""

    def __init__(self, limiter: SharedShopLimit, slot: str):
        self.limiter = limiter
        self.slot = slot
        self.key = limiter.frontier.keys.leases(limiter.frontier.shop, slot)
        self.keys = [self.key, f"{self.key}:next"]
        self.waiting: deque[tuple[Deferred, str]] = deque()
        self.retry = None  # the pending look again, when the head had to wait
        self.full = False

    def take(self, lease: str) -> Deferred:
        granted: Deferred = Deferred()
        self.waiting.append((granted, lease))
        if self.retry is None:
            self.grant()
        return granted

    def release(self, lease: str) -> None:
        if self.waiting and (self.retry is None or self.full):
            if self.retry is not None:
                self.retry.cancel()
                self.retry = None
            self.grant(released=lease)
        else:
            self.limiter.client.zrem(self.key, lease)

    def grant(self, released: str = "") -> None:
        self.retry = None
        while self.waiting:
            granted, lease = self.waiting[0]
            limit, delay = self.limiter.politeness(self.slot)
            try:
                wait_ms = self.limiter.script(
                    keys=self.keys,
                    args=[limit, lease, self.limiter.lease_ms, int(delay * 1000), released],
                )
            except redis.RedisError as error:
                self.waiting.popleft()
                granted.errback(error)
                continue
            released = ""
            if wait_ms == 0:
                self.waiting.popleft()
                granted.callback(lease)
                continue
            self.full = wait_ms < 0
            seconds = FULL_POLL_SECONDS if self.full else wait_ms / 1000
            self.retry = reactor.callLater(seconds, self.grant)
            return


class SharedShopLimit:
    """Downloader middleware of a worker: a download waits for its shop's shared lease."""

    def __init__(self, crawler):
        self.crawler = crawler
        settings = crawler.settings
        self.domain_concurrency = settings.getint("CONCURRENT_REQUESTS_PER_IP") or settings.getint(
            "CONCURRENT_REQUESTS_PER_DOMAIN"
        )
        self.slot_settings = settings.getdict("DOWNLOAD_SLOTS")
        self.start_delay = settings.getfloat("DOWNLOAD_DELAY")
        if settings.getbool("AUTOTHROTTLE_ENABLED"):
            self.start_delay = max(self.start_delay, settings.getfloat("AUTOTHROTTLE_START_DELAY"))
        self.lease_ms = 1000 * (settings.getint("DOWNLOAD_TIMEOUT") + LEASE_SECONDS)
        self.gates: dict[str, ShopGate] = {}
        self.numbers = itertools.count()
        self.script = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    @property
    def frontier(self):
        return self.crawler.spider.frontier

    @property
    def client(self) -> redis.Redis:
        return self.frontier.client

    def politeness(self, slot: str) -> tuple[int, float]:
        """(concurrency, delay) of the shop host, as this worker's downloader slot has them now
        (AutoThrottle moves the delay as answers come)."""
        own = self.slot_settings.get(slot, {})
        current = self.crawler.engine.downloader.slots.get(slot)
        delay = current.delay if current is not None else own.get("delay", self.start_delay)
        return own.get("concurrency", self.domain_concurrency), delay

    async def process_request(self, request, spider=None):
        if self.script is None:
            self.script = self.client.register_script(ACQUIRE_SCRIPT)
        slot = self.crawler.engine.downloader.get_slot_key(request)
        gate = self.gates.get(slot)
        if gate is None:
            gate = self.gates[slot] = ShopGate(self, slot)
        lease = f"{self.frontier.worker}|{next(self.numbers)}"
        await maybe_deferred_to_future(gate.take(lease))
        request.meta[LEASE_META] = (slot, lease)

    def give_back(self, request) -> None:
        held = request.meta.pop(LEASE_META, None)
        if held is None:
            return
        slot, lease = held
        try:
            self.gates[slot].release(lease)
        except redis.RedisError as error:  # the lease expires on its own; the heartbeat reports it
            logger.warning("could not release a shop lease: %s", error)

    def process_response(self, request, response, spider=None):
        self.give_back(request)
        return response

    def process_exception(self, request, exception, spider=None):
        self.give_back(request)
