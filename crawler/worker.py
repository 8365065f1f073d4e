"""``serumscope worker``: one crawler process of a distributed crawl (crawler/frontier.py).

It joins the current run in Redis, runs one crawler per shop of the run with scrapy-redis's scheduler
and duplicate filter (so each URL is fetched once across every worker), and sends listings and crawl
errors to the run's stream instead of the database. It needs no database and no sites file: the run
carries the shops' configurations. It exits when the run is finished (or failed, or Redis is lost).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import redis
from scrapy.crawler import CrawlerProcess
from scrapy.spiderloader import SpiderLoader
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy_redis.spiders import RedisMixin
from twisted.internet.defer import Deferred

from crawler import settings as project_settings
from crawler.collector import collect_for_crawling
from crawler.extensions import limit_reason
from crawler.frontier import (
    HEARTBEAT_SECONDS,
    RunKeys,
    RunLost,
    check_run,
    connect,
    current_run,
    run_state,
    worker_name,
)
from crawler.run import crawler_settings
from crawler.unchanged import UnchangedProducts
from crawler.worker_queue import ONCE_META, TAKEN_META, Outbox, WorkerFrontier
from crawler.worker_reports import SHOP_LIMITED, WORKER_FAILURES, close_spider, send_stats

logger = logging.getLogger("serumscope.worker")
CURRENCY_WAIT_SECONDS = 30.0
IDLE_POLL_SECONDS = 0.2


async def pause(seconds: float) -> None:
    waited: Deferred = Deferred()
    call_later(seconds, waited.callback, None)
    await maybe_deferred_to_future(waited)


class DistributedShop(RedisMixin):
    """Mixed into a shop spider: start requests come from the run's start message (scrapy-redis's
    ``make_request_from_data``), and the spider stays open while the run crawls."""

    frontier: WorkerFrontier
    idle_poll = None  # the next look at the queue while idle, scheduled

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.setup_redis(crawler)
        # Taken, not popped: a worker killed before it queued the start requests loses nothing.
        spider.fetch_data = lambda _key, _count: spider.frontier.take_start()
        return spider

    async def start(self):
        # Every worker's spider skips what the shop says is unchanged, whoever reads the feed page.
        self.unchanged = UnchangedProducts(self.crawler, self.shop_name)
        for request in self.next_requests():
            yield request
        # Once start() is over, Scrapy's engine looks at an empty queue again only at its next
        # heartbeat (5 s): requests another worker is about to find would wait that long.
        self.watch_queue()

    def next_requests(self):
        yield from super().next_requests()
        self.frontier.start_queued()  # every start request is in the scheduler's queue

    def make_request_from_data(self, data):
        return list(self.start_shop())

    def product_request(self, request, lastmod=None):
        """A sitemap shop's product page (crawler/platforms/sitemap.py): fetched without the
        duplicate filter, yet once in the run, whichever worker reads the sitemaps listing it."""
        request = super().product_request(request, lastmod)
        request.meta[ONCE_META] = True
        return request

    async def learn_currency(self, handle: str) -> None:
        """Shopify: one worker reads the shop currency (``ShopifySpider.learn_currency``); the others
        take it from Redis, waiting for the reader's answer (up to CURRENCY_WAIT_SECONDS); when the
        reader fails, the next to ask reads it."""
        frontier = self.frontier
        shared, reader = (
            frontier.keys.currency(frontier.shop),
            frontier.keys.currency_reader(frontier.shop),
        )
        deadline = time.monotonic() + CURRENCY_WAIT_SECONDS
        while not frontier.client.set(reader, frontier.worker, nx=True, ex=60):
            if known := frontier.client.get(shared):
                self.currency = known.decode()
                return
            if time.monotonic() > deadline:
                break
            await pause(0.05)
        if known := frontier.client.get(shared):
            self.currency = known.decode()
            return
        await super().learn_currency(handle)
        if self.currency:
            frontier.client.set(shared, self.currency)
        else:
            frontier.client.delete(reader)

    def spider_idle(self):
        send_stats(self.crawler)
        self.frontier.idle()
        if run_state(self.frontier.client, self.frontier.keys) != "crawling":
            return  # finished or failed: let the spider close
        self.watch_queue()
        super().spider_idle()

    def watch_queue(self) -> None:
        """While idle, look at the shop's queue every IDLE_POLL_SECONDS: Scrapy's engine looks only
        every 5 s, so requests that other workers find would wait that long."""
        if self.idle_poll is None:
            self.idle_poll = call_later(IDLE_POLL_SECONDS, self.take_waiting)

    def take_waiting(self) -> None:
        self.idle_poll = None
        engine = self.crawler.engine
        # Not engine.spider_is_idle(): it is False as soon as the shop's queue in Redis is not
        # empty, which is just when this worker should take a request.
        if not self.crawler.crawling or engine.spider is None:
            return  # closed
        try:
            request = self.frontier.queue.pop()
        except redis.RedisError:  # Redis lost: the heartbeat stops the worker
            return
        if request is None:
            try:
                finished = run_state(self.frontier.client, self.frontier.keys) == "finished"
            except redis.RedisError:
                return
            if finished:  # leave now rather than at the next heartbeat
                close_spider(self.crawler, "finished")
            else:
                self.watch_queue()
            return
        request.meta[TAKEN_META] = True
        engine.crawl(request)  # the engine calls spider_idle again once idle


def worker_settings(redis_url: str, keys: RunKeys, run_settings: dict, overrides: dict):
    """The project's settings with the frontier in Redis and the stream in place of the database."""
    extensions = {
        **project_settings.EXTENSIONS,
        "crawler.extensions.CrawlRunRecorder": None,
        "crawler.worker_reports.StreamRecorder": 100,
        "crawler.worker_reports.WorkerPresence": 120,
    }
    pipelines = {
        **project_settings.ITEM_PIPELINES,
        "crawler.pipelines.store.StorePipeline": None,
        "crawler.worker_reports.StreamPipeline": 900,
    }
    downloader = {
        **project_settings.DOWNLOADER_MIDDLEWARES,
        # After every other one: a shop's shared lease spans the download only.
        "crawler.shop_limit.SharedShopLimit": 1000,
    }
    values = {
        "SCHEDULER": "crawler.worker_queue.FrontierScheduler",
        "SCHEDULER_QUEUE_CLASS": "crawler.worker_queue.ReliableQueue",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,  # a worker closing leaves the shared queue to the others
        "REDIS_URL": redis_url,
        "EXTENSIONS": extensions,
        "ITEM_PIPELINES": pipelines,
        "DOWNLOADER_MIDDLEWARES": downloader,
        "SPIDER_MIDDLEWARES": {"crawler.worker_queue.AckParsed": 1},
        # The shop's delay is kept between every worker's requests (crawler/shop_limit.py); a random
        # local one on top would only make a worker wait past its turn.
        "DOWNLOAD_DELAY_JITTER": 0.0,
        # What the crawl process published from the store; marks go to the stream.
        "SERUMSCOPE_RECRAWL": "crawler.distributed_recrawl.StreamRecrawl",
        **run_settings,
        **overrides,
    }
    return crawler_settings("", keys.run_id, values)


