"""Product pages without structured data among hostile chrome (review findings H3, M1-M3, M5): what
``product_from_page`` reads of them, one fact at a time."""

from __future__ import annotations

import pytest

from crawler.extract.label_scan import label_texts
from crawler.extract.page import parse_page, product_from_page
from crawler.extract.sizes import find_size
from serumscope.demo.testweb import PageProduct, render_page
from serumscope.demo.testweb.pages_chrome import NOT_PRODUCTS, RELATED_BLURB, REVIEW

URL = "http://127.0.0.1:1/products/x"
SIZED = PageProduct(
    slug="x", title="Bright C Serum", description="A daily serum with 15% ascorbic acid.",
    ingredients="Water, Ascorbic Acid, Glycerin, Tocopherol", size="30 ml", price="48.00",
)  # fmt: skip
UNSIZED = PageProduct(
    slug="x", title="Bright C Serum", description="A daily serum with 15% ascorbic acid.",
    ingredients="Water, Ascorbic Acid, Glycerin, Tocopherol", price="48.00",
)  # fmt: skip


def read(html: str) -> dict | None:
    return product_from_page(
        parse_page(html, URL),
    )


def wrap(body: str) -> str:
    return f"<html><body><header><nav><a href='/'>Home</a></nav></header><main>{body}</main></body></html>"


@pytest.mark.parametrize("path", sorted(NOT_PRODUCTS))
def test_category_pages_and_blog_posts_show_no_product(path):
    assert read(wrap(NOT_PRODUCTS[path])) is None
    drawer = '<div class="drawer"><form action="/cart" method="post"><button>Check out</button></form></div>'
    assert read(wrap(NOT_PRODUCTS[path] + drawer)) is None


@pytest.mark.parametrize(
    "evidence",
    [
        "<p>$24.00</p><p>Ingredients: Water, Ascorbic Acid, Glycerin, Tocopherol</p>",
        "<p>$24.00</p><div>SIZE Tool w/ 2 Roller Heads\u2022ITEM 123</div>",
    ],
)
def test_a_money_text_with_ingredients_or_a_size_label_is_a_product(evidence):
    fields = read(wrap(f"<div><h1>Bright C Serum</h1>{evidence}</div>"))
    assert fields is not None and fields["variants"][0]["price"] == "24.00"


def test_a_size_label_in_related_products_is_no_product_evidence():
    html = wrap(
        '<div><h1>Vitamin C Serums</h1><p>$24.00</p><div class="related">'
        "<div>Size: 30 ml</div></div></div>"
    )
    assert read(html) is None


@pytest.mark.parametrize(
    "evidence",
    [
        '<div class="product-price">$24.00</div>',
        '<span itemprop="price" content="24.00">$24.00</span>',
        '<p>$24.00</p><form action="/cart/add"><button type="submit">Add to cart</button></form>',
        '<p>$24.00</p><button class="add-to-cart">Add to bag</button>',
        '<p>$24.00</p><select name="size"><option>30 ml</option></select>',
        "<p>$24.00</p>",  # in a product's block (below)
    ],
)
def test_a_page_with_product_evidence_is_a_product(evidence):
    css = "product-single" if evidence == "<p>$24.00</p>" else "any"
    fields = read(wrap(f'<div class="{css}"><h1>Bright C Serum</h1>{evidence}</div>'))
    assert fields is not None and fields["title"] == "Bright C Serum"
    assert fields["variants"][0]["price"] == "24.00"


@pytest.mark.parametrize("layout", ["chrome-related", "chrome-money"])
@pytest.mark.parametrize("product", [SIZED, UNSIZED], ids=["sized", "unsized"])
def test_chrome_gives_no_fact(layout, product):
    fields = read(render_page(layout, product, "http://127.0.0.1:1"))
    assert [v["price"] for v in fields["variants"]] == ["48.00"]
    size_text = fields["variants"][0]["size_text"]
    assert size_text == ("30 ml" if product.size else None)
    assert product.description in fields["description"]
    assert REVIEW not in fields["description"] and RELATED_BLURB not in fields["description"]


def test_a_related_card_size_label_loses_to_the_title_size():
    html = wrap(
        '<div class="product"><h1>Bright C Serum 30ml</h1><div class="product-price">$24.00</div></div>'
        '<div class="you-may-also-like"><div class="card"><a href="/p/b">Big C</a>'
        "<div>Size: 100 ml</div></div></div>"
    )
    assert read(html)["variants"][0]["size_text"] == "30ml"


@pytest.mark.parametrize(
    "money", ["$10 OFF", "Save $10", "$10 off today", "-20%", "$24.00 or 4 payments of $6.00"]
)
def test_promo_money_text_is_no_price(money):
    html = wrap(
        f"<div><h1>Bright C Serum</h1><p>{money}</p>"
        '<form action="/cart/add"><button>Add to cart</button></form></div>'
    )
    fields = read(html)
    assert fields is not None and "variants" not in fields


