"""Re-crawls where the shop changed or a secondary request failed: variants that left a listing are
marked gone (and not scored), fields a failed sub-request could not read keep their stored values,
products without an id and pages no parser foresaw are recorded as errors instead of lost or fatal."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from serumscope.evaluation_store import listing_dicts
from serumscope.store.database import open_db

FAST_SETTINGS = [
    "-s", "DOWNLOAD_TIMEOUT=2", "-s", "RETRY_TIMES=0", "-s", "AUTOTHROTTLE_ENABLED=false",
    "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
]  # fmt: skip
BODY = (
    "<p>A 15% vitamin C serum in an amber glass dropper.</p>"
    "<h3>Ingredients</h3><p>Aqua, Ascorbic Acid, Glycerin</p>"
)


class RouteShop:
    """A 127.0.0.1 server answering from ``routes``: path (with its query, else without) ->
    (status, body, type). Tests change ``routes`` between crawls."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, str, str]] = {}
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                status, body, content_type = shop.routes.get(
                    self.path,
                    shop.routes.get(self.path.split("?", 1)[0], (404, "not found", "text/plain")),
                )
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                if self.path.startswith("/wp-json/"):
                    self.send_header("X-WP-TotalPages", "1")
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def json(self, path: str, data: object, status: int = 200) -> None:
        self.routes[path] = (status, json.dumps(data), "application/json")

    def html(self, path: str, text: str, status: int = 200) -> None:
        self.routes[path] = (status, text, "text/html; charset=utf-8")

    def __enter__(self) -> RouteShop:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def crawl(tmp_path: Path, shop: RouteShop, platform: str, extra: str = "", *options: str) -> dict:
    sites, db = tmp_path / "sites.toml", tmp_path / "shop.db"
    sites.write_text(
        f'[[shop]]\nname = "{platform}"\nplatform = "{platform}"\n'
        f'base_url = "{shop.base_url}"\n{extra}'
    )
    done = subprocess.run(
        [str(Path(sys.executable).parent / "serumscope"), "crawl", "--sites", str(sites),
         "--db", str(db), "--quiet", "--json", *FAST_SETTINGS, *options],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def rows(tmp_path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(tmp_path / "shop.db") as conn:
        return conn.execute(sql, params).fetchall()


def errors(tmp_path: Path, run_id: int) -> list[tuple]:
    return rows(tmp_path, "select kind, message from crawl_errors where run_id = ?", (run_id,))


def shopify_product(variants: list[dict], **extra) -> dict:
    return {"id": 7, "title": "Bright C Serum", "handle": "bright-c", "body_html": BODY,
            "vendor": "Lumen", "product_type": "Serum", "variants": variants, **extra}  # fmt: skip


THIRTY = {"id": 71, "title": "30 mL", "price": "24.00", "available": True}
SIXTY = {"id": 72, "title": "60 mL", "price": "40.00", "available": True}


def test_shopify_variant_that_left_is_gone_and_a_failed_currency_lookup_keeps_the_currency(
    tmp_path,
):
    with RouteShop() as shop:
        currency = {"product": {"variants": [{"price_currency": "EUR"}]}}
        shop.json("/products/bright-c.json", currency)
        nameless = {"title": "Mystery C Serum", "handle": "mystery", "variants": [THIRTY]}
        products = ["not a product", shopify_product([THIRTY, SIXTY]), nameless, dict(nameless)]
        shop.json("/products.json", {"products": products})
        shop.json("/products.json?limit=250&page=2", {"products": []})
        first = crawl(tmp_path, shop, "shopify")
        assert rows(tmp_path, "select id, currency, gone_since from variants order by id") == [
            ("shopify:7:71", "EUR", None),
            ("shopify:7:72", "EUR", None),
        ]
        messages = [m for kind, m in errors(tmp_path, first["run_id"]) if kind == "parse"]
        assert messages.count("product without id: 'Mystery C Serum'") == 2
        assert any(m.startswith("product is not an object") for m in messages)

        shop.json("/products.json", {"products": [shopify_product([THIRTY])]})
        shop.json("/products/bright-c.json", {"error": "busy"}, status=500)
        second = crawl(tmp_path, shop, "shopify")
        stored = dict(rows(tmp_path, "select id, gone_since from variants"))
        assert stored["shopify:7:71"] is None
        assert stored["shopify:7:72"] is not None  # 60 mL is no longer offered
        # the shop currency could not be read this time: the stored one stays
        assert rows(tmp_path, "select currency from variants where id = 'shopify:7:71'") == [
            ("EUR",)
        ]
        assert "currency" in {kind for kind, _ in errors(tmp_path, second["run_id"])}

        db = open_db(tmp_path / "shop.db")
        [listing] = listing_dicts(db, ["shopify:7"])
        assert [v["title"] for v in listing["variants"]] == ["30 mL"]

        shop.json("/products.json", {"products": [shopify_product([THIRTY, SIXTY])]})
        crawl(tmp_path, shop, "shopify")
        assert rows(tmp_path, "select count(*) from variants where gone_since is not null") == [
            (0,)
        ]


API = "/wp-json/wc/store/v1/products"


def woo_product(variation_ids: list[int]) -> dict:
    return {
        "id": 5, "name": "Daily C Serum", "permalink": "",  # set per shop
        "description": "<p>A 15% vitamin C serum in an amber glass dropper.</p>",
        "prices": {"price": "2400", "regular_price": "2400", "currency_code": "USD",
                   "currency_minor_unit": 2},
        "variations": [{"id": i} for i in variation_ids], "is_in_stock": True,
    }  # fmt: skip


def woo_variation(variation_id: int, label: str, cents: str) -> dict:
    return {"id": variation_id, "variation": f"Size: {label}", "is_in_stock": True,
            "prices": {"price": cents, "regular_price": cents, "currency_code": "USD",
                       "currency_minor_unit": 2}}  # fmt: skip


PRODUCT_PAGE = """<html><head><script type="application/ld+json">{}</script></head>
<body><main><h1>Daily C Serum</h1></main></body></html>""".format(
    json.dumps(
        [
            {"@context": "https://schema.org", "@type": "Product", "name": "Daily C Serum",
             "brand": {"@type": "Brand", "name": "Sunbeam"}},
            {"@context": "https://schema.org", "@type": "BreadcrumbList", "itemListElement": [
                {"@type": "ListItem", "position": "first", "name": "Skin care"},
                {"@type": "ListItem", "position": 2, "name": "Serums"}]},
        ]
    )
)  # fmt: skip


def test_woocommerce_failed_sub_requests_keep_the_stored_fields_and_variants(tmp_path):
    with RouteShop() as shop:
        product = woo_product([51, 52])
        product["permalink"] = f"{shop.base_url}/product/daily-c"
        shop.json(API, [product, {"name": "No id serum"}])
        shop.json(f"{API}/51", woo_variation(51, "30 mL", "2400"))
        shop.json(f"{API}/52", woo_variation(52, "60 mL", "4000"))
        shop.html("/product/daily-c", PRODUCT_PAGE)
        first = crawl(tmp_path, shop, "woocommerce")
        columns = "brand, categories"
        assert rows(tmp_path, f"select {columns} from listings") == [
            ("Sunbeam", json.dumps(["Skin care", "Serums"]))
        ]
        stored_variants = rows(tmp_path, "select id, price from variants order by id")
        assert stored_variants == [("woocommerce:5:51", "24.00"), ("woocommerce:5:52", "40.00")]
        assert ("parse", "product without id: 'No id serum'") in errors(tmp_path, first["run_id"])

        # Day 2: the product page and one variation fail; the other variation's price changed
        # (the product object stays the same: only a full crawl reads its variations again).
        shop.html("/product/daily-c", "busy", status=503)
        shop.json(f"{API}/51", woo_variation(51, "30 mL", "2200"))
        shop.json(f"{API}/52", {"message": "busy"}, status=503)
        assert crawl(tmp_path, shop, "woocommerce")["shops"]["woocommerce"]["unchanged"] == 1
        assert rows(tmp_path, "select price from variants order by id") == [("24.00",), ("40.00",)]
        second = crawl(tmp_path, shop, "woocommerce", "", "--full")
        kinds = {kind for kind, _ in errors(tmp_path, second["run_id"])}
        assert {"page", "variation"} <= kinds
        assert rows(tmp_path, f"select {columns} from listings") == [
            ("Sunbeam", json.dumps(["Skin care", "Serums"]))
        ]
        assert rows(tmp_path, "select id, price, gone_since from variants order by id") == [
            ("woocommerce:5:51", "22.00", None),
            ("woocommerce:5:52", "40.00", None),
        ]

        # Day 3: every variation fails: no product-level variant is invented over the stored ones.
        shop.json(f"{API}/51", {"message": "busy"}, status=503)
        third = crawl(tmp_path, shop, "woocommerce")  # read in part on day 2: read again
        assert third["shops"]["woocommerce"]["unchanged"] == 0
        assert rows(tmp_path, "select id, gone_since from variants order by id") == [
            ("woocommerce:5:51", None),
            ("woocommerce:5:52", None),
        ]


def test_pages_no_parser_foresaw_are_recorded_not_fatal(tmp_path):
    with RouteShop() as shop:
        shop.routes["/robots.txt"] = (200, f"Sitemap: {shop.base_url}/sitemap.xml\n", "text/plain")
        urls = [f"{shop.base_url}/products/{n}" for n in ("crumbs", "empty")]
        locs = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
        sitemap = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'
        shop.routes["/sitemap.xml"] = (200, sitemap, "application/xml")
        shop.html("/products/crumbs", PRODUCT_PAGE)
        shop.html("/products/empty", PRODUCT_PAGE.replace("Daily", "Empty"))
        crawl(tmp_path, shop, "sitemap")
        assert rows(tmp_path, "select title, categories from listings order by title") == [
            ("Daily C Serum", json.dumps(["Skin care", "Serums"])),
            ("Empty C Serum", json.dumps(["Skin care", "Serums"])),
        ]

        shop.html("/products/empty", "  \n ")
        second = crawl(tmp_path, shop, "sitemap")
        assert ("parse", "unreadable HTML: Document is empty") in errors(tmp_path, second["run_id"])
        assert rows(tmp_path, "select count(*) from listings where title = 'Empty C Serum'") == [
            (1,)
        ]


def test_a_price_that_is_no_price_is_counted_invalid_not_stored(tmp_path):
    with RouteShop() as shop:
        shop.json("/products/bright-c.json", {"product": {"variants": [{"price_currency": "USD"}]}})
        huge = {**THIRTY, "price": "1e999999", "compare_at_price": "1e999999"}
        shop.json("/products.json", {"products": [shopify_product([huge, SIXTY])]})
        shop.json("/products.json?limit=250&page=2", {"products": []})
        summary = crawl(tmp_path, shop, "shopify")
        assert summary["shops"]["shopify"]["fields_invalid"].get("price") == 1
        assert rows(tmp_path, "select id, price, regular_price from variants order by id") == [
            ("shopify:7:71", None, None),
            ("shopify:7:72", "40.00", None),
        ]
