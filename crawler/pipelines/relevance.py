"""Mark each listing a vitamin C serum candidate or not, with the reason (data/relevance.toml)."""

from __future__ import annotations

from crawler.relevance import judge


class RelevancePipeline:
    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item):
        item["is_candidate"], item["relevance_reason"] = judge(item)
        if item["is_candidate"]:
            self.stats.inc_value("serumscope/candidates")
        else:
            self.stats.inc_value(f"serumscope/not_candidates/{item['relevance_reason']}")
        return item
