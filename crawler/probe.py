"""``serumscope detect`` and ``serumscope inspect``: a few blocking fetches, read with the very
extraction code the spiders use and (inspect) tidied by the pipelines' own functions, so what inspect
shows is what a crawl would store."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlparse

from protego import Protego
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from crawler import settings as crawler_settings
from crawler.extract.listing import make_listing
from crawler.extract.page import parse_page, product_from_page
from crawler.extract.text import clean
from crawler.pipelines.input_hash import input_hash
from crawler.pipelines.normalise import normalise_listing
from crawler.platforms.base import shop_name_from_url
from crawler.platforms.shopify import fill_currency, listing_fields_from_shopify, shop_currency
from crawler.platforms.sitemap import url_key
from crawler.platforms.woocommerce import (
    API_PATH,
    fields_missing_from_api,
    fill_from_page,
    listing_fields_from_woocommerce,
)
from evaluator.relevance import relevance_columns

TIMEOUT = 15
MAX_BYTES = crawler_settings.DOWNLOAD_MAXSIZE


@dataclass
class Fetched:
    url: str
    status: int
    body: bytes
    content_type: str
    charset: str

    @property
    def text(self) -> str:
        return self.body.decode(self.charset or "utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.text)


def fetch(url: str) -> Fetched:
    """GET with serumscope's User-Agent; HTTP errors come back as a status, network errors raise."""
    request = urllib.request.Request(url, headers={"User-Agent": crawler_settings.USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            body = response.read(MAX_BYTES + 1)
            return Fetched(
                response.geturl(),
                response.status,
                body[:MAX_BYTES],
                response.headers.get_content_type(),
                response.headers.get_content_charset() or "utf-8",
            )
    except urllib.error.HTTPError as error:
        return Fetched(url, error.code, error.read(), error.headers.get_content_type(), "utf-8")


def _json_or_none(url: str) -> Any:
    try:
        fetched = fetch(url)
        return fetched.json() if fetched.status == 200 else None
    except (OSError, ValueError):
        return None


def _robots(base_url: str) -> tuple[Protego | None, list[str]]:
    try:
        fetched = fetch(f"{base_url}/robots.txt")
    except OSError:
        return None, []
    if fetched.status != 200:
        return None, []
    return Protego.parse(fetched.text), list(sitemap_urls_from_robots(fetched.body, base_url))


def _sitemap_locs(url: str, depth: int = 0) -> list[str]:
    try:
        fetched = fetch(url)
        sitemap = Sitemap(fetched.body)
        entries = [e["loc"] for e in sitemap if e.get("loc")]
    except Exception:
        return []
    if sitemap.type == "sitemapindex" and depth < 2:
        locs: list[str] = []
        for child in entries[:5]:
            locs += _sitemap_locs(child, depth + 1)
        return locs
    return entries if sitemap.type == "urlset" else []


def detect(url: str) -> dict[str, Any]:
    """Which platform a shop runs and the sites-file table to crawl it (``shop`` is None if unknown)."""
    parsed = urlparse(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"{url!r} is not a shop address: give it with http:// or https://")
    base = f"{parsed.scheme}://{parsed.netloc}"
    try:
        fetch(base + "/")
    except OSError as error:
        reason = getattr(error, "reason", None) or error
        raise OSError(f"cannot reach {base}: {reason}") from None
    name = shop_name_from_url(base)
    notes: list[str] = []
    products = _json_or_none(f"{base}/products.json?limit=1")
    if isinstance(products, dict) and isinstance(products.get("products"), list):
        notes.append(f"{base}/products.json answers like Shopify")
        return {"platform": "shopify", "notes": notes,
                "shop": {"name": name, "platform": "shopify", "base_url": base}}  # fmt: skip
    woo = _json_or_none(f"{base}{API_PATH}?per_page=1")
    if isinstance(woo, list):
        notes.append(f"{base}{API_PATH} answers like the WooCommerce Store API")
        return {"platform": "woocommerce", "notes": notes,
                "shop": {"name": name, "platform": "woocommerce", "base_url": base}}  # fmt: skip
    robots, sitemaps = _robots(base)
    if not sitemaps:
        sitemaps = [f"{base}/sitemap.xml"]
    notes.append(f"sitemaps: {', '.join(sitemaps)}")
    product_urls = []
    for sitemap_url in sitemaps:
        for loc in _sitemap_locs(sitemap_url):
            if robots is not None and not robots.can_fetch(loc, crawler_settings.USER_AGENT):
                continue
            product_urls.append(loc)
    prefixes: dict[str, int] = {}
    for loc in product_urls[:40]:
        try:
            fetched = fetch(loc)
            if fetched.status != 200:
                continue
            fields = product_from_page(parse_page(fetched.body, fetched.url, fetched.charset))
        except Exception:
            continue
        if fields and fields["provenance"].get("title") != "html":
            segment = re.match(r"^/[^/]+/", urlparse(loc).path)
            if segment:
                prefixes[segment.group(0)] = prefixes.get(segment.group(0), 0) + 1
        if sum(prefixes.values()) >= 3:
            break
    if not prefixes:
        notes.append("no schema.org Product pages found in the sitemaps")
        return {"platform": None, "notes": notes, "shop": None}
    shop = {
        "name": name,
        "platform": "sitemap",
        "base_url": base,
        "product_url_patterns": sorted(prefixes),
    }
    if sitemaps != [f"{base}/sitemap.xml"]:
        shop["sitemap_urls"] = sitemaps
    notes.append(f"schema.org Product pages under {', '.join(sorted(prefixes))}")
    return {"platform": "sitemap", "notes": notes, "shop": shop}


def shop_toml(shop: dict[str, Any]) -> str:
    lines = ["[[shop]]"]
    for key, value in shop.items():
        lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines)


class RobotsDisallowed(ValueError):
    """robots.txt forbids serumscope a URL: it is not fetched."""


class PoliteFetcher:
    """``fetch`` that obeys each host's robots.txt as a crawl does (a missing one allows all)."""

    def __init__(self) -> None:
        self.robots: dict[str, Protego | None] = {}

    def check(self, url: str) -> None:
        parsed = urlparse(url)
        base = f"{parsed.scheme}://{parsed.netloc}"
        if base not in self.robots:
            self.robots[base] = _robots(base)[0]
        robots = self.robots[base]
        if robots is not None and not robots.can_fetch(url, crawler_settings.USER_AGENT):
            raise RobotsDisallowed(
                f"{url}: disallowed by {base}/robots.txt, so serumscope does not fetch it"
            )

    def get(self, url: str) -> Fetched:
        self.check(url)
        return fetch(url)

    def json_or_none(self, url: str) -> Any:
        self.check(url)
        return _json_or_none(url)


def inspect(url: str, shop: str = "inspect") -> dict[str, Any]:
    """The listing serumscope would store for one product URL (Shopify product, Store API product or
    product page), with ``provenance`` per field and the relevance verdict: read by the spiders'
    extraction functions, then tidied and judged by the functions the crawl's pipelines call.
    Obeys robots.txt: a disallowed URL raises RobotsDisallowed before anything but robots.txt is
    fetched."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"{url!r} is not a product address: give it with http:// or https://")
    polite = PoliteFetcher()
    polite.check(url)
    base = f"{parsed.scheme}://{parsed.netloc}"
    match = re.match(r"^(.*/products/[^/?#.]+)/?$", parsed.path)
    if match:
        data = polite.json_or_none(f"{base}{match.group(1)}.json")
        if isinstance(data, dict) and isinstance(data.get("product"), dict):
            product = data["product"]
            fields, provenance, variants = listing_fields_from_shopify(product)
            try:
                currency = shop_currency(data)
            except ValueError:
                currency = None
            fill_currency(variants, currency)
            listing = make_listing(shop=shop, platform="shopify",
                                   url=f"{base}/products/{product.get('handle')}",
                                   canonical_id=str(product.get("id")), fields=fields,
                                   provenance=provenance, variants=variants)  # fmt: skip
            return _as_stored(listing)
    if API_PATH in parsed.path:
        fetched = polite.get(url)
        if fetched.status != 200:
            raise ValueError(f"{url}: HTTP {fetched.status}")
        product = fetched.json()
        if not isinstance(product, dict):
            raise ValueError(f"{url}: not a Store API product")
        variations = [
            polite.json_or_none(f"{base}{API_PATH}/{v.get('id')}")
            for v in product.get("variations") or []
            if isinstance(v, dict)
        ]
        fields, provenance, variants = listing_fields_from_woocommerce(
            product, [v for v in variations if isinstance(v, dict)]
        )
        permalink = clean(product.get("permalink"))
        problems = _complete_from_page(polite, permalink, fields, provenance)
        listing = make_listing(shop=shop, platform="woocommerce",
                               url=permalink or f"{base}/?p={product.get('id')}",
                               canonical_id=str(product.get("id")),
                               fields=fields, provenance=provenance, variants=variants)  # fmt: skip
        listing["page_errors"] = problems
        return _as_stored(listing)
    fetched = polite.get(url)
    if fetched.status != 200:
        raise ValueError(f"{url}: HTTP {fetched.status}")
    page = parse_page(fetched.body, fetched.url, fetched.charset)
    fields = product_from_page(page)
    if fields is None:
        raise ValueError(f"{url}: no product found on the page")
    canonical = fields.pop("canonical_url")
    listing = make_listing(shop=shop, platform="sitemap", url=canonical,
                           canonical_id=url_key(urljoin(url, canonical)),
                           fields=fields, provenance=fields.pop("provenance"),
                           variants=fields.get("variants", []))  # fmt: skip
    listing["page_errors"] = page.errors
    return _as_stored(listing)


def _complete_from_page(
    polite: PoliteFetcher, permalink: str | None, fields: dict, provenance: dict
) -> list[str]:
    """What the WooCommerce spider does for fields the Store API lacks; returns the problems met."""
    missing = fields_missing_from_api(fields)
    if not missing or not permalink:
        return []
    try:
        fetched = polite.get(permalink)
        if fetched.status != 200:
            raise ValueError(f"HTTP {fetched.status}")
        page_fields = product_from_page(parse_page(fetched.body, fetched.url, fetched.charset))
    except (OSError, ValueError) as error:
        return [f"product page for missing fields ({', '.join(missing)}): {error}"]
    fill_from_page(fields, provenance, page_fields, missing)
    return []


def _as_stored(listing: dict[str, Any]) -> dict[str, Any]:
    """The listing as the pipelines pass it to the store (normalise → relevance → input hash)."""
    normalise_listing(listing)
    listing.update(relevance_columns(listing))
    listing["input_hash"] = input_hash(listing)
    return listing
