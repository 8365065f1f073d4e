"""Example custom spider: a Shopify shop that lists every product under its own name as vendor and
keeps the real brand in a ``brand:<name>`` tag. Use it with ``platform = "shopify-brand-tags"``."""

from crawler.platforms.shopify import ShopifySpider


class ShopifyBrandTagsSpider(ShopifySpider):
    name = "shopify-brand-tags"

    def post_process_item(self, item, response, data):
        for tag in item.get("tags") or []:
            if tag.lower().startswith("brand:") and tag[6:].strip():
                item["brand"] = tag[6:].strip()
                item["provenance"]["brand"] = "api"
        item["tags"] = [t for t in item.get("tags") or [] if not t.lower().startswith("brand:")]
        yield item
