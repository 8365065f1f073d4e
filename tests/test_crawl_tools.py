"""The sites file loader, `serumscope detect` / `inspect` against the demo shops, the example custom
spider, and the small readers the spiders share (example tables)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from fault_servers import FaultShop

from crawler.extract.fields import size_in
from crawler.extract.ingredients import find_ingredients_in_html
from crawler.extract.money import decimal_string, from_minor_units, regular_price_if_higher
from crawler.middlewares import retry_after_seconds
from crawler.probe import detect, inspect
from crawler.sites import SitesError, load_sites
from serumscope.cli import cli
from serumscope.demo import build_catalog
from serumscope.paths import DEFAULT_SITES

GOOD_SHOP = '[[shop]]\nname = "a-shop"\nplatform = "shopify"\nbase_url = "http://127.0.0.1:9"\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[shop]]\nplatform = 'shopify'\nbase_url = 'http://127.0.0.1:9'\n", "missing required field 'name'"),
        (GOOD_SHOP.replace('"shopify"', '"magento"'), "field 'platform' is 'magento'"),
        (GOOD_SHOP.replace('"a-shop"', '"A Shop"'), "field 'name' must use only"),
        (GOOD_SHOP.replace("http://127.0.0.1:9", "ftp://x"), "field 'base_url' must be an http(s) URL"),
        (GOOD_SHOP + "collections = 'vitamin-c'\n", "field 'collections' must be a list"),
        (GOOD_SHOP + "colections = ['x']\n", "unknown field(s) colections"),
        (GOOD_SHOP + "product_url_patterns = ['(']\n", "bad regex"),
        (GOOD_SHOP + GOOD_SHOP, "is used twice"),
        ("[[shop]\n", "not valid TOML"),
    ],
)  # fmt: skip
def test_sites_file_errors_name_file_shop_and_field(tmp_path, text, message):
    path = tmp_path / "sites.toml"
    path.write_text(text)
    with pytest.raises(SitesError) as error:
        load_sites(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_sites_file_accepts_custom_spiders_and_skips_disabled(tmp_path):
    path = tmp_path / "sites.toml"
    path.write_text(
        GOOD_SHOP.replace('"shopify"', '"shopify-brand-tags"')
        + GOOD_SHOP.replace("a-shop", "off") + "enabled = false\n"
    )  # fmt: skip
    assert [s["name"] for s in load_sites(path)] == ["a-shop"]


def test_default_sites_file_is_valid_and_documents_every_platform():
    text = DEFAULT_SITES.read_text()
    load_sites(DEFAULT_SITES)
    for platform in ("shopify", "woocommerce", "sitemap"):
        assert f'# platform = "{platform}"' in text


def test_detect_recognises_each_demo_platform(demo_shops):
    urls = demo_shops.urls
    assert detect(urls["shopify"])["platform"] == "shopify"
    assert detect(urls["woocommerce"])["platform"] == "woocommerce"
    retailer = detect(urls["retailer"])
    assert retailer["platform"] == "sitemap"
    assert "/products/" in retailer["shop"]["product_url_patterns"]
    result = CliRunner().invoke(cli, ["detect", urls["woocommerce"]])
    assert result.exit_code == 0
    assert 'platform = "woocommerce"' in result.output


def test_inspect_shows_fields_with_their_source(demo_shops):
    catalog = build_catalog(day=1)
    product = catalog.find("shopify", "serumtologie-c-serum")
    listing = inspect(f"{demo_shops.urls['shopify']}/products/serumtologie-c-serum")
    assert listing["title"] == product["title"]
    assert listing["provenance"]["ingredients_text"] == "api"
    assert product["ingredients"] in listing["ingredients_text"]
    assert listing["is_candidate"] == 1
    page_product = next(
        p for p in catalog.products["retailer"] if p["page"].get("markup") == "microdata"
    )
    page = inspect(f"{demo_shops.urls['retailer']}/products/{page_product['slug']}")
    assert page["provenance"]["title"] == "microdata"
    assert page["provenance"]["ingredients_text"] == "html"
    assert [Decimal(v["price"]) for v in page["variants"]] == [
        Decimal(v["price"]) for v in page_product["variants"]
    ]
    result = CliRunner().invoke(
        cli, ["inspect", f"{demo_shops.urls['retailer']}/products/{page_product['slug']}"]
    )
    assert result.exit_code == 0
    assert "[microdata]" in result.output and "[html     ]" in result.output


def test_custom_spider_overrides_a_hook(tmp_path):
    with FaultShop() as shop:
        sites = tmp_path / "sites.toml"
        sites.write_text(
            f'[[shop]]\nname = "tagged"\nplatform = "shopify-brand-tags"\nbase_url = "{shop.base_url}"\n'
        )
        db = tmp_path / "custom.db"
        result = subprocess.run(
            [str(Path(sys.executable).parent / "serumscope"), "crawl", "--sites", str(sites),
             "--db", str(db), "--json", "-s", "SERUMSCOPE_PROGRESS_INTERVAL=0.05"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["shops"]["tagged"]["status"] == "ok"
    assert "[tagged] done: " in result.stderr and "1 listings, 0 errors" in result.stderr
    with sqlite3.connect(db) as conn:
        brand, tags, platform = conn.execute(
            "select brand, tags, platform from listings"
        ).fetchone()
    assert brand == "Faultline Labs"
    assert json.loads(tags) == ["vitamin c"]
    assert platform == "shopify-brand-tags"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("24.50", "24.50"),
        (24.5, "24.5"),
        ("$1,299.00", "1299.00"),
        ("", None),
        ("sold out", None),
        (None, None),
        ("1e2", "100"),
        ("1e999999", None),  # would print a million digits
        ("1E-999999", None),
        ("0E-999999", None),
        ("NaN", None),
        ("Infinity", None),
        ("-5", None),
        ("12345678", None),  # no serum costs tens of millions
        ("1234567.00", "1234567.00"),
    ],
)
def test_decimal_string(raw, expected):
    assert decimal_string(raw) == expected


@pytest.mark.parametrize(
    ("raw", "minor", "expected"),
    [
        ("2450", 2, "24.50"),
        ("1999", 2, "19.99"),
        ("500", 0, "500"),
        ("12345", 3, "12.345"),
        ("x", 2, None),
        ("1e999999", 2, None),
        ("2450", 999999999, None),
        ("NaN", 2, None),
    ],
)
def test_minor_units_are_exact(raw, minor, expected):
    assert from_minor_units(raw, minor) == expected


@pytest.mark.parametrize(
    ("regular", "price", "expected"),
    [
        ("30.00", "24.50", "30.00"),
        ("9.00", "24.50", None),  # a "regular" price below the price paid is no sale
        ("24.5", "24.50", None),  # equal numbers written differently
        (None, "24.50", None),
        ("30.00", None, None),
    ],
)
def test_regular_price_only_when_higher(regular, price, expected):
    assert regular_price_if_higher(regular, price) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30ml", "30ml"), ("1 fl oz", "1 fl oz"), ("1.0 oz / 30 mL", "1.0 oz / 30 mL"),
     ("Twin pack 2 x 15 ml", "2 x 15 ml"), ("Default Title", None)],
)  # fmt: skip
def test_size_in(text, expected):
    assert size_in(text) == expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<h3>Ingredients</h3><p>Aqua, Ascorbic Acid</p><h3>How to use</h3><p>Daily.</p>", "Aqua, Ascorbic Acid"),
        ("<details><summary>Full Ingredients List</summary><p>Aqua, Glycerin</p></details>", "Aqua, Glycerin"),
        ("<button aria-controls='t'>INCI</button><div id='t'>Water, Ethyl Ascorbic Acid</div>", "Water, Ethyl Ascorbic Acid"),
        ("<p><strong>Ingredients:</strong> Aqua, Tocopherol</p>", "Aqua, Tocopherol"),
        ("<dl><dt>Ingredients</dt><dd>Aqua, Squalane</dd></dl>", "Aqua, Squalane"),
        ("<h3>Key ingredients</h3><p>Vitamin C</p>", None),
    ],
)  # fmt: skip
def test_ingredients_are_found_under_their_labels(html, expected):
    found = find_ingredients_in_html(html)
    assert (found.text if found else None) == expected


def test_retry_after_header_forms():
    assert retry_after_seconds(b"7") == 7.0
    assert retry_after_seconds(b"not a date") is None
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_crawl_exits_non_zero_when_every_shop_fails(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sites = tmp_path / "sites.toml"
    sites.write_text(
        f'[[shop]]\nname = "down"\nplatform = "shopify"\nbase_url = "http://127.0.0.1:{port}"\n'
    )
    db = tmp_path / "down.db"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "serumscope"), "crawl", "--sites", str(sites),
         "--db", str(db), "--quiet", "-s", "RETRY_TIMES=0"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "down" in result.stdout and "failed" in result.stdout
    with sqlite3.connect(db) as conn:
        kinds = {row[0] for row in conn.execute("select kind from crawl_errors")}
        status = conn.execute("select status from crawl_runs").fetchone()[0]
    assert "connection" in kinds
    assert status == "failed"


def test_page_fallbacks_opengraph_price_and_struck_regular_price():
    from crawler.extract.page import parse_page, product_from_page

    html = b"""<html><head><meta property="og:type" content="product">
    <meta property="og:title" content="Sunny C Serum 30 ml">
    <meta property="product:price:amount" content="24.00">
    <meta property="product:price:currency" content="EUR"></head>
    <body><main><h1>Sunny C Serum 30 ml</h1><p class="price"><del>&euro;30,00</del> &euro;24,00</p>
    <div class="product-description"><p>15% vitamin C.</p></div>
    <details><summary>INCI</summary><p>Aqua, Ascorbic Acid</p></details></main></body></html>"""
    fields = product_from_page(parse_page(html, "http://127.0.0.1:1/p/sunny", "utf-8"))
    assert fields["provenance"]["title"] == "opengraph"
    assert fields["provenance"]["ingredients_text"] == "html"
    assert fields["variants"][0]["price"] == "24.00"
    assert fields["variants"][0]["currency"] == "EUR"
    assert fields["variants"][0]["regular_price"] == "30.00"
    assert fields["variants"][0]["size_text"] == "30 ml"
    assert fields["ingredients_text"] == "Aqua, Ascorbic Acid"


def test_shopify_paging_stops_when_the_shop_ignores_page(tmp_path):
    with FaultShop(feed_ignores_page=True) as shop:
        sites = tmp_path / "sites.toml"
        sites.write_text(
            f'[[shop]]\nname = "loop"\nplatform = "shopify"\nbase_url = "{shop.base_url}"\n'
        )
        result = subprocess.run(
            [str(Path(sys.executable).parent / "serumscope"), "crawl", "--sites", str(sites),
             "--db", str(tmp_path / "loop.db"), "--quiet", "--json"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        feed_requests = [p for _, p in shop.log if p.startswith("/products.json")]
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["shops"]["loop"]["listings"] == 1
    assert len(feed_requests) == 2


def test_scrapy_list_shows_platform_and_custom_spiders():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "scrapy"), "list"],
        capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert {"shopify", "woocommerce", "sitemap", "shopify-brand-tags"} <= set(result.stdout.split())


def test_a_regular_price_below_the_price_is_not_stored_by_any_platform():
    from crawler.extract.page import parse_page, product_from_page
    from crawler.platforms.shopify import listing_fields_from_shopify
    from crawler.platforms.woocommerce import variant_from_store_api

    shopify = {
        "title": "C Serum",
        "variants": [
            {"id": 1, "title": "30 ml", "price": "24.50", "compare_at_price": "9.00"},
            {"id": 2, "title": "60 ml", "price": "40.00", "compare_at_price": "50.00"},
        ],
    }
    variants = listing_fields_from_shopify(shopify)[2]
    assert [v["regular_price"] for v in variants] == [None, "50.00"]

    woo = {"prices": {"price": "2450", "regular_price": "900", "currency_minor_unit": 2}}
    assert variant_from_store_api(woo)["regular_price"] is None
    woo["prices"]["regular_price"] = "3000"
    assert variant_from_store_api(woo)["regular_price"] == "30.00"

    offer = {
        "@type": "Offer",
        "price": "24.50",
        "priceCurrency": "USD",
        "priceSpecification": {"priceType": "https://schema.org/ListPrice", "price": "9.00"},
    }
    page = (
        '<html><head><script type="application/ld+json">'
        + json.dumps(
            {
                "@context": "https://schema.org",
                "@type": "Product",
                "name": "C Serum",
                "offers": offer,
            }
        )  # fmt: skip
        + "</script></head><body><main><h1>C Serum</h1></main></body></html>"
    )
    fields = product_from_page(parse_page(page.encode(), "http://127.0.0.1/p"))
    assert fields["variants"][0]["price"] == "24.50"
    assert fields["variants"][0]["regular_price"] is None


def test_only_a_size_limit_is_classified_as_oversize():
    from scrapy import Request
    from scrapy.exceptions import DownloadCancelledError
    from twisted.internet.defer import CancelledError
    from twisted.python.failure import Failure

    from crawler.platforms.base import BYTES_META, EXPECTED_BYTES_META, classify_failure

    def failure(error: Exception, **meta: int) -> Failure:
        failed = Failure(error)
        failed.request = Request("http://127.0.0.1/p", meta=meta)
        return failed

    cancelled = DownloadCancelledError("cancelled")
    announced = failure(cancelled, **{EXPECTED_BYTES_META: 9_000_000})
    assert classify_failure(announced, maxsize=8_388_608)[0] == "oversize"
    streamed = failure(cancelled, **{BYTES_META: 9_000_000})
    assert classify_failure(streamed, maxsize=8_388_608)[:2] == ("oversize", None)
    assert classify_failure(failure(cancelled, **{BYTES_META: 10}), maxsize=8_388_608)[0] == (
        "connection"
    )
    too_large_words = DownloadCancelledError("larger than download max size (8388608)")
    assert classify_failure(failure(too_large_words), maxsize=8_388_608)[0] == "connection"
    assert classify_failure(Failure(CancelledError()))[0] == "error"


def test_refusals_are_classified_by_their_type():
    from twisted.python.failure import Failure

    from crawler.middlewares import ForbiddenByRobots, OffsiteRequest, RedirectRefused
    from crawler.platforms.base import classify_failure

    assert classify_failure(Failure(ForbiddenByRobots("no")))[0] == "robots"
    assert classify_failure(Failure(OffsiteRequest("no")))[0] == "offsite"
    assert classify_failure(Failure(RedirectRefused("no")))[0] == "redirect"
    assert classify_failure(Failure(ForbiddenByRobots("max redirections reached")))[0] == "robots"


def test_scrapy_inspect_runs_the_spider_and_stores_nothing(demo_shops, tmp_path):
    db = tmp_path / "untouched.db"
    url = f"{demo_shops.urls['shopify']}/products/serumtologie-c-serum"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "scrapy"), "inspect", url],
        capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "SERUMSCOPE_DB": str(db)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    listing = json.loads(result.stdout)["listing"]
    assert (listing["platform"], listing["is_candidate"]) == ("shopify", 1)
    assert not db.exists()
