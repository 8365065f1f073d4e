"""``DemoShops``: the three demo shops running together, each on its own 127.0.0.1 port."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from serumscope.demo.catalog import DEMO_DATA_DIR, Catalog, build_catalog
from serumscope.demo.http import ServedShops, Shop, ShopServer
from serumscope.demo.retailer import DISALLOWED_SECTION, RetailerShop
from serumscope.demo.shopify import ShopifyShop
from serumscope.demo.woocommerce import WooCommerceShop


def toml_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


class DemoShops(ServedShops):
    """A Shopify storefront, a WooCommerce store and a sitemap-driven retailer, served locally.

    >>> with DemoShops() as shops:
    ...     shops.urls["shopify"]          # 'http://127.0.0.1:40123'
    ...     shops.set_day(2)               # prices move, one product goes, one arrives
    """

    def __init__(self, day: int = 1, data_dir: Path = DEMO_DATA_DIR) -> None:
        self.data_dir = data_dir
        catalog = build_catalog(day, data_dir)
        self.shops = {
            "shopify": ShopifyShop(catalog),
            "woocommerce": WooCommerceShop(catalog),
            "retailer": RetailerShop(catalog),
        }
        self.servers: dict[str, ShopServer] = {}

    @property
    def catalog(self) -> Catalog:
        return self.shops["shopify"].catalog

    @property
    def day(self) -> int:
        return self.catalog.day

    @property
    def urls(self) -> dict[str, str]:
        if not self.servers:
            raise RuntimeError("the demo shops are not running: call start() or use `with`")
        return {platform: server.url for platform, server in self.servers.items()}

    def served(self) -> Iterable[tuple[str, Shop]]:
        return self.shops.items()

    def set_day(self, day: int) -> None:
        """Serve day ``day``'s content (1 = the base files; 2 adds ``days/day2.toml`` ...)."""
        catalog = build_catalog(day, self.data_dir)
        # Fresh shop objects, swapped in one assignment per server: a request in flight keeps
        # the shop it started with, so it never mixes two days.
        for platform, old_shop in list(self.shops.items()):
            shop = type(old_shop)(catalog)
            shop.base_url = old_shop.base_url
            self.shops[platform] = shop
            if platform in self.servers:
                self.servers[platform].shop = shop

    def sites(self) -> list[dict[str, Any]]:
        """The running shops in the sites-file shape (``[[shop]]`` tables of data/sites.toml)."""
        names = {platform: self.catalog.shops[platform]["name"] for platform in self.shops}
        urls = self.urls
        shopify_collections = list(self.catalog.shops["shopify"].get("crawl_collections", []))
        shopify: dict[str, Any] = {
            "name": names["shopify"],
            "platform": "shopify",
            "base_url": urls["shopify"],
        }
        if shopify_collections:
            shopify["collections"] = shopify_collections
        return [
            shopify,
            {
                "name": names["woocommerce"],
                "platform": "woocommerce",
                "base_url": urls["woocommerce"],
            },
            {
                "name": names["retailer"],
                "platform": "sitemap",
                "base_url": urls["retailer"],
                "sitemap_urls": [f"{urls['retailer']}/sitemap_index.xml"],
                "product_url_patterns": ["/products/", f"/{DISALLOWED_SECTION}/"],
            },
        ]

    def sites_toml(self) -> str:
        blocks = []
        for site in self.sites():
            lines = ["[[shop]]"] + [f"{key} = {toml_value(value)}" for key, value in site.items()]
            blocks.append("\n".join(lines))
        text = "# The running demo shops (written by serumscope.demo.DemoShops).\n\n"
        text += "\n\n".join(blocks) + "\n"
        tomllib.loads(text)
        return text

    def write_sites(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.sites_toml(), encoding="utf-8")
        return path
