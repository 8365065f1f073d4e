"""The Scrapy components by which a ``serumscope worker`` (crawler/worker.py) reports to its run: each
listing and crawl error to the run's stream, its statistics for the ingest to sum, and heartbeats that
say it is alive and stop it when the run fails or Redis is lost."""

from __future__ import annotations

import logging

import redis
from scrapy import signals
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task

from crawler.extensions import CrawlRunRecorder, limit_reason
from crawler.extract.listing import utc_now
from crawler.frontier import HEARTBEAT_SECONDS, HEARTBEAT_TTL, RunLost, check_run, stop_shop
from crawler.storage import error_row

logger = logging.getLogger("serumscope.worker")

# Crawl statistics a worker adds to its shop's totals when it closes (the rest, listings stored and
# errors, the ingest counts from what it wrote).
SUMMED_STATS = (
    "serumscope/candidates",
    "serumscope/relevance/",
    "serumscope/kinds/",
    "serumscope/size_from/",
    "serumscope/fields_missing/",
    "serumscope/fields_invalid/",
    "response_received_count",
    "incremental/",  # pages answered 304, products skipped unchanged
)


def close_spider(crawler, reason: str) -> None:
    """Ask the engine to close the spider once: the idle look and the heartbeat may both ask in one
    turn, and a close over before the second one starts would fail it ("Spider not opened"). The
    downloads still waiting for a shop's lease are dropped (crawler/shop_limit.py)."""
    if crawler.engine.spider is None or getattr(crawler.spider, "close_asked", False):
        return
    crawler.spider.close_asked = True
    shop_limit = getattr(crawler, "serumscope_shop_limit", None)
    if shop_limit is not None:
        shop_limit.stop()
    deferred_from_coro(crawler.engine.close_spider_async(reason=reason))


class StreamPipeline:
    """The worker's last pipeline: each listing to the run's stream, for the ingest to store."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        frontier = self.crawler.spider.frontier
        frontier.send("listing", frontier.shop, dict(item))
        return item


class StreamRecorder(CrawlRunRecorder):
    """CrawlRunRecorder for a worker: each crawl error goes to the run's stream at once."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.run_id = crawler.settings.getint("SERUMSCOPE_RUN_ID")
        crawler.serumscope_recorder = self
        crawler.serumscope_run_id = self.run_id
        crawler.signals.connect(self.spider_error, signal=signals.spider_error)
        crawler.signals.connect(self.item_error, signal=signals.item_error)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    def record_error(self, spider, url: str, kind: str, message: str, status: int | None) -> None:
        row = error_row(self.run_id, spider.shop_name, url, kind, message, status)
        spider.frontier.send("error", spider.shop_name, row)

    def spider_closed(self, spider, reason):
        try:
            spider.frontier.flush()
            if (message := limit_reason(reason, self.crawler.settings)) or reason == SHOP_LIMITED:
                # Stopped before the shop was done: the limit stops the shop for every worker.
                frontier = spider.frontier
                limit = (reason, message) if message else None
                if stop_shop(frontier.client, frontier.keys, frontier.shop, frontier.worker, limit):
                    spider.reached_limit(getattr(spider, "base_url", ""), message)
                    frontier.flush()
            send_stats(self.crawler)
            spider.frontier.client.hdel(spider.frontier.keys.busy, spider.frontier.busy_field)
        except redis.RedisError as error:
            logger.error("could not send the crawl statistics of %s: %s", spider.shop_name, error)


def send_stats(crawler) -> None:
    """This worker's statistics for the shop so far (the ingest sums every worker's)."""
    frontier = crawler.spider.frontier
    totals = {
        key: value
        for key, value in crawler.stats.get_stats().items()
        if isinstance(value, int) and key.startswith(SUMMED_STATS)
    }
    if totals:
        frontier.client.hset(frontier.keys.stats(frontier.shop, frontier.worker), mapping=totals)


class WorkerPresence:
    """Heartbeats that say this worker is alive (so its requests are not handed to others) and that
    stop the crawl with a clear error when Redis is lost."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.loop: task.LoopingCall | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def beat(self) -> None:
        frontier = self.crawler.spider.frontier
        try:
            if frontier.lost:
                raise RunLost(f"could not send what was crawled: {frontier.lost}")
            send_stats(self.crawler)
            with frontier.client.pipeline(transaction=True) as pipe:
                pipe.sadd(frontier.keys.workers, frontier.worker)
                pipe.set(frontier.keys.alive(frontier.worker), utc_now(), ex=HEARTBEAT_TTL)
                pipe.execute()
            state = check_run(frontier.client, frontier.keys)
            if frontier.client.hexists(frontier.keys.limited, frontier.shop):
                self.stop(SHOP_LIMITED)  # another worker reached one of the crawl limits
            elif state == "failed":
                # Stopped by its crawl process, its ingest, or the next run: nothing to finish.
                logger.error("[%s] the run failed; stopping", frontier.shop)
                self.stop("run_failed")
            elif state != "crawling" and self.crawler.engine.spider_is_idle():
                # The run ended while the spider waits for requests: no need to wait for Scrapy's
                # next idle check (every 5 s) to leave.
                self.stop("finished")
        except (redis.RedisError, RunLost) as error:
            message = f"lost Redis: {error}"
            WORKER_FAILURES.append(message)
            logger.error("[%s] %s; stopping", frontier.shop, message)
            self.stop("redis_lost")

    def stop(self, reason: str) -> None:
        if self.loop and self.loop.running:
            self.loop.stop()
        close_spider(self.crawler, reason)

    def spider_opened(self, spider):
        self.beat()
        self.loop = task.LoopingCall(self.beat)
        self.loop.start(HEARTBEAT_SECONDS, now=False)

    def spider_closed(self, spider, reason):
        if self.loop and self.loop.running:
            self.loop.stop()


WORKER_FAILURES: list[str] = []
SHOP_LIMITED = "shop_limited"  # why a worker stops a shop a crawl limit stopped in another worker
