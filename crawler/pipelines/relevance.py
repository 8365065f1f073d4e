"""Mark each listing a vitamin C serum candidate or not, with its kind, rule and reason
(evaluator.relevance.judge: the one relevance judgement, rules in data/vocab/relevance.toml)."""

from __future__ import annotations

from evaluator.relevance import judge


def apply_judgement(listing: dict) -> dict:
    """Put the judgement's columns on the listing (the pipeline, ``inspect`` and ``score`` share it)."""
    verdict = judge(listing)
    listing["is_candidate"] = int(verdict["candidate"])
    listing["relevance_reason"] = verdict["reason"]
    listing["relevance_rule"] = verdict["rule"]
    listing["product_kind"] = verdict["kind"]
    return verdict


class RelevancePipeline:
    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item):
        verdict = apply_judgement(item)
        self.stats.inc_value(f"serumscope/relevance/{verdict['rule']}")
        self.stats.inc_value(f"serumscope/kinds/{verdict['kind'] or 'unknown'}")
        if verdict["candidate"]:
            self.stats.inc_value("serumscope/candidates")
        return item
