"""A worker's side of the frontier (crawler/frontier.py): scrapy-redis's scheduler and queue made
reliable (a request taken stays in the worker's in-flight hash until handled) and cheaper (found
requests, listings, errors and requests done go to Redis in batches, one MULTI/EXEC each); a request
is done (``AckParsed``) once what its answer gave is on its way."""

from __future__ import annotations

import hashlib
from collections import deque
from typing import Any

import redis
from scrapy import Request, signals
from scrapy.http import Response
from scrapy.utils.asyncio import call_later
from scrapy.utils.request import request_from_dict
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from crawler.frontier import OUTBOX_SIZE, RunKeys, stream_entry

# Take the best requests (up to ARGV[2]), remember them as this worker's (in flight) and mark the
# worker busy, in one step: nothing can see the queue empty while a request is in no list and the
# worker looks idle.
POP_SCRIPT = """#!lua
local items = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
if #items == 0 then return items end
redis.call('ZREM', KEYS[1], unpack(items))
for _, item in ipairs(items) do redis.call('HSET', KEYS[2], redis.sha1hex(item), item) end
redis.call('HSET', KEYS[3], ARGV[1], '1')
redis.call('HINCRBY', KEYS[4], 'popped', #items)
return items
"""
# Requests a worker found, queued with their duplicate-filter marks in one step: a URL is never
# marked seen without being queued (a worker SIGKILLed between the two would lose it). ARGV holds
# (fingerprint, score, request) triples; an empty fingerprint is a request not to filter.
PUSH_SCRIPT = """#!lua
local queued = 0
for i = 1, #ARGV, 3 do
  if ARGV[i] == '' or redis.call('SADD', KEYS[1], ARGV[i]) == 1 then
    redis.call('ZADD', KEYS[2], ARGV[i + 1], ARGV[i + 2])
    queued = queued + 1
  end
end
return queued
"""
# Take the shop's start message (scrapy-redis's RedisMixin reads it), keeping it as this worker's
# until its start requests are queued, and mark the worker busy, in one step, as POP_SCRIPT does.
TAKE_START_SCRIPT = """#!lua
local data = redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
if not data then return {} end
redis.call('HSET', KEYS[3], ARGV[1], '1')
redis.call('SADD', KEYS[4], ARGV[2])
return {data}
"""
# Requests a worker takes at once: fewer round trips; they are in its in-flight hash like any other.
PREFETCH = 8
# Requests this worker found, kept as they were pushed: popped back, they need no unpickling nor
# request_from_dict (most of a pop's cost). The oldest go first past this many.
KEPT_FOUND = 10_000
FRONTIER_KEY_META = "serumscope_frontier_key"
TAKEN_META = "serumscope_taken"  # a request this worker took while idle, handed to its engine
# A request found without the duplicate filter (dont_filter) whose URL is still to be fetched once
# in the run, whichever worker finds it: a sitemap's product page (listed in two child sitemaps that
# two workers read). Only the request as found carries it: its retries and redirects do not.
ONCE_META = "serumscope_once"
OUTBOX_SECONDS = 0.2


def spider_method_name(spider, function) -> str | None:
    """The name under which ``function`` is a method of ``spider`` (None: it is not)."""
    name = getattr(function, "__name__", None)
    if (
        name
        and getattr(function, "__self__", None) is spider
        and getattr(spider, name, None) == function
    ):
        return name
    return None


def request_dict(request: Request, spider) -> dict[str, Any]:
    """``request.to_dict(spider=spider)``, without its search through every attribute of the spider
    for the callback's name (inspect.getmembers: 7% of a worker's CPU, twice per request) when
    callback and errback are the spider's own methods, as ours are."""
    names = {}
    for field in ("callback", "errback"):
        function = getattr(request, field)
        if callable(function):
            names[field] = spider_method_name(spider, function)
            if names[field] is None:
                return request.to_dict(spider=spider)  # Scrapy's search, or its error
        else:
            names[field] = function
    data = {"url": request.url, **names, "headers": dict(request.headers)}
    for attribute in request.attributes:
        data.setdefault(attribute, getattr(request, attribute))
    if type(request) is not Request:
        data["_class"] = f"{type(request).__module__}.{type(request).__name__}"
    return data


