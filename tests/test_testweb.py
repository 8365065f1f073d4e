"""The test web (serumscope.demo.testweb): hand-written products in every layout, served on 127.0.0.1
and crawled by the real spiders; what the crawl and the evaluator read is checked per layout."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from serumscope.demo.testweb import LAYOUTS, LayoutWeb, PageProduct, render_page, slug_of
from serumscope.demo.testweb.pages_chrome import NOT_PRODUCTS, RELATED_BLURB, RELATED_SIZE, REVIEW

PRODUCTS = [
    PageProduct(
        slug="lumen-15-c",
        title="Lumen 15 Vitamin C Serum",
        brand="Lumen Lab",
        categories=["Skincare", "Treatments", "Face Serums"],
        description="A daily serum with 15% L-ascorbic acid.\nLayer under moisturiser, mornings.",
        ingredients="Water, Ascorbic Acid, Glycerin, Ferulic Acid, Tocopherol, Sodium Hyaluronate, Phenoxyethanol",
        size="1 oz/ 30 mL",
        price="48.00",
        packaging="Packed in an amber glass bottle with a dropper.",
        sku="1234567",
    ),
    PageProduct(
        slug="pocket-c-duo",
        title="Pocket C Duo",
        brand="Twin & Co",
        categories=["Skincare", "Value & Gift Sets"],
        description="Two travel serums with ethyl ascorbic acid.",
        ingredients="Aqua, 3-O-Ethyl Ascorbic Acid, Propanediol, Glycerin, Xanthan Gum",
        size="2 x 0.33 oz/ 10 mL",
        price="25.00",
        currency="GBP",
    ),
    PageProduct(
        slug="night-c-oil",
        title="Night C Facial Oil",
        brand="Moonfield",
        categories=["Skincare", "Face Oils"],
        description="An overnight oil with THD ascorbate.",
        ingredients=(
            "<div>-Vitamin C: brightens.<br><br>Squalane, Tetrahexyldecyl Ascorbate, "
            "Tocopherol, Rosa Canina Fruit Oil</div>"
        ),
        size="SIZE 0.5 oz/ 15 mL\u2022ITEM 2233445",
        price="62.00",
        sku="2233445",
    ),
    PageProduct(
        slug="brightening-drops",
        title="Brightening Drops",
        brand="Clearwell",
        categories=["Skincare"],
        description="Apply 3 drops each morning to clean skin.",
        ingredients="Water, Sodium Ascorbyl Phosphate, Niacinamide, Glycerin, Panthenol",
        price="30.00",
        currency="EUR",
    ),
]


def test_layouts_are_many_and_varied():
    assert len(LAYOUTS) >= 12
    platforms = {layout.platform for layout in LAYOUTS.values()}
    assert platforms == {"sitemap", "shopify", "woocommerce"}


@pytest.mark.parametrize("layout", [n for n, lay in LAYOUTS.items() if lay.platform == "sitemap"])
def test_every_page_layout_shows_the_product(layout):
    for product in PRODUCTS:
        html = render_page(layout, product, "http://127.0.0.1:1")
        text = re.sub(r"<[^>]+>", " ", html)
        assert product.title in html
        assert product.price in html or f"{Decimal(product.price):.2f}" in text
        assert "Tocopherol" in html or "Tocopherol" not in (product.ingredients or "")


def test_the_web_answers_like_shops():
    with LayoutWeb(PRODUCTS) as web:
        sites = {site["name"]: site for site in web.sites()}
        sitemap_shop = sites["plain-html"]
        xml = httpx.get(sitemap_shop["sitemap_urls"][0]).text
        assert xml.count("<loc>") == len(PRODUCTS)
        robots = httpx.get(sitemap_shop["base_url"] + "/robots.txt").text
        assert "Sitemap: " in robots
        page = httpx.get(sitemap_shop["base_url"] + "/products/lumen-15-c")
        assert page.status_code == 200 and "Lumen 15" in page.text
        assert httpx.get(sitemap_shop["base_url"] + "/products/nope").status_code == 404
        # one Shopify / WooCommerce shop per currency: a shop has one currency
        assert {"shopify-options", "shopify-options-gbp", "shopify-options-eur"} <= set(sites)
        feed = httpx.get(sites["shopify-options-gbp"]["base_url"] + "/products.json").json()
        assert [p["variants"][0]["option1"] for p in feed["products"]] == ["2 x 0.33 oz/ 10 mL"]
        store = httpx.get(sites["woo-long"]["base_url"] + "/wp-json/wc/store/v1/products").json()
        assert {a["name"] for a in store[0]["attributes"]} == {"Size", "Ingredients"}
        assert web.layout_of("woo-long-eur") == "woo-long"
    assert slug_of("http://127.0.0.1:9/product/night-c-oil/") == "night-c-oil"


def test_unknown_layout_is_refused():
    with pytest.raises(ValueError, match="unknown layouts"):
        LayoutWeb(PRODUCTS, ["no-such-layout"])


SIZE_ML = {"lumen-15-c": 30.0, "pocket-c-duo": 20.0, "night-c-oil": 15.0, "brightening-drops": None}
SIZE_FROM = {
    "jsonld-offer": "json-ld", "jsonld-no-offers": "html-label", "microdata": "html-specs",
    "opengraph": "html-option", "plain-html": "html-label", "spec-dl": "html-specs",
    "magento-specs": "html-specs", "swatches": "html-option", "title-size": "title",
    "residue": "html-label", "description-inci": "description", "shopify-theme": "html-option",
    "shopify-options": "api", "shopify-body": "description", "woo-short": "description",
    "woo-long": "api", "chrome-related": "title", "chrome-money": "html-option",
}  # fmt: skip


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """Every layout crawled by `serumscope crawl` and scored by `serumscope evaluate`:
    {(layout, slug): (listing row, facts)}."""
    folder = tmp_path_factory.mktemp("testweb")
    bin_dir = Path(sys.executable).parent
    db = folder / "web.db"
    with LayoutWeb(PRODUCTS) as web:
        sites = web.write_sites(folder / "sites.toml")
        crawl = subprocess.run(
            [str(bin_dir / "serumscope"), "crawl", "--sites", str(sites), "--db", str(db),
             "--quiet", "-s", "AUTOTHROTTLE_ENABLED=false"],
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert crawl.returncode == 0, crawl.stderr[-3000:]
        layout_of = {name: web.layout_of(name) for name in web.shops}
    scored = subprocess.run(
        [str(bin_dir / "serumscope"), "evaluate", "--db", str(db)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr[-3000:]
    found = {}
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        query = (
            "select l.*, e.facts from listings l left join evaluations e"
            " on e.listing_id = l.id and e.rubric = 'post'"
        )
        for row in conn.execute(query):
            listing = dict(row)
            listing["provenance"] = json.loads(listing["provenance"] or "{}")
            listing["variants"] = [
                dict(v)
                for v in conn.execute("select * from variants where listing_id = ?", [row["id"]])
            ]
            found[(layout_of[row["shop"]], slug_of(row["url"]))] = (
                listing,
                json.loads(row["facts"] or "null"),
            )
    return found


CASES = [(layout, product) for layout in LAYOUTS for product in PRODUCTS]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("layout", "product"), CASES, ids=[f"{name}-{p.slug}" for name, p in CASES]
)
def test_the_crawl_reads_every_layout(crawled, layout, product):
    listing, facts = crawled[(layout, product.slug)]
    assert product.title in listing["title"]
    variant = listing["variants"][0]
    assert (Decimal(variant["price"]), variant["currency"]) == (
        Decimal(product.price),
        product.currency,
    )
    assert facts["ingredients"]["count"] >= 4
    assert "Tocopherol" in listing["ingredients_text"] or "Tocopherol" not in product.ingredients
    want = SIZE_ML[product.slug]
    if want is None:  # "Apply 3 drops" is a dose, not a size: unknown, with the reason
        assert facts["size"]["ml"] is None and facts["size"]["reason"] == "no size stated"
        assert "size" not in listing["provenance"]
    else:
        assert facts["size"]["ml"] == pytest.approx(want)
        assert listing["provenance"]["size"] == SIZE_FROM[layout]
        evidence = facts["size"]["evidence"][0]
        assert evidence["text"] in (variant["size_text"] or listing["title"])
    if product.packaging:  # the packaging sentence is read wherever the page puts it
        assert facts["light"]["value"] == "protective"
        assert facts["dispenser"]["value"] == "dropper"


CHROME_CASES = [(layout, p) for layout in ("chrome-related", "chrome-money") for p in PRODUCTS]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("layout", "product"), CHROME_CASES, ids=[f"{name}-{p.slug}" for name, p in CHROME_CASES]
)
def test_the_crawl_ignores_the_page_chrome(crawled, layout, product):
    """A promo badge, a reviews widget and related products give no price, size or description."""
    listing, facts = crawled[(layout, product.slug)]
    assert [Decimal(v["price"]) for v in listing["variants"]] == [Decimal(product.price)]
    assert all(v["size_text"] != RELATED_SIZE for v in listing["variants"])
    if SIZE_ML[product.slug] is None:
        assert facts["size"]["ml"] is None
    description = listing["description"] or ""
    assert product.description.split("\n")[0] in description
    assert REVIEW not in description and RELATED_BLURB not in description
    assert "Night Cream" not in (listing["details"] or "")
    assert facts["light"]["value"] != "clear"


@pytest.mark.slow
def test_category_pages_and_blog_posts_are_not_listings(crawled):
    chrome = [key for key in crawled if key[0] in ("chrome-related", "chrome-money")]
    assert {slug for _, slug in chrome} == {p.slug for p in PRODUCTS}
    not_products = {path.rsplit("/", 1)[-1] for path in NOT_PRODUCTS}
    assert not [key for key in crawled if key[1] in not_products]
