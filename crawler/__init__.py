"""serumscope's Scrapy project: platform spiders, extraction, pipelines into SQLite (docs/crawling.md)."""
