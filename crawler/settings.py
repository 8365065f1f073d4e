"""Scrapy settings for serumscope's crawler (`scrapy list`, `scrapy crawl NAME` from the repo root)."""

BOT_NAME = "serumscope"
SPIDER_MODULES = ["crawler.platforms", "crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
ROBOTSTXT_OBEY = True
