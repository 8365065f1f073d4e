"""Item pipelines that misbehave on purpose, added to a crawl with -s ITEM_PIPELINES (see
hostile_shops.pipelines_with): what any custom pipeline or spider might do."""

from __future__ import annotations


class ExplodingPipeline:
    """Raises on a listing whose title says EXPLODE (as a buggy pipeline would)."""

    def process_item(self, item):
        if "EXPLODE" in (item.get("title") or ""):
            raise RuntimeError("this pipeline cannot handle the listing")
        return item


class NonFinitePipeline:
    """Runs after the built-in tidying (before the store): gives every variant a regular price only
    a float reads as infinite, a price that is not a number, and the title a lone surrogate."""

    def process_item(self, item):
        for variant in item.get("variants") or []:
            variant["regular_price"] = "1e999"
            variant["sku"] = float("nan")
        item["title"] = item["title"] + " \ud800"
        return item


class UnstorablePipeline:
    """Runs after the built-in pipelines' checks, before the store: breaks the key of a listing whose
    title says UNSTORABLE (a list, which no query can bind), so writing its batch fails."""

    def process_item(self, item):
        if "UNSTORABLE" in (item.get("title") or ""):
            item["id"] = [item["id"]]
        return item
