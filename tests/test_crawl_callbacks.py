"""Scrapy reads the source of every generator callback it calls, to warn about a ``return value`` in
it, unless WARN_ON_GENERATOR_RETURN_VALUE is off (issue 12: ~18% of the crawl's CPU). The shipped
settings turn it off; that is safe while no generator of the spiders returns a value."""

from __future__ import annotations

import inspect

from scrapy.spiderloader import SpiderLoader
from scrapy.utils.misc import is_generator_with_return_value

from crawler.run import crawler_settings


def test_the_shipped_settings_do_not_reread_callbacks(tmp_path):
    assert crawler_settings(tmp_path / "x.db").getbool("WARN_ON_GENERATOR_RETURN_VALUE") is False


def test_no_spider_generator_returns_a_value(tmp_path):
    loader = SpiderLoader.from_settings(crawler_settings(tmp_path / "x.db"))
    checked = set()
    for name in loader.list():
        for klass in inspect.getmro(loader.load(name)):
            if not klass.__module__.startswith("crawler."):
                continue
            for attribute, member in vars(klass).items():
                if inspect.isgeneratorfunction(member) and member not in checked:
                    checked.add(member)
                    assert not is_generator_with_return_value(member), (
                        f"{klass.__name__}.{attribute}"
                    )
    assert len(checked) > 5  # the platform spiders' callbacks were found
