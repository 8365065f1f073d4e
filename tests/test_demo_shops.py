"""The demo shops follow the real platforms' conventions, checked with a plain HTTP client."""

import math
import re
import socket
from decimal import Decimal
from html import escape as escape_html
from urllib.robotparser import RobotFileParser

import extruct
import pytest
from lxml import etree

SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
PRICE_STRING = re.compile(r"^\d+\.\d{2}$")


def structured(response, syntaxes=("json-ld", "microdata", "opengraph")):
    return extruct.extract(response.text, base_url=str(response.url), syntaxes=list(syntaxes))


def retailer_url(demo_shops, product):
    return f"{demo_shops.urls['retailer']}/{product['page'].get('section', 'products')}/{product['slug']}"


# --- Shopify ---------------------------------------------------------------------------------


def test_shopify_pagination_walks_every_product_then_ends_with_an_empty_page(
    demo_shops, client, catalog
):
    base = demo_shops.urls["shopify"]
    handles, page = [], 1
    while True:
        products = client.get(f"{base}/products.json", params={"limit": 7, "page": page}).json()[
            "products"
        ]
        if not products:
            break
        assert len(products) <= 7
        handles += [p["handle"] for p in products]
        page += 1
    assert page == math.ceil(len(catalog.products["shopify"]) / 7) + 1
    assert sorted(handles) == sorted(p["slug"] for p in catalog.products["shopify"])
    assert client.get(f"{base}/products.json", params={"page": 99}).json() == {"products": []}


