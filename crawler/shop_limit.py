"""Politeness per shop shared by every worker of a distributed crawl (crawler/frontier.py).

Scrapy keeps ``CONCURRENT_REQUESTS_PER_DOMAIN`` and the download delay (AutoThrottle's, or
``DOWNLOAD_DELAY``) per process; N workers on one shop would send N times as much. Each download of a
worker first takes a lease from ``…:SHOP:leases:HOST`` in Redis (frontier.RunKeys.leases): at most the per-domain concurrency
leases exist at once, and two leases are granted at least the slot's current delay apart (``…:next``),
both judged on Redis's clock in one script, so the shop sees what one local crawl would send.

The leases are taken by a downloader middleware placed after every other one (it runs last on the
way out and first on the way back), so a lease spans the download only, not robots.txt checks or
retry back-offs. A lease ends with the download's answer or failure; one a dead worker held ends
when the ingest notices the worker's silence (``crawler.frontier.release_leases``), or at the latest
``LEASE_SECONDS`` after the download timeout.

A worker told to stop (``crawler.worker_reports.close_spider``) drops the downloads still waiting for a
lease: Scrapy closes a spider only once no request is in progress, and after a Redis restored from a
snapshot, leases given back since the snapshot stay held until they expire.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque

import redis
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred

from crawler.middlewares import DownloadDropped

logger = logging.getLogger("serumscope.shop_limit")

LEASE_META = "serumscope_shop_lease"
LEASE_SECONDS = 30  # beyond DOWNLOAD_TIMEOUT: a lease outlives any download it covers
FULL_POLL_SECONDS = 0.02  # every lease taken, by other workers: look again after this long
RELEASE_SECONDS = FULL_POLL_SECONDS  # a lease given back waits at most this long for other news

# KEYS: leases (sorted set: lease -> expiry, ms), next (earliest next grant, ms).
# ARGV: limit, lease ms, delay ms, how many leases to release, those leases, the leases wanted.
# Returns {leases granted (the first ones wanted), ms to wait for the next (-1: all are taken)}.
GRANT_SCRIPT = """
local limit, lease_ms, delay = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local released = tonumber(ARGV[4])
for i = 5, 4 + released do redis.call('ZREM', KEYS[1], ARGV[i]) end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZCARD', KEYS[1])
local granted = 0
for i = 5 + released, #ARGV do
  if held >= limit then return {granted, -1} end
  local next_grant = tonumber(redis.call('GET', KEYS[2]) or '0')
  if now < next_grant then return {granted, next_grant - now} end
  redis.call('ZADD', KEYS[1], now + lease_ms, ARGV[i])
  held = held + 1
  granted = granted + 1
  if delay > 0 then redis.call('SET', KEYS[2], now + delay, 'PX', delay + 1000) end
end
return {granted, 0}
"""


class ShopGate:
    """One shop host's downloads waiting for a lease in this worker. What happens within one turn
    of the reactor (leases given back, downloads arriving) goes to Redis in one call, and a gate
    that must wait asks again only when its wait is over (or a lease of its own frees up)."""

    def __init__(self, limiter: SharedShopLimit, slot: str):
        self.limiter = limiter
        self.slot = slot
        self.key = limiter.frontier.keys.leases(limiter.frontier.shop, slot)
        self.keys = [self.key, f"{self.key}:next"]
        self.waiting: deque[tuple[Deferred, str]] = deque()
        self.released: list[str] = []
        self.call = None  # the next settle, scheduled
        self.waits_for_room = False  # the scheduled settle waits for a lease, not for the delay
        self.only_gives_back = False  # the scheduled settle is RELEASE_SECONDS away

    def take(self, lease: str) -> Deferred:
        granted: Deferred = Deferred()
        if self.limiter.stopped:
            granted.errback(DownloadDropped("the worker is stopping"))
            return granted
        self.waiting.append((granted, lease))
        if self.call is None or self.only_gives_back:
            self.settle_now()
        return granted

    def release(self, lease: str) -> None:
        self.released.append(lease)
        if self.call is None:
            # Nothing waits here: the lease goes back with this worker's next call, or within
            # RELEASE_SECONDS for the other workers; not a round trip on every download's way.
            self.only_gives_back = True
            self.call = call_later(RELEASE_SECONDS, self.settle)
        elif self.waits_for_room:
            self.settle_now()

    def settle_now(self) -> None:
        if self.call is not None:
            self.call.cancel()
        self.waits_for_room = self.only_gives_back = False
        self.call = call_later(0, self.settle)

    def drop_waiting(self) -> None:
        while self.waiting:
            self.waiting.popleft()[0].errback(DownloadDropped("the worker is stopping"))

    def settle(self) -> None:
        self.call = None
        self.only_gives_back = False
        released, self.released = self.released, []
        limit, delay = self.limiter.politeness(self.slot)
        wanted = [lease for _, lease in itertools.islice(self.waiting, limit)]
        try:
            granted, wait_ms = self.limiter.script(
                keys=self.keys,
                args=[limit, self.limiter.lease_ms, int(delay * 1000), len(released)]
                + released
                + wanted,
            )
        except redis.RedisError as error:  # the downloads fail; the heartbeat stops the worker
            while self.waiting:
                self.waiting.popleft()[0].errback(error)
            return
        for _ in range(granted):
            done, lease = self.waiting.popleft()
            done.callback(lease)
        if self.waiting:
            self.waits_for_room = wait_ms < 0
            seconds = FULL_POLL_SECONDS if self.waits_for_room else wait_ms / 1000
            self.call = call_later(seconds, self.settle)


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
        self.stopped = False
        crawler.serumscope_shop_limit = self  # crawler.worker_reports.close_spider stops it

    def stop(self) -> None:
        """Drop every download waiting for a lease, now and from now on."""
        self.stopped = True
        for gate in self.gates.values():
            gate.drop_waiting()

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
            self.script = self.client.register_script(GRANT_SCRIPT)
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
        self.gates[slot].release(lease)

    def process_response(self, request, response, spider=None):
        self.give_back(request)
        return response

    def process_exception(self, request, exception, spider=None):
        self.give_back(request)
