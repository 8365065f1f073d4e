"""Scrapy settings for serumscope's crawler (`scrapy list`, `scrapy crawl NAME` from the repo root).

Polite by default: robots.txt obeyed, AutoThrottle on, a few requests per shop at a time, a User-Agent
that says who we are, a size cap, and retries with backoff that honour ``Retry-After``.
"""

import os

from serumscope.store import DEFAULT_DB

BOT_NAME = "serumscope"
SPIDER_MODULES = ["crawler.platforms", "crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"  # scrapy inspect URL, scrapy detect URL

USER_AGENT = "serumscope/0.1 (+https://github.com/serumscope/serumscope; vitamin C serum listings)"
ROBOTSTXT_OBEY = True

CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 4
# Scrapy starts CONCURRENT_ITEMS asyncio tasks for every callback's output; our pipelines are
# synchronous, so the default 100 only costs time (~1/4 of the crawl's CPU on one-item pages).
CONCURRENT_ITEMS = 4
DOWNLOAD_DELAY = 0.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0

DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
REDIRECT_MAX_TIMES = 5
DNS_TIMEOUT = 15

RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
# Backoff between attempts: RETRY_BACKOFF_BASE * 2**attempt seconds, or the server's Retry-After,
# never more than RETRY_BACKOFF_MAX (a longer Retry-After gives up and records the error).
RETRY_BACKOFF_BASE = 1.0
RETRY_BACKOFF_MAX = 60.0

# Limits per shop (every shop is its own crawler), so no shop, broken or hostile, can keep a crawl
# going or fill the memory: a feed that invents new pages forever, an X-WP-TotalPages of 100 million,
# a sitemap index of 50,000 sitemaps. A crawl that reaches one stops (or skips the rest) and the shop
# ends `partial`, the reason in the end table, crawl_runs.stats and crawl_errors (kind "limit");
# nothing is marked gone. Override with `serumscope crawl -s NAME=VALUE`; 0 switches one off.
CLOSESPIDER_PAGECOUNT = 50_000  # responses per shop: feeds, sitemaps, product pages, variations
CLOSESPIDER_ITEMCOUNT = 20_000  # listings per shop
CLOSESPIDER_TIMEOUT = 4 * 3600  # seconds per shop
SERUMSCOPE_SITEMAPS_PER_INDEX = 1_000  # sitemaps followed from one sitemap index

# Re-crawls read only the products a shop says changed since they were last read (crawler/unchanged.py);
# every SERUMSCOPE_FULL_CRAWL_DAYS a shop is read in full, to catch shops whose change signals lie
# (and pages a newer serumscope reads better). SERUMSCOPE_FULL_CRAWL (`crawl --full`) forces one.
SERUMSCOPE_FULL_CRAWL_DAYS = 7.0
SERUMSCOPE_FULL_CRAWL = False
SERUMSCOPE_SKIP_UNCHANGED = True  # False: never skip (a crawl that stores nothing)
# Where a re-crawl reads what earlier crawls stored and records what it confirms (crawler/recrawl.py):
# the store; a distributed crawl's workers, Redis and the run's stream.
SERUMSCOPE_RECRAWL = "crawler.recrawl.StoreRecrawl"

# Scrapy re-reads and parses the source of every generator callback it calls (to warn about a
# ``return value`` in it), on most product pages ~18% of the crawl's CPU; ours return no values.
WARN_ON_GENERATOR_RETURN_VALUE = False

COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19's HTTP server that runs Python sent to it: nothing a crawl needs, one port less open.
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"
LOGSTATS_INTERVAL = 60.0

DOWNLOADER_MIDDLEWARES = {
    # Scrapy's own, raising an exception type per refusal (crawler/middlewares.py).
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawler.middlewares.TypedOffsiteMiddleware": 50,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.TypedRobotsTxtMiddleware": 100,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.middlewares.TypedRedirectMiddleware": 600,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    "crawler.incremental.ConditionalRequestMiddleware": 580,
    # Above RedirectMiddleware (600), so it sees a redirect before Scrapy follows it.
    "crawler.middlewares.OffsiteRedirectMiddleware": 650,
}

ITEM_PIPELINES = {
    "crawler.pipelines.normalise.NormalisePipeline": 100,
    "crawler.pipelines.relevance.RelevancePipeline": 200,
    "crawler.pipelines.input_hash.InputHashPipeline": 300,
    "crawler.pipelines.store.StorePipeline": 900,
}

EXTENSIONS = {
    "crawler.extensions.CrawlRunRecorder": 100,
    "crawler.extensions.ProgressReporter": 110,
}
SERUMSCOPE_PROGRESS_INTERVAL = 0.0  # seconds between progress lines; 0 = off (the CLI turns it on)

# Where items are stored and which crawl_runs row they belong to. `crawler.run.crawl` sets the run id;
# a bare `scrapy crawl` opens its own run. The incremental (conditional request) middleware reads both.
SERUMSCOPE_DB = os.environ.get("SERUMSCOPE_DB", str(DEFAULT_DB))
SERUMSCOPE_RUN_ID = None
SERUMSCOPE_STORE_BATCH = 200

FEED_EXPORT_ENCODING = "utf-8"