class ReliableQueue(PriorityQueue):
    """scrapy-redis's priority queue, whose ``pop`` also keeps the request as this worker's until
    it has been handled (``ack``), and counts what was taken (the crawl's end is when
    nothing moved between two looks)."""

    def __init__(self, server, spider, key, serializer=None):
        super().__init__(server, spider, key, serializer)
        self.frontier: WorkerFrontier = spider.frontier
        self.pop_script = server.register_script(POP_SCRIPT)
        self.prefetched: deque[bytes] = deque()
        self.held: deque[Request] = deque()
        self.found_here: dict[bytes, Request] = {}  # serialised request -> the request pushed
        self.frontier.queue = self

    def __len__(self):
        unsent = len(self.prefetched) + len(self.held) + self.frontier.unsent_requests()
        return super().__len__() + unsent

    def hold(self, request: Request) -> None:
        """A request this worker already took (``TAKEN_META``): the next to crawl."""
        self.held.append(request)

    def push_found(self, request, fingerprint: str, once: bool = False) -> None:
        """Queue a found request with the worker's next outbox batch (``fingerprint`` empty: the
        duplicate filter lets it through; ``once``: the fingerprint is the URL, marked in the run's
        product pages instead)."""
        data = self.serializer.dumps(request_dict(request, self.spider))
        self.frontier.push(fingerprint, -request.priority, data, once)
        self.found_here[data] = request
        if len(self.found_here) > KEPT_FOUND:
            del self.found_here[next(iter(self.found_here))]

    def take(self) -> None:
        """Take the next PREFETCH requests of the shop's queue in Redis."""
        frontier = self.frontier
        self.prefetched.extend(
            self.pop_script(
                keys=[self.key, frontier.inflight, frontier.keys.busy, frontier.keys.counters],
                args=[frontier.busy_field, PREFETCH],
            )
        )

    def pop(self, timeout=0):
        if self.held:
            return self.held.popleft()
        if not self.prefetched:
            try:
                self.take()
                if not self.prefetched and self.frontier.unsent_requests():
                    # Its own found requests, still in the outbox: sent now, so it sees them. (Not
                    # before every take: while a page yields requests, that would be a batch a take.)
                    self.frontier.flush()
                    self.take()
            except redis.RedisError:  # Redis lost: the heartbeat stops the worker, with the error
                return None
            if not self.prefetched:
                return None
        data = self.prefetched.popleft()
        request = self.found_here.pop(data, None) or request_from_dict(
            self.serializer.loads(data), spider=self.spider
        )
        request.meta[FRONTIER_KEY_META] = hashlib.sha1(data).hexdigest()  # the script's sha1hex
        return request


class FrontierScheduler(Scheduler):
    """scrapy-redis's scheduler, whose duplicate filter and queue are written together: the requests
    found go with the worker's outbox (``WorkerFrontier.push``), a batch's filter marks and queue
    entries in one script call, instead of an SADD and a ZADD round trip per request. It cannot tell
    the engine at once whether a request was a duplicate, so it reports every one as scheduled."""

    def enqueue_request(self, request):
        if request.meta.pop(TAKEN_META, False):
            self.queue.hold(request)
            return True
        once = request.meta.pop(ONCE_META, False)
        if once:
            fingerprint = request.url
        else:
            fingerprint = "" if request.dont_filter else self.df.request_fingerprint(request)
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis", spider=self.spider)
        self.queue.push_found(request, fingerprint, once)
        return True


class Outbox:
    """What a worker process sends, for every shop it crawls: requests found, listings and errors for
    the ingest, requests done. It waits for up to OUTBOX_SECONDS or OUTBOX_SIZE of them and goes in
    one MULTI/EXEC: the found requests (PUSH_SCRIPT, per shop), one stream entry holding every
    listing and error, and the done requests leaving the in-flight hashes. All of it or none is
    applied, so a request is never done without what its answer gave, and a batch Redis refuses (out
    of memory, say) applies nothing."""

    def __init__(self, client: redis.Redis, keys: RunKeys):
        self.client = client
        self.keys = keys
        self.found: dict[tuple[str, str], list] = {}  # (filter, queue): PUSH_SCRIPT's arguments
        self.entries: list[list] = []  # [kind, shop, data] for the stream
        self.done: dict[str, list[str]] = {}  # in-flight hash: keys of the requests handled
        self.forgotten: list[str] = []  # keys done with: a start message whose requests are queued
        self.size = 0
        self.flush_call = None
        self.lost: redis.RedisError | None = None

    def push(self, keys: tuple[str, str], fingerprint: str, score: int, data: bytes) -> None:
        self.found.setdefault(keys, []).extend((fingerprint, score, data))
        self.later()

    def unsent_requests(self, keys: tuple[str, str]) -> int:
        return len(self.found.get(keys, ())) // 3

    def send(self, kind: str, shop: str, data: dict[str, Any]) -> None:
        self.entries.append([kind, shop, data])
        self.later()

    def ack(self, inflight: str, key: str) -> None:
        self.done.setdefault(inflight, []).append(key)
        self.later()

    def forget(self, key: str) -> None:
        """Delete ``key`` with the batch, after the found requests it holds back for."""
        self.forgotten.append(key)
        self.later()

    def later(self) -> None:
        self.size += 1
        if self.size >= OUTBOX_SIZE:
            self.flush()
        elif self.flush_call is None:
            self.flush_call = call_later(OUTBOX_SECONDS, self.flush)

    def flush(self) -> None:
        if self.flush_call is not None:
            self.flush_call.cancel()
            self.flush_call = None
        if not self.size:
            return
        try:
            with self.client.pipeline(transaction=True) as outbox:
                for keys, found in self.found.items():
                    # EVAL, not a registered script: redis-py would first ask whether Redis has it
                    # (SCRIPT EXISTS), a round trip per batch.
                    outbox.eval(PUSH_SCRIPT, len(keys), *keys, *found)
                if self.entries:
                    outbox.xadd(self.keys.out, stream_entry(self.entries))
                for inflight, done in self.done.items():
                    outbox.hdel(inflight, *done)
                if self.forgotten:
                    outbox.delete(*self.forgotten)
                outbox.execute()
        except redis.RedisError as error:
            # Nothing of the batch was applied: its requests stay in flight, to be handed out
            # again once this worker is gone (the heartbeat stops it with this error).
            self.lost = error
        self.found, self.entries, self.done, self.forgotten, self.size = {}, [], {}, [], 0


