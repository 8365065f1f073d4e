"""Scrapy commands of the project (``COMMANDS_MODULE``): ``scrapy inspect URL`` and ``scrapy detect
URL`` run the platform spiders themselves on one product or one shop, as All the Places' ``scrapy sd``
runs its structured-data spider on one page, and print what they found as JSON. ``serumscope inspect``
and ``detect`` run them in a child process (crawler.probe), because Scrapy's reactor runs once a
process.

What they share: the crawl's own settings minus what a look must not do, and a runner that crawls with
the spiders one after another in one reactor, keeping each crawler's listings and recorded errors.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from scrapy import signals
from scrapy.crawler import AsyncCrawlerRunner, Crawler
from scrapy.settings import SETTINGS_PRIORITIES, Settings
from scrapy.utils.defer import deferred_f_from_coro_f
from scrapy.utils.log import configure_logging
from scrapy.utils.reactor import install_reactor

UNREACHABLE_KINDS = ("connection", "dns", "timeout")

# Components of a crawl that a look at one URL leaves out: it stores nothing, records no run, and asks
# for the page in full (a "304 Not Modified" would show nothing).
LEFT_OUT = {
    "ITEM_PIPELINES": "crawler.pipelines.store.StorePipeline",
    "EXTENSIONS": "crawler.extensions.CrawlRunRecorder",
    "DOWNLOADER_MIDDLEWARES": "crawler.incremental.ConditionalRequestMiddleware",
}


def probe_settings(settings: Settings) -> Settings:
    """The crawl's settings without storing; no retries or AutoThrottle delays either: a look makes
    a handful of requests and should answer at once, as it did before it ran the spiders."""
    for name, component in LEFT_OUT.items():
        settings.set(name, {**settings.getdict(name), component: None}, priority="cmdline")
    settings.set("RETRY_ENABLED", False, priority="cmdline")
    # a product the last crawl stored unchanged must still be read and shown
    settings.set("SERUMSCOPE_SKIP_UNCHANGED", False, priority="cmdline")
    settings.set("AUTOTHROTTLE_ENABLED", False, priority="cmdline")
    if settings.getpriority("LOG_LEVEL") < SETTINGS_PRIORITIES["cmdline"]:  # unless -L LEVEL
        settings.set("LOG_LEVEL", "ERROR", priority="cmdline")
    return settings


class Findings:
    """One crawler's listings (as the pipelines left them) and the errors its spider recorded.
    ``enough`` listings for which ``counts`` is true close the spider early."""

    def __init__(
        self,
        crawler: Crawler,
        enough: int = 0,
        counts: Callable[[dict[str, Any]], bool] = lambda listing: True,
    ) -> None:
        self.crawler = crawler
        self.enough = enough
        self.counts = counts
        self.listings: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        crawler.serumscope_recorder = self  # the spider's record_error reports here
        crawler.signals.connect(self.item_scraped, signal=signals.item_scraped)

    def item_scraped(self, item: dict[str, Any], response, spider) -> None:
        self.listings.append({k: v for k, v in item.items() if not k.startswith("_")})
        if self.enough and sum(map(self.counts, self.listings)) == self.enough:
            asyncio.ensure_future(self.crawler.engine.close_spider_async(reason="enough"))

    def record_error(self, spider, url: str, kind: str, message: str, status: int | None) -> None:
        self.errors.append({"url": url, "kind": kind, "message": message, "status": status})

    def first(self, *kinds: str) -> dict[str, Any] | None:
        return next((e for e in self.errors if e["kind"] in kinds), None)

    @property
    def unreachable(self) -> dict[str, Any] | None:
        """The first connection error when nothing at all answered."""
        if self.crawler.stats and self.crawler.stats.get_value("response_received_count"):
            return None
        return self.first(*UNREACHABLE_KINDS)


Crawl = Callable[..., Awaitable[Findings]]


def run_in_turn(settings: Settings, plan: Callable[[Crawl], Awaitable[dict[str, Any]]]) -> None:
    """Run ``plan`` in a reactor, giving it ``crawl(spider_class, enough=0, counts=..., **spider
    arguments)`` that crawls to the end and returns the Findings; print what ``plan`` returns as JSON.
    """
    configure_logging(settings)
    install_reactor(settings["TWISTED_REACTOR"])
    from twisted.internet.task import react

    runner = AsyncCrawlerRunner(settings)

    async def crawl(spider_class, enough: int = 0, counts=lambda listing: True, **arguments):
        crawler = runner.create_crawler(spider_class)
        findings = Findings(crawler, enough, counts)
        await runner.crawl(crawler, **arguments)
        return findings

    @deferred_f_from_coro_f
    async def main(reactor) -> None:
        result = await plan(crawl)
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    react(main)