def test_no_price_after_the_first_link_or_subheading():
    for between in ('<a href="/p/b">Big C</a>', "<h2>You may also like</h2>", "<h3>More</h3>"):
        html = wrap(
            f'<div><h1>Bright C Serum</h1><form action="/cart/add"><button>Add</button></form>'
            f"{between}<span>$40.00</span></div>"
        )
        assert "variants" not in read(html)


def test_description_stops_at_the_reviews():
    html = wrap(
        '<div><div class="title-block"><h1>Bright C Serum</h1><div class="product-price">$24.00</div>'
        "</div><div><p>A daily serum with 15% ascorbic acid.</p></div>"
        "<h2>Customer reviews</h2><div><p>Arrived in a clear plastic bottle, sadly.</p></div></div>"
    )
    description = read(html)["description"]
    assert "daily serum" in description and "clear plastic" not in description


def test_a_review_widget_is_no_description():
    html = wrap(
        '<div><h1>Bright C Serum</h1><div class="product-price">$24.00</div>'
        '<div class="yotpo-main"><p>Arrived in a clear plastic bottle, sadly.</p></div></div>'
    )
    assert "description" not in read(html)


@pytest.mark.parametrize(
    "line", ["Content: 30 ml", "CONTENTS: 30 ml", "Net Contents: 30 ml", "Capacity: 30 ml"]
)
def test_every_size_label_is_found(line):
    html = wrap(
        f'<div><h1>Bright C Serum</h1><div class="product-price">$24</div><ul><li>{line}</li></ul></div>'
    )
    tree = parse_page(html, URL).tree
    found = find_size(tree, label_texts(tree))
    assert found is not None and found.wording == "30 ml"


def test_bad_pages_never_raise():
    for html in ("", "<h1></h1>", "<h1>x</h1><p>$</p>", "<h1>x</h1><p>OFF $ %</p>" * 50):
        read(html or "<html></html>")


def test_a_description_element_in_the_chrome_or_an_upsell_is_not_the_description():
    html = (
        '<html><body><header><div class="description">Free shipping over fifty dollars</div>'
        '</header><main><div class="product"><h1>Bright C Serum</h1><span class="price">$24.00'
        "</span><p>Vitamin C serum in an airless amber pump bottle.</p>"
        '<section class="upsell"><h2>Complete your routine</h2><div class="card"><a>Day Cream</a>'
        '<p class="description">Our daily moisturiser with SPF 30 in a clear jar.</p></div>'
        "</section></div></main></body></html>"
    )
    assert read(html)["description"] == "Vitamin C serum in an airless amber pump bottle."


def test_related_cards_give_no_variants_and_no_was_price():
    html = wrap(
        '<div class="product"><h1>Bright C Serum</h1><div class="product-price">$24.00</div></div>'
        '<div class="related-products"><div class="card" data-price="40.00"><a>Big C</a>'
        '<span class="size">100 ml</span><del>$90.00</del></div></div>'
    )
    variants = read(html)["variants"]
    assert variants == [
        {"title": None, "size_text": None, "price": "24.00", "regular_price": None,
         "currency": "USD", "available": None, "sku": None}
    ]  # fmt: skip


def test_a_related_card_data_price_is_no_variant():
    html = wrap(
        '<div class="product"><h1>Bright C Serum</h1><form action="/cart/add"><button>Add</button>'
        '</form></div><div class="related-products"><div class="card" data-price="40.00">'
        '<span class="size">100 ml</span></div></div>'
    )
    assert "variants" not in read(html)


def test_a_widget_word_in_the_page_frame_marks_no_widget():
    html = (
        '<html><body class="template-product reviews-on"><main><div id="section-related-on">'
        '<div class="product"><h1>Bright C Serum</h1><div class="product-price">$24.00</div>'
        "<p>A daily serum with 15% ascorbic acid.</p><div>Size: 30 ml</div></div></div>"
        "</main></body></html>"
    )
    fields = read(html)
    assert fields["variants"][0]["price"] == "24.00"
    assert fields["variants"][0]["size_text"] == "30 ml"
    assert fields["description"] == "A daily serum with 15% ascorbic acid."


def test_a_size_label_outside_the_product_block_is_not_in_the_details_when_the_title_has_one():
    html = wrap(
        '<div class="product"><h1>Bright C Serum 30ml</h1><div class="product-price">$24.00</div>'
        "</div><div><div>Size: 100 ml</div></div>"
    )
    fields = read(html)
    assert fields["variants"][0]["size_text"] == "30ml"
    assert "100 ml" not in (fields.get("details") or "")
