"""The processes of a distributed crawl that need no Scrapy do not import it: the ``crawl --redis``
process (which publishes each shop's re-crawl plan) and the ingest. The plan they publish reads the
run's settings as a worker's Scrapy settings read them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from crawler.recrawl import PlanSettings
from crawler.run import crawler_settings


def test_the_crawl_and_ingest_processes_import_no_scrapy():
    script = (
        "import sys\n"
        "import crawler.distributed_recrawl, crawler.ingest, serumscope.commands.crawling\n"
        "from crawler.recrawl import PlanSettings\n"
        "PlanSettings.from_overrides({'SERUMSCOPE_FULL_CRAWL': True})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scrapy', 'twisted')))\n"
    )
    answer = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert answer.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"SERUMSCOPE_FULL_CRAWL": True},
        {"SERUMSCOPE_FULL_CRAWL": "True", "SERUMSCOPE_FULL_CRAWL_DAYS": "0.5"},
        {"SERUMSCOPE_SKIP_UNCHANGED": 0},
        {"SERUMSCOPE_SKIP_UNCHANGED": "false", "SERUMSCOPE_FULL_CRAWL_DAYS": 3},
        {"SERUMSCOPE_SKIP_UNCHANGED": "1", "SERUMSCOPE_FULL_CRAWL": "0"},
    ],
)
def test_the_published_plan_reads_settings_as_scrapy_does(overrides):
    scrapy_settings = crawler_settings("", None, overrides)
    assert PlanSettings.from_overrides(overrides) == PlanSettings.from_scrapy(scrapy_settings)
