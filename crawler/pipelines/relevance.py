"""Mark each listing a vitamin C serum candidate or not, with its kind, rule and reason
(evaluator.relevance: the one relevance judgement, rules in data/vocab/relevance.toml)."""

from __future__ import annotations

from evaluator.categories import relevance_columns


class RelevancePipeline:
    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item):
        item.update(relevance_columns(item))
        self.stats.inc_value(f"serumscope/relevance/{item['relevance_rule']}")
        self.stats.inc_value(f"serumscope/kinds/{item['product_kind'] or 'unknown'}")
        if item["is_candidate"]:
            self.stats.inc_value("serumscope/candidates")
        return item
