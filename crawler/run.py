"""Crawl a list of shops in one Twisted reactor and return a summary (``serumscope crawl`` uses this).

The reactor cannot be restarted, so ``crawl`` runs once per process; tests and the scheduler call
``serumscope crawl --sites F --db D`` as a subprocess.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from scrapy.spiderloader import SpiderLoader

from crawler.collector import collect_for_crawling
from crawler.storage import close_shared, finish_run, shared_db, start_run
from crawler.summary import shop_summary
from serumscope.store.status import crawl_status


def crawler_settings(
    db_path: str | Path, run_id: int | None = None, overrides: dict[str, Any] | None = None
) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("SERUMSCOPE_DB", str(db_path), priority="cmdline")
    if run_id is not None:
        settings.set("SERUMSCOPE_RUN_ID", run_id, priority="cmdline")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


def crawl(
    sites: list[dict[str, Any]],
    db_path: str | Path,
    *,
    progress: bool = True,
    settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Crawl every shop concurrently, store into ``db_path``, record the run; return its summary:
    ``{"run_id", "status", "shops": {name: {"status", "listings", "candidates", "errors", ...}}}``.
    """
    db = shared_db(db_path)
    run_id = start_run(db, [shop["name"] for shop in sites])
    overrides = dict(settings or {})
    if progress:
        overrides.setdefault("SERUMSCOPE_PROGRESS_INTERVAL", 5.0)
    project_settings = crawler_settings(db_path, run_id, overrides)
    process = CrawlerProcess(project_settings)
    loader = SpiderLoader.from_settings(project_settings)
    crawlers: dict[str, Any] = {}
    startup_errors: dict[str, str] = {}

    def remember_failure(failure, name):
        startup_errors[name] = f"{type(failure.value).__name__}: {failure.value}"

    for shop in sites:
        try:
            spider_class = loader.load(shop["platform"])
        except KeyError:
            startup_errors[shop["name"]] = f"no spider named {shop['platform']!r}"
            continue
        crawler = process.create_crawler(spider_class)
        crawlers[shop["name"]] = crawler
        deferred = process.crawl(crawler, shop_config=shop)
        deferred.addErrback(remember_failure, shop["name"])
    if crawlers:
        collect_for_crawling()
        process.start()

    shops: dict[str, dict[str, Any]] = {}
    for name, crawler in crawlers.items():
        stats = dict(crawler.stats.get_stats()) if crawler.stats else {}
        shops[name] = shop_summary(stats)
    for name, message in startup_errors.items():
        shops[name] = {**shop_summary({}), "status": "failed", "startup_error": message}
    status = crawl_status(shop["status"] for shop in shops.values())
    finish_run(
        db,
        run_id,
        status,
        sum(s["listings"] for s in shops.values()),
        sum(s["errors"] for s in shops.values()) + len(startup_errors),
        shops,
    )
    close_shared()
    return {"run_id": run_id, "status": status, "db": str(db_path), "shops": shops}
