"""Local demo shops (Shopify, WooCommerce, a sitemap retailer) for tests, benchmarks and the demo.

Their content is data in ``data/demo_shops/`` (docs/demo-shops.md); ``DemoShops`` serves it.
"""

from serumscope.demo.catalog import DEMO_DATA_DIR, Catalog, DemoDataError, build_catalog
from serumscope.demo.shops import DemoShops

__all__ = ["DEMO_DATA_DIR", "Catalog", "DemoDataError", "DemoShops", "build_catalog"]