class WorkerFrontier:
    """One worker's view of one shop's frontier: its in-flight hash and busy flag; what it sends
    goes through the worker's Outbox."""

    def __init__(self, client: redis.Redis, keys: RunKeys, shop: str, worker: str, outbox: Outbox):
        self.client = client
        self.keys = keys
        self.shop = shop
        self.worker = worker
        self.inflight = keys.inflight(shop, worker)
        self.busy_field = f"{worker}|{shop}"
        self.outbox = outbox
        self.found_keys = (keys.dupefilter(shop), keys.requests(shop))
        self.once_keys = (keys.product_pages(shop), keys.requests(shop))
        self.queue: ReliableQueue | None = None  # once the crawler's scheduler is open
        self.take_start_script = client.register_script(TAKE_START_SCRIPT)

    @property
    def lost(self) -> redis.RedisError | None:
        return self.outbox.lost

    def push(self, fingerprint: str, score: int, data: bytes, once: bool = False) -> None:
        self.outbox.push(self.once_keys if once else self.found_keys, fingerprint, score, data)

    def unsent_requests(self) -> int:
        return self.outbox.unsent_requests(self.found_keys) + self.outbox.unsent_requests(
            self.once_keys
        )

    def send(self, kind: str, shop: str, data: dict[str, Any]) -> None:
        """A listing or crawl error for the ingest (``kind`` "listing" or "error")."""
        self.outbox.send(kind, shop, data)

    def ack(self, request) -> None:
        """The request's answer was parsed and what it gave is sent: no need to redo it."""
        key = request.meta.get(FRONTIER_KEY_META)
        if key:
            self.outbox.ack(self.inflight, key)

    def flush(self) -> None:
        self.outbox.flush()

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
        return self.take_start_script(keys=taken, args=[self.busy_field, self.worker])

    def start_queued(self) -> None:
        """The start requests are scheduled: the start message goes with the outbox batch that
        queues them (a worker killed before that batch gives it back)."""
        self.outbox.forget(self.keys.start_taken(self.shop, self.worker))

    def idle(self) -> None:
        """Nothing in flight: every request taken was handled (failed ones too)."""
        self.flush()
        if self.lost:
            return  # some were handled but not sent: leave them in flight
        with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(self.inflight)
            pipe.hset(self.keys.busy, self.busy_field, "0")
            pipe.execute()


class AckParsed:
    """Spider middleware: once a response's callback output has been handled (requests queued,
    listings through every item pipeline, so sent, and errors sent), the request is done and leaves
    the worker's in-flight list. Scrapy reads the output ahead of the pipelines, so a response
    counts its items still in the pipelines (Scrapy's item signals) and is acked at the last one."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.unhandled: dict[Response, int] = {}  # the output's end and the items still going
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(self.item_handled, signal=signal)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_spider_output(self, response, result, spider=None):
        self.unhandled[response] = 1
        for output in result:
            self.count(response, output)
            yield output
        self.handled(response)

    async def process_spider_output_async(self, response, result, spider=None):
        self.unhandled[response] = 1
        async for output in result:
            self.count(response, output)
            yield output
        self.handled(response)

    def count(self, response, output) -> None:
        if output is not None and not isinstance(output, Request):  # what Scrapy sends to pipelines
            self.unhandled[response] += 1

    def item_handled(self, item, response, **_kwargs) -> None:
        if response in self.unhandled:
            self.handled(response)

    def handled(self, response) -> None:
        self.unhandled[response] -= 1
        if not self.unhandled[response]:
            del self.unhandled[response]
            self.crawler.spider.frontier.ack(response.request)