@pytest.mark.parametrize(
    "params", [{}, {"limit": "abc"}, {"limit": 0}, {"page": 0}, {"page": -3}, {"page": "x"}]
)
def test_shopify_reads_bad_numbers_as_defaults(demo_shops, client, catalog, params):
    response = client.get(f"{demo_shops.urls['shopify']}/products.json", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    expected = min(30, len(catalog.products["shopify"]))
    assert len(response.json()["products"]) == expected


def test_shopify_product_objects_have_the_storefront_shape(demo_shops, client, catalog):
    products = client.get(f"{demo_shops.urls['shopify']}/products.json?limit=250").json()[
        "products"
    ]
    by_handle = {p["slug"]: p for p in catalog.products["shopify"]}
    for product in products:
        assert {"id", "title", "handle", "body_html", "vendor", "product_type", "tags"} <= set(
            product
        )
        assert {"variants", "images", "options", "published_at", "updated_at"} <= set(product)
        assert isinstance(product["id"], int) and isinstance(product["tags"], list)
        source = by_handle[product["handle"]]
        assert product["title"] == source["title"] and product["vendor"] == source["brand"]
        for variant, data in zip(product["variants"], source["variants"], strict=True):
            assert set(variant) >= {"id", "title", "price", "sku", "available", "grams", "option1"}
            assert PRICE_STRING.match(variant["price"]) and variant["price"] == data["price"]
            assert variant["compare_at_price"] == data["compare_at_price"]
            assert variant["available"] is data["available"]
        for image in product["images"]:
            assert image["src"].startswith(demo_shops.urls["shopify"]) and "alt" in image
        if source.get("ingredients"):
            assert escape_html(source["ingredients"]) in product["body_html"]
            heading = source.get("ingredients_heading", "Ingredients:")
            assert escape_html(heading) in product["body_html"]


def test_shopify_single_product_json_and_page(demo_shops, client, catalog):
    base = demo_shops.urls["shopify"]
    product = catalog.find("shopify", "serumtologie-c-serum")
    single = client.get(f"{base}/products/serumtologie-c-serum.json").json()["product"]
    assert single["tags"] == ", ".join(product["tags"])
    assert single["variants"][0]["price"] == "29.00"
    page = client.get(f"{base}/products/serumtologie-c-serum")
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    (data,) = structured(page, ["json-ld"])["json-ld"]
    assert data["@type"] == "Product" and data["name"] == product["title"]
    assert data["offers"][0]["price"] == "29.00" and data["offers"][0]["priceCurrency"] == "USD"
    assert client.get(f"{base}/products/no-such-thing").status_code == 404
    assert client.get(f"{base}/products/no-such-thing.json").status_code == 404


def test_shopify_collections(demo_shops, client, catalog):
    base = demo_shops.urls["shopify"]
    handles = {
        p["handle"]
        for p in client.get(f"{base}/collections/vitamin-c/products.json?limit=250").json()[
            "products"
        ]
    }
    expected = {p["slug"] for p in catalog.products["shopify"] if "vitamin-c" in p["collections"]}
    assert handles == expected and handles
    everything = client.get(f"{base}/collections/all/products.json?limit=250").json()["products"]
    assert len(everything) == len(catalog.products["shopify"])
    assert client.get(f"{base}/collections/nope/products.json").status_code == 404


# --- WooCommerce -----------------------------------------------------------------------------


def test_woocommerce_store_api_pages_with_total_headers(demo_shops, client, catalog):
    api = f"{demo_shops.urls['woocommerce']}/wp-json/wc/store/v1/products"
    total = len(catalog.products["woocommerce"])
    seen, page = [], 1
    while True:
        response = client.get(api, params={"page": page, "per_page": 6})
        assert response.status_code == 200
        assert response.headers["X-WP-Total"] == str(total)
        assert response.headers["X-WP-TotalPages"] == str(math.ceil(total / 6))
        seen += response.json()
        if page >= int(response.headers["X-WP-TotalPages"]):
            assert 'rel="next"' not in response.headers.get("Link", "")
            break
        assert 'rel="next"' in response.headers["Link"]
        page += 1
    assert sorted(p["slug"] for p in seen) == sorted(
        p["slug"] for p in catalog.products["woocommerce"]
    )
    past_end = client.get(api, params={"page": page + 1, "per_page": 6})
    assert past_end.status_code == 200 and past_end.json() == []
    assert len(client.get(api).json()) == 10


def test_woocommerce_prices_are_minor_units(demo_shops, client, catalog):
    api = f"{demo_shops.urls['woocommerce']}/wp-json/wc/store/v1/products"
    by_slug = {p["slug"]: p for p in catalog.products["woocommerce"]}
    for product in client.get(api, params={"per_page": 100}).json():
        source = by_slug[product["slug"]]
        prices = product["prices"]
        assert prices["currency_code"] == "USD" and prices["currency_minor_unit"] == 2
        cheapest = min(Decimal(v["price"]) for v in source["variants"])
        assert Decimal(prices["price"]) / 100 == cheapest
        assert product["permalink"].endswith(f"/product/{source['slug']}/")
        assert {"id", "name", "description", "short_description", "sku", "attributes"} <= set(
            product
        )
        assert {"categories", "tags", "images", "variations", "is_in_stock"} <= set(product)
        assert product["is_in_stock"] is any(v["available"] for v in source["variants"])
        if len(source["variants"]) > 1:
            assert product["type"] == "variable" and len(product["variations"]) == len(
                source["variants"]
            )
            variation = client.get(f"{api}/{product['variations'][-1]['id']}").json()
            assert Decimal(variation["prices"]["price"]) / 100 == Decimal(
                source["variants"][-1]["price"]
            )
        if any(v["compare_at_price"] for v in source["variants"]):
            assert product["on_sale"] and prices["regular_price"] != prices["sale_price"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"per_page": 101}, "per_page must be between 0 (inclusive) and 100 (inclusive)"),
        ({"page": "abc"}, "page is not of type integer."),
        ({"page": 0}, "page must be greater than or equal to 1"),
    ],
)
def test_woocommerce_rejects_invalid_parameters_like_the_store_api(
    demo_shops, client, params, message
):
    api = f"{demo_shops.urls['woocommerce']}/wp-json/wc/store/v1/products"
    response = client.get(api, params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "rest_invalid_param" and message in body["data"]["params"].values()


def test_woocommerce_search_and_product_pages(demo_shops, client, catalog):
    base = demo_shops.urls["woocommerce"]
    found = client.get(f"{base}/wp-json/wc/store/v1/products", params={"search": "retinal"}).json()
    assert [p["slug"] for p in found] == ["peachleaf-retinal-serum"]
    page = client.get(f"{base}/product/skin-solutions-c-e-serum/")
    graph = structured(page, ["json-ld"])["json-ld"][0]["@graph"]
    product = next(node for node in graph if node["@type"] == "Product")
    assert product["offers"][0]["price"] == "36.00"
    assert catalog.find("woocommerce", "skin-solutions-c-e-serum")["ingredients"] in page.text
    redirect = client.get(f"{base}/product/skin-solutions-c-e-serum")
    assert redirect.status_code == 301 and redirect.headers["Location"].endswith("/")
    assert client.get(f"{base}/product/missing/").status_code == 404
    assert client.get(f"{base}/wp-json/wc/store/v1/products/1").status_code == 404
    assert client.get(f"{base}/wp-json/wc/v3/nothing").json()["code"] == "rest_no_route"


# --- Generic retailer ------------------------------------------------------------------------


def test_retailer_robots_txt_disallows_staff_picks_and_names_the_sitemap(
    demo_shops, client, catalog
):
    base = demo_shops.urls["retailer"]
    response = client.get(f"{base}/robots.txt")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert "Disallow: /staff-picks/" in response.text.splitlines()
    assert f"Sitemap: {base}/sitemap_index.xml" in response.text.splitlines()
    robots = RobotFileParser()
    robots.parse(response.text.splitlines())
    for product in catalog.products["retailer"]:
        allowed = robots.can_fetch("serumscope", retailer_url(demo_shops, product))
        assert allowed is not product["expected"].get("robots_disallowed", False)


def test_retailer_sitemaps_are_valid_xml_listing_every_product(demo_shops, client, catalog):
    base = demo_shops.urls["retailer"]
    index = etree.fromstring(client.get(f"{base}/sitemap_index.xml").content)
    assert index.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}sitemapindex"
    sitemaps = index.xpath("//sm:sitemap/sm:loc/text()", namespaces=SITEMAP_NS)
    assert [s.rsplit("/", 1)[1] for s in sitemaps] == [
        "sitemap-products-1.xml",
        "sitemap-products-2.xml",
        "sitemap-pages.xml",
    ]
    urls = []
    for sitemap in sitemaps:
        response = client.get(sitemap)
        assert response.headers["content-type"] == "application/xml; charset=utf-8"
        tree = etree.fromstring(response.content)
        assert tree.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}urlset"
        assert tree.xpath("count(//sm:url[not(sm:lastmod)])", namespaces=SITEMAP_NS) == 0
        urls += tree.xpath("//sm:url/sm:loc/text()", namespaces=SITEMAP_NS)
    expected = {retailer_url(demo_shops, p) for p in catalog.products["retailer"]}
    assert expected <= set(urls)
    assert any("/staff-picks/" in url for url in urls)
    for url in urls:
        assert client.get(url).status_code == 200


