"""The test web: every layout served as its own shop on 127.0.0.1, crawled by the real spiders.

A sitemap layout is a shop with robots.txt, ``/sitemap.xml`` and ``/products/<slug>`` pages. The
Shopify and WooCommerce layouts reuse the demo shops' API servers (``/products.json``, the Store API)
with a catalog built from the products, one shop per currency (a Shopify or WooCommerce shop has one).
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from pathlib import Path
from typing import Any

from serumscope.demo.catalog import Catalog
from serumscope.demo.http import (
    Response,
    ServedShops,
    Shop,
    ShopServer,
    html_response,
    image_response,
    not_found_page,
    text_response,
)
from serumscope.demo.pages import frame, sitemap_urlset
from serumscope.demo.shopify import ShopifyShop
from serumscope.demo.shops import toml_value
from serumscope.demo.testweb.pages_chrome import NOT_PRODUCTS, chrome_money, chrome_related
from serumscope.demo.testweb.pages_html import opengraph, plain_html, residue, spec_dl, title_size
from serumscope.demo.testweb.pages_schema import (
    description_inci,
    jsonld_no_offers,
    jsonld_offer,
    magento_specs,
    microdata,
    shopify_theme,
    swatches,
)
from serumscope.demo.testweb.product import (
    LAYOUTS,
    SHOP_TITLE,
    PageProduct,
    description_text,
    ingredients_markup,
    paragraphs,
    size_value,
)
from serumscope.demo.woocommerce import WooCommerceShop

RENDERERS = {
    "jsonld-offer": jsonld_offer,
    "jsonld-no-offers": jsonld_no_offers,
    "microdata": microdata,
    "opengraph": opengraph,
    "plain-html": plain_html,
    "spec-dl": spec_dl,
    "magento-specs": magento_specs,
    "swatches": swatches,
    "title-size": title_size,
    "residue": residue,
    "description-inci": description_inci,
    "shopify-theme": shopify_theme,
    "chrome-related": chrome_related,
    "chrome-money": chrome_money,
}
# Layouts whose shop also lists pages that show no product, and has no product URL patterns.
CHROME = {"chrome-related", "chrome-money"}
PUBLISHED = "2025-06-01T09:00:00Z"
ROBOTS_TXT = "User-agent: *\nDisallow: /cart\nDisallow: /checkout\n\nSitemap: {base}/sitemap.xml\n"


def render_page(layout: str, product: PageProduct, base_url: str) -> str:
    """The product page of ``product`` in a sitemap ``layout`` (a key of RENDERERS)."""
    url = f"{base_url}/products/{product.slug}"
    return RENDERERS[layout](product, url, base_url)


class SitemapLayoutShop:
    """A shop whose product pages are all in one layout, found through robots.txt and a sitemap."""

    def __init__(self, layout: str, products: list[PageProduct]) -> None:
        self.layout = layout
        self.base_url = ""
        self.products = {p.slug: p for p in products}

    def respond(self, path: str, query: dict[str, list[str]]) -> Response:
        if path == "/robots.txt":
            return text_response(ROBOTS_TXT.format(base=self.base_url), "text/plain")
        if path == "/sitemap.xml":
            entries = [(f"{self.base_url}/products/{slug}", None) for slug in self.products]
            if self.layout in CHROME:
                entries += [(f"{self.base_url}{path}", None) for path in NOT_PRODUCTS]
            return text_response(sitemap_urlset(entries), "application/xml")
        if path.startswith("/products/"):
            slug = path.removeprefix("/products/")
            if slug.endswith(".png"):
                return image_response()
            product = self.products.get(slug)
            if product is None:
                return not_found_page()
            return html_response(render_page(self.layout, product, self.base_url))
        if self.layout in CHROME and path in NOT_PRODUCTS:
            return html_response(frame("Vitamin C", NOT_PRODUCTS[path], shop_name=SHOP_TITLE))
        return not_found_page()


def _variant(product: PageProduct, title: str) -> dict[str, Any]:
    return {
        "title": title,
        "price": product.price,
        "compare_at_price": None,
        "available": True,
        "sku": product.sku,
    }


def _ingredients_block(product: PageProduct, inline: bool) -> str:
    if not product.ingredients:
        return ""
    if inline:
        return f"<p><strong>Ingredients:</strong> {ingredients_markup(product.ingredients)}</p>"
    return f"<h3>Ingredients</h3><p>{ingredients_markup(product.ingredients)}</p>"


def shopify_product(layout: str, product: PageProduct) -> dict[str, Any]:
    """A demo-catalog product for ShopifyShop: the size as the Size option or in ``body_html``."""
    size = size_value(product)
    body = paragraphs(description_text(product))
    if layout == "shopify-body" and size:
        body += f"<p>Size: {escape(size)}</p>"
    body += _ingredients_block(product, inline=layout == "shopify-body")
    options = layout == "shopify-options" and size
    return {
        "slug": product.slug,
        "title": product.title,
        "brand": product.brand or SHOP_TITLE,
        "description": body,
        "product_type": product.categories[-1] if product.categories else "",
        "tags": [],
        "images": [],
        "collections": [],
        "published_at": PUBLISHED,
        "updated_at": PUBLISHED,
        "option_name": "Size" if options else "Title",
        "variants": [_variant(product, size if options else "Default Title")],
    }


def woocommerce_product(layout: str, product: PageProduct, number: int) -> dict[str, Any]:
    """A demo-catalog product for WooCommerceShop: short description vs long, or attributes."""
    size = size_value(product)
    attributes = []
    if layout == "woo-short":
        short = paragraphs(product.description)
        if size:
            short += f"<p>Size: {escape(size)}</p>"
        short += paragraphs(product.packaging)
        long = _ingredients_block(product, inline=False)
    else:
        short = ""
        long = paragraphs(description_text(product))
        if size:
            attributes.append({"name": "Size", "values": [size]})
        if product.ingredients:
            attributes.append({"name": "Ingredients", "values": [product.ingredients]})
    return {
        "id": 1000 + number,
        "slug": product.slug,
        "title": product.title,
        "brand": product.brand or SHOP_TITLE,
        "description": long,
        "short_description": short,
        "categories": product.categories or ["Skincare"],
        "attributes": attributes,
        "tags": [],
        "images": [],
        "published_at": PUBLISHED,
        "updated_at": PUBLISHED,
        "variants": [_variant(product, size or "")],
    }


def api_shop(layout: str, name: str, currency: str, products: list[PageProduct]) -> Any:
    platform = LAYOUTS[layout].platform
    config = {"name": name, "title": SHOP_TITLE, "currency": currency}
    if platform == "shopify":
        items = [shopify_product(layout, p) for p in products]
        catalog = Catalog(1, {"shopify": config}, {"shopify": items})
        return ShopifyShop(catalog)
    items = [woocommerce_product(layout, p, n) for n, p in enumerate(products)]
    catalog = Catalog(1, {"woocommerce": config}, {"woocommerce": items})
    return WooCommerceShop(catalog)


class LayoutWeb(ServedShops):
    """Every layout of ``layouts`` (default: all of LAYOUTS) serving ``products``, each its own shop.

    >>> with LayoutWeb(products) as web:
    ...     web.sites()                      # [[shop]] tables for `serumscope crawl`
    ...     web.layout_of("woo-short-gbp")   # 'woo-short'
    """

    def __init__(self, products: Iterable[PageProduct], layouts: Iterable[str] | None = None):
        self.products = list(products)
        self.layouts = list(layouts or LAYOUTS)
        unknown = [name for name in self.layouts if name not in LAYOUTS]
        if unknown:
            raise ValueError(f"unknown layouts: {', '.join(unknown)}")
        self.shops: dict[str, tuple[str, Any]] = {}
        for layout in self.layouts:
            if LAYOUTS[layout].platform == "sitemap":
                self.shops[layout] = (layout, SitemapLayoutShop(layout, self.products))
                continue
            currencies = sorted({p.currency for p in self.products if p.price})
            for currency in currencies:
                chosen = [p for p in self.products if p.price and p.currency == currency]
                name = layout if currency == "USD" else f"{layout}-{currency.lower()}"
                self.shops[name] = (layout, api_shop(layout, name, currency, chosen))
        self.servers: dict[str, ShopServer] = {}

    def layout_of(self, shop_name: str) -> str:
        return self.shops[shop_name][0]

    def served(self) -> Iterable[tuple[str, Shop]]:
        return ((name, shop) for name, (_, shop) in self.shops.items())

    def sites(self) -> list[dict[str, Any]]:
        """The running shops as ``[[shop]]`` tables of a sites file."""
        if not self.servers:
            raise RuntimeError("the test web is not running: call start() or use `with`")
        sites = []
        for name, (layout, _) in self.shops.items():
            url = self.servers[name].url
            platform = LAYOUTS[layout].platform
            site: dict[str, Any] = {"name": name, "platform": platform, "base_url": url}
            if platform == "sitemap":
                site["sitemap_urls"] = [f"{url}/sitemap.xml"]
                if layout not in CHROME:
                    site["product_url_patterns"] = ["/products/"]
            sites.append(site)
        return sites

    def write_sites(self, path: str | Path) -> Path:
        blocks = []
        for site in self.sites():
            lines = ["[[shop]]"] + [f"{key} = {toml_value(value)}" for key, value in site.items()]
            blocks.append("\n".join(lines))
        path = Path(path)
        path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
        return path


def slug_of(url: str) -> str:
    """The product slug in a crawled listing's URL (every layout puts it last in the path)."""
    return url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