def work(
    redis_url: str, overrides: dict[str, Any] | None = None, wait_seconds: float = 0.0
) -> dict[str, Any]:
    """Join the current run (waiting up to ``wait_seconds`` for one), crawl until it is finished;
    return ``{"run_id", "shops": {name: stats}, "error"}``."""
    client = connect(redis_url)
    # The spiders' modules imported while the run is being opened, not after.
    SpiderLoader.from_settings(crawler_settings("", None, overrides))
    deadline = time.monotonic() + wait_seconds
    while (run := current_run(client)) is None:
        if time.monotonic() >= deadline:
            return {"run_id": None, "shops": {}, "error": "no crawl run to join"}
        time.sleep(0.1)
    keys, shops, run_settings = run
    settings = worker_settings(redis_url, keys, run_settings, dict(overrides or {}))
    process = CrawlerProcess(settings)
    loader = SpiderLoader.from_settings(settings)
    worker = worker_name()
    outbox = Outbox(client, keys)
    crawlers = {}
    for shop in shops:
        name = shop["name"]
        spider_class = loader.load(shop["platform"])
        custom = {
            **(spider_class.custom_settings or {}),
            "SCHEDULER_QUEUE_KEY": keys.requests(name),
            "SCHEDULER_DUPEFILTER_KEY": keys.dupefilter(name),
        }
        distributed = type(
            f"Distributed{spider_class.__name__}",
            (DistributedShop, spider_class),
            {
                "custom_settings": custom,
                "redis_key": keys.start(name),
                "frontier": WorkerFrontier(client, keys, name, worker, outbox),
            },
        )
        crawler = process.create_crawler(distributed)
        crawlers[name] = crawler
        process.crawl(crawler, shop_config=shop)
    collect_for_crawling()  # as a local crawl does
    process.start()
    reasons = {crawler.stats.get_value("finish_reason") for crawler in crawlers.values()}
    limited = [reason == SHOP_LIMITED or limit_reason(reason, settings) for reason in reasons]
    if limited and all(limited):
        wait_for_the_end(client, keys)  # a limit stopped each shop: the run ends without us
    summary = {
        name: dict(crawler.stats.get_stats()) if crawler.stats else {}
        for name, crawler in crawlers.items()
    }
    error = "; ".join(sorted(set(WORKER_FAILURES))) or None
    if error is None:
        # The crawlers also stop when Redis fails under them between two heartbeats.
        try:
            state = run_state(client, keys)
        except redis.RedisError as lost:
            state = f"lost Redis: {lost}"
        if state != "finished":
            error = f"the run did not finish ({state or 'lost Redis: the run is gone'})"
    if error:
        print(f"worker {worker}: {error}", file=sys.stderr)
    return {"run_id": keys.run_id, "shops": summary, "error": error}


def wait_for_the_end(client: redis.Redis, keys: RunKeys) -> None:
    try:
        while check_run(client, keys) == "crawling":
            time.sleep(HEARTBEAT_SECONDS)
    except (redis.RedisError, RunLost) as error:
        WORKER_FAILURES.append(f"lost Redis: {error}")
