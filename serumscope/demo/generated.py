"""A generated shop of N product pages (~20 KB each: JSON-LD, an ingredients accordion, a storefront's
navigation and reviews) behind a sitemap index, for crawl benchmarks (bench/crawl.py, bench/scaleout.py)
and the distributed crawl's tests. ``GeneratedShop`` serves it like a demo shop, optionally answering
each request after a fixed delay (a remote shop)."""

from __future__ import annotations

import json
import random
import threading
import time

from serumscope.demo.http import Response, ServedShops

FORMS = [
    ("L-Ascorbic Acid", "Aqua, L-Ascorbic Acid, Propanediol, Glycerin, Ferulic Acid, Tocopherol"),
    ("Sodium Ascorbyl Phosphate", "Aqua, Sodium Ascorbyl Phosphate, Glycerin, Sodium Hyaluronate"),
    ("Ethyl Ascorbic Acid", "Aqua, 3-O-Ethyl Ascorbic Acid, Butylene Glycol, Niacinamide"),
    ("Tetrahexyldecyl Ascorbate", "Squalane, Tetrahexyldecyl Ascorbate, Tocopherol, Jojoba Oil"),
]
FILLER = (
    "Our lab writes every formula in plain words. This paragraph is here so the page weighs what a real "
    "shop page weighs: navigation, reviews, shipping notes and the rest of a storefront. "
)


def product_page(n: int, base: str) -> str:
    rng = random.Random(n)
    form, inci = FORMS[n % len(FORMS)]
    percent = rng.choice([5, 10, 12, 15, 20, 23])
    price = f"{rng.randint(12, 80)}.{rng.choice(['00', '50', '99'])}"
    title = f"Bench {percent}% Vitamin C Serum No. {n}"
    data = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": title,
        "sku": f"B-{n}",
        "brand": {"@type": "Brand", "name": f"Brand {n % 50}"},
        "description": f"A {percent}% {form} serum in an amber glass dropper bottle, 30 ml.",
        "image": [f"{base}/img/{n}.jpg"],
        "offers": {
            "@type": "Offer",
            "price": price,
            "priceCurrency": "USD",
            "availability": "https://schema.org/InStock",
        },
    }
    nav = "".join(f'<li><a href="/c/{i}">Category {i}</a></li>' for i in range(40))
    reviews = "".join(f"<div class='review'><p>{FILLER * 2}</p></div>" for _ in range(40))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="canonical" href="{base}/products/p{n}.html">
<script type="application/ld+json">{json.dumps(data)}</script>
<meta property="og:title" content="{title}"><meta property="og:type" content="product">
</head><body><header><nav><ul>{nav}</ul></nav></header><main>
<nav aria-label="breadcrumb"><ol><li><a href="/">Home</a></li><li><a href="/c/serums">Serums</a></li></ol></nav>
<h1>{title}</h1><img src="/img/{n}.jpg" alt="{title} amber bottle">
<p class="price">${price}</p>
<div class="product-description"><p>{percent}% {form}. {FILLER}</p><p>{FILLER * 3}</p></div>
<details><summary>Full Ingredients List</summary><p>{inci}, Phenoxyethanol</p></details>
<section class="reviews">{reviews}</section></main>
<footer><p>{FILLER * 4}</p></footer></body></html>"""


def build_site(pages: int, base: str, sitemaps: int = 1) -> dict[str, bytes]:
    """The shop's files by path. With ``sitemaps`` > 1 the products are split over that many child
    sitemaps, each also listing the next one's products (as a shop's category sitemaps share
    products): every product is listed twice."""
    paths = [f"/products/p{n}.html" for n in range(pages)]
    files = {path: product_page(n, base).encode() for n, path in enumerate(paths)}
    if sitemaps == 1:
        children = {"/sitemap-products.xml": paths}
    else:
        parts = [paths[i::sitemaps] for i in range(sitemaps)]
        children = {
            f"/sitemap-products-{i}.xml": parts[i] + parts[(i + 1) % sitemaps]
            for i in range(sitemaps)
        }
    for child, listed in children.items():
        locs = "".join(f"<url><loc>{base}{path}</loc></url>" for path in listed)
        files[child] = (
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{locs}</urlset>"
        ).encode()
    index = "".join(f"<sitemap><loc>{base}{child}</loc></sitemap>" for child in children)
    files["/sitemap.xml"] = (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{index}</sitemapindex>"
    ).encode()
    files["/robots.txt"] = f"User-agent: *\nDisallow: /cart\nSitemap: {base}/sitemap.xml\n".encode()
    return files


class GeneratedShop:
    """The generated site as a demo Shop (serumscope.demo.http): ``delay`` seconds per answer;
    ``sitemaps`` as ``build_site``'s."""

    def __init__(self, pages: int, delay: float = 0.0, sitemaps: int = 1) -> None:
        self.pages = pages
        self.delay = delay
        self.sitemaps = sitemaps
        self.base_url = ""
        self.files: dict[str, bytes] = {}
        self.lock = threading.Lock()

    def respond(self, path: str, query: dict[str, list[str]]) -> Response:
        with self.lock:
            if not self.files:
                self.files = build_site(self.pages, self.base_url, self.sitemaps)
        if self.delay:
            time.sleep(self.delay)
        body = self.files.get(path)
        if body is None:
            return Response(404, b"not found", "text/plain")
        kind = "application/xml" if path.endswith(".xml") else "text/html; charset=utf-8"
        return Response(200, body, "text/plain" if path.endswith(".txt") else kind)


class GeneratedShops(ServedShops):
    """One generated shop on 127.0.0.1, named ``name``; a context manager."""

    def __init__(
        self, pages: int, delay: float = 0.0, name: str = "generated", sitemaps: int = 1
    ) -> None:
        self.servers = {}
        self.name = name
        self.shop = GeneratedShop(pages, delay, sitemaps)

    def served(self):
        yield self.name, self.shop

    def sites_entry(self) -> dict:
        base = self.servers[self.name].url
        return {
            "name": self.name,
            "platform": "sitemap",
            "base_url": base,
            "sitemap_urls": [f"{base}/sitemap.xml"],
        }