@pytest.mark.parametrize(
    ("shop", "product_path"), [("shopify", "/products/{}"), ("woocommerce", "/product/{}/")]
)
def test_platform_sitemaps_named_in_robots_txt_list_every_product(
    demo_shops, client, catalog, shop, product_path
):
    base = demo_shops.urls[shop]
    robots = client.get(f"{base}/robots.txt").text
    (index_url,) = re.findall(r"^Sitemap: (\S+)$", robots, flags=re.MULTILINE)
    index = etree.fromstring(client.get(index_url).content)
    urls = []
    for sitemap in index.xpath("//sm:sitemap/sm:loc/text()", namespaces=SITEMAP_NS):
        tree = etree.fromstring(client.get(sitemap).content)
        urls += tree.xpath("//sm:url/sm:loc/text()", namespaces=SITEMAP_NS)
    assert sorted(urls) == sorted(
        base + product_path.format(p["slug"]) for p in catalog.products[shop]
    )


def test_retailer_category_pages_paginate_with_rel_next(demo_shops, client, catalog):
    url = f"{demo_shops.urls['retailer']}/category/vitamin-c-serums/"
    seen, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        pages += 1
        seen += re.findall(r'class="product-card"><a href="([^"]+)"', response.text)
        found = re.search(r'<link rel="next" href="([^"]+)"', response.text)
        url = found.group(1) if found else None
    members = [
        p
        for p in catalog.products["retailer"]
        if p["page"].get("category") == "vitamin-c-serums" and "section" not in p["page"]
    ]
    assert pages >= 2
    assert sorted(seen) == sorted(retailer_url(demo_shops, p) for p in members)
    last = f"{demo_shops.urls['retailer']}/category/vitamin-c-serums/?page={pages + 1}"
    assert client.get(last).status_code == 404
    assert (
        client.get(f"{demo_shops.urls['retailer']}/category/vitamin-c-serums/?page=zz").status_code
        == 200
    )
    assert client.get(f"{demo_shops.urls['retailer']}/category/unknown/").status_code == 404


