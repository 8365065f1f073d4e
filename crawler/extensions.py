"""Crawl bookkeeping: per-URL errors into ``crawl_errors``, the run row, and progress lines."""

from __future__ import annotations

import logging
import sys
from typing import Any

from scrapy import signals
from twisted.internet import task

from crawler.storage import error_row, finish_run, save_errors, shared_db, start_run
from crawler.summary import shop_summary
from serumscope.store.tables import SOFT_ERROR_KINDS

logger = logging.getLogger("serumscope.crawl")


# Scrapy's CloseSpider reasons for the limits of crawler/settings.py, in the end table's words.
LIMIT_REASONS = {
    "closespider_pagecount": ("page limit", "CLOSESPIDER_PAGECOUNT", "pages"),
    "closespider_itemcount": ("listing limit", "CLOSESPIDER_ITEMCOUNT", "listings"),
    "closespider_timeout": ("crawl time limit", "CLOSESPIDER_TIMEOUT", "s"),
}


def limit_reason(finish_reason: str, settings) -> str | None:
    """Why a crawl stopped at one of its limits ("page limit reached: CLOSESPIDER_PAGECOUNT = 500
    pages"), or None when ``finish_reason`` is no limit."""
    if finish_reason not in LIMIT_REASONS:
        return None
    words, setting, unit = LIMIT_REASONS[finish_reason]
    return f"{words} reached: {setting} = {settings.get(setting)} {unit}; the crawl stopped there"


class CrawlRunRecorder:
    """Records every failed URL in ``crawl_errors`` for the run; opens/closes the run row itself when
    the crawl was started by plain ``scrapy crawl`` (no ``SERUMSCOPE_RUN_ID``)."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.db = shared_db(crawler.settings["SERUMSCOPE_DB"])
        run_id = crawler.settings.get("SERUMSCOPE_RUN_ID")
        self.owns_run = not run_id
        self.run_id = int(run_id) if run_id else None
        self.pending: list[dict[str, Any]] = []
        crawler.serumscope_recorder = self
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.spider_error, signal=signals.spider_error)
        crawler.signals.connect(self.item_error, signal=signals.item_error)
        crawler.serumscope_run_id = self.run_id

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def spider_opened(self, spider):
        if self.owns_run:
            self.run_id = start_run(self.db, [getattr(spider, "shop_name", spider.name)])
            self.crawler.serumscope_run_id = self.run_id

    def record_error(self, spider, url: str, kind: str, message: str, status: int | None) -> None:
        shop = getattr(spider, "shop_name", spider.name)
        self.pending.append(error_row(self.run_id, shop, url, kind, message, status))
        if len(self.pending) >= 100:
            self.flush()

    def spider_error(self, failure, response, spider):
        spider.record_error(
            response.url,
            "parse",
            f"{type(failure.value).__name__}: {failure.value}",
            response.status,
        )

    def item_error(self, item, response, spider, failure):
        """A pipeline raised on a listing: the listing is not stored, so its page is an error (the
        shop is `partial`, and reconcile leaves the stored listing alone, its URL having failed)."""
        url = item.get("url") if isinstance(item, dict) else None
        spider.record_error(
            str(url or getattr(response, "url", "") or ""),
            "pipeline",
            f"listing {item.get('id') if isinstance(item, dict) else '?'} not stored: "
            f"{type(failure.value).__name__}: {failure.value}",
            getattr(response, "status", None),
        )

    def flush(self) -> None:
        rows, self.pending = self.pending, []
        save_errors(self.db, rows)

    def spider_closed(self, spider, reason):
        reason_text = limit_reason(reason, self.crawler.settings)
        if reason_text and hasattr(spider, "reached_limit"):
            spider.reached_limit(getattr(spider, "base_url", ""), reason_text)
        self.flush()
        if self.owns_run:
            stats = self.crawler.stats.get_stats()
            stats["finish_reason"] = reason
            summary = shop_summary(stats)
            finish_run(
                self.db,
                self.run_id,
                summary["status"],
                summary["listings"],
                summary["errors"],
                {spider.shop_name: summary},
            )


class ProgressReporter:
    """Every ``SERUMSCOPE_PROGRESS_INTERVAL`` seconds: pages, listings and errors of this shop."""

    def __init__(self, crawler, interval: float):
        self.crawler = crawler
        self.interval = interval
        self.loop = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        from scrapy.exceptions import NotConfigured

        interval = crawler.settings.getfloat("SERUMSCOPE_PROGRESS_INTERVAL")
        if interval <= 0:
            raise NotConfigured
        return cls(crawler, interval)

    def line(self, spider, final: bool = False) -> str:
        stats = self.crawler.stats.get_stats()
        prefix = "serumscope/errors/"
        kinds = {k.removeprefix(prefix): v for k, v in stats.items() if k.startswith(prefix)}
        errors = sum(v for k, v in kinds.items() if k not in SOFT_ERROR_KINDS)
        skipped = sum(v for k, v in kinds.items() if k in SOFT_ERROR_KINDS)
        return (
            f"[{getattr(spider, 'shop_name', spider.name)}] {'done: ' if final else ''}"
            f"{stats.get('response_received_count', 0)} pages, "
            f"{stats.get('item_scraped_count', 0)} listings, {errors} errors"
            + (f", {skipped} skipped" if skipped else "")
        )

    def spider_opened(self, spider):
        self.loop = task.LoopingCall(lambda: print(self.line(spider), file=sys.stderr, flush=True))
        self.loop.start(self.interval, now=False)

    def spider_closed(self, spider, reason):
        if self.loop and self.loop.running:
            self.loop.stop()
        print(self.line(spider, final=True), file=sys.stderr, flush=True)