def test_retailer_product_pages_carry_data_in_every_real_world_form(demo_shops, client, catalog):
    markups_seen = set()
    for product in catalog.products["retailer"]:
        response = client.get(retailer_url(demo_shops, product))
        data = structured(response)
        markup = product["page"]["markup"]
        markups_seen.add(markup)
        first = product["variants"][0]
        currency = product.get("currency", "GBP")
        if markup.startswith("jsonld"):
            item = data["json-ld"][0]
            assert item["name"] == product["title"]
            assert {"BreadcrumbList"} <= {d["@type"] for d in data["json-ld"]}
            assert not data["microdata"]
        if markup == "jsonld-offer":
            assert item["offers"]["@type"] == "Offer"
            assert Decimal(item["offers"]["price"]) == Decimal(first["price"])
            assert item["offers"]["priceCurrency"] == currency
            assert item["offers"]["availability"].endswith(
                "InStock" if first["available"] else "OutOfStock"
            )
        elif markup == "jsonld-offers":
            assert [o["name"] for o in item["offers"]] == [v["title"] for v in product["variants"]]
        elif markup == "jsonld-aggregate":
            prices = [Decimal(v["price"]) for v in product["variants"]]
            assert item["offers"]["@type"] == "AggregateOffer"
            assert Decimal(item["offers"]["lowPrice"]) == min(prices)
            assert Decimal(item["offers"]["highPrice"]) == max(prices)
        elif markup == "jsonld-productgroup":
            assert item["@type"] == "ProductGroup"
            assert len(item["hasVariant"]) == len(product["variants"])
        elif markup == "microdata":
            assert not data["json-ld"]
            (item,) = data["microdata"]
            assert item["type"] == "https://schema.org/Product"
            assert item["properties"]["name"] == product["title"]
            offers = item["properties"]["offers"]
            offers = offers if isinstance(offers, list) else [offers]
            assert Decimal(offers[0]["properties"]["price"]) == Decimal(first["price"])
        elif markup == "opengraph":
            assert not data["json-ld"] and not data["microdata"]
            properties = dict(data["opengraph"][0]["properties"])
            assert properties["og:title"] == product["title"]
            assert Decimal(properties["product:price:amount"]) == Decimal(first["price"])
            assert properties["product:price:currency"] == currency
        assert 'class="breadcrumb"' in response.text
        if product.get("ingredients"):
            assert escape_html(product["ingredients"]) in response.text
            layout = product["page"].get("ingredients_layout", "details")
            marker = {
                "details": "<summary>",
                "tab": 'id="tab-inci"',
                "accordion": 'class="accordion__panel"',
                "plain": escape_html(product.get("ingredients_heading", "Ingredients")),
            }[layout]
            assert marker in response.text
    assert markups_seen == {
        "jsonld-offer",
        "jsonld-offers",
        "jsonld-aggregate",
        "jsonld-productgroup",
        "microdata",
        "opengraph",
    }


# --- Every shop: conditional requests, malformed requests ------------------------------------


@pytest.mark.parametrize(
    ("shop", "path"),
    [
        ("shopify", "/products.json"),
        ("shopify", "/products/serumtologie-c-serum"),
        ("woocommerce", "/wp-json/wc/store/v1/products"),
        ("woocommerce", "/product/skin-solutions-c-e-serum/"),
        ("retailer", "/sitemap_index.xml"),
        ("retailer", "/products/art-naturals-enhanced-vitamin-c-serum"),
    ],
)
def test_conditional_requests_get_304(demo_shops, client, shop, path):
    url = demo_shops.urls[shop] + path
    first = client.get(url)
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["content-type"].endswith("charset=utf-8")
    assert client.get(url).headers["ETag"] == etag
    unchanged = client.get(url, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged.headers["ETag"] == etag
    assert client.get(url, headers={"If-Modified-Since": last_modified}).status_code == 304
    old = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert client.get(url, headers={"If-Modified-Since": old}).status_code == 200
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


@pytest.mark.parametrize("shop", ["shopify", "woocommerce", "retailer"])
def test_malformed_requests_get_real_statuses_and_the_shop_keeps_answering(
    demo_shops, client, shop
):
    base = demo_shops.urls[shop]
    for path in ["/no/such/page", "/products/", "/%ff%fe", "/products.json/../../etc/passwd"]:
        response = client.get(base + path)
        assert response.status_code in (404, 200), path
        assert response.status_code != 500
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n")
        assert raw.recv(64).startswith(b"HTTP/1.1 501")
    assert client.get(base + "/").status_code == 200
    assert client.get(base + "/robots.txt").status_code == 200
