"""Test-web pages without structured data, among hostile page chrome: a promo badge in money words,
a reviews widget, related products with their own sizes and prices. Their shops also list a category
page and a blog post in the sitemap (and have no product URL patterns): neither is a listing."""

from __future__ import annotations

from html import escape

from serumscope.demo.testweb.product import (
    PageProduct,
    description_text,
    ingredients_markup,
    page,
    paragraphs,
    price_text,
    size_value,
    title_with_size,
)

# What the neighbours say; none of it is about the product on the page.
REVIEW = "Arrived in a clear plastic bottle, but the serum itself is lovely."
RELATED_BLURB = "Night Cream with SPF 30, rich and soothing for dry skin."
RELATED_SIZE = "100 ml"
RELATED_PRICE = "$40.00"
PROMO = "$10 OFF"
# Pages of a chrome shop's sitemap that show no product (path -> HTML body).
NOT_PRODUCTS = {
    "/collections/vitamin-c-serums": """<h1>Vitamin C Serums</h1>
<p>Discover our range of vitamin C serums for brighter skin.</p>
<ul class="grid"><li><a href="/products/bright-c">Bright C Serum</a><span>$24.00</span></li>
<li><a href="/products/glow-c">Glow C</a><span>$30.00</span></li></ul>""",
    "/blogs/news/vitamin-c-guide": """<article><h1>How to use a vitamin C serum</h1>
<p>Posted by Ana</p><p>Our favourite serum is only</p><span>$24</span>
<p>Apply a pea size amount, about 0.5 ml, every morning.</p></article>""",
}


def _ingredients(product: PageProduct) -> str:
    if not product.ingredients:
        return ""
    return f"<p><b>Ingredients:</b> {ingredients_markup(product.ingredients)}</p>"


def _related(css: str, heading: str, tag: str = "section", price_css: str = "price") -> str:
    return f"""<{tag} class="{css}"><h2>{heading}</h2>
<div class="card"><a href="/products/night-cream">Night Cream</a><p>{RELATED_BLURB}</p>
<div>Size: {RELATED_SIZE}</div><span class="{price_css}">{RELATED_PRICE}</span></div>
</{tag}>"""


def chrome_related(product: PageProduct, url: str, base_url: str) -> str:
    """A price element and an add-to-cart form; the size only in the title; the description beside
    the title's block, with a reviews widget and a related-products section after it."""
    body = f"""<div class="promo-bar"><span>{PROMO} your first order</span></div>
<div class="product-main">
<div class="product-info">
<h1>{escape(title_with_size(product))}</h1>
<span class="badge">{PROMO}</span>
<div class="product-price">{price_text(product)}</div>
<form class="cart" action="/cart/add" method="post"><button type="submit" name="add">Add to cart</button></form>
</div>
<div class="pdp-copy">{paragraphs(description_text(product))}{_ingredients(product)}</div>
<div class="jdgm-widget"><h2>Reviews</h2><div class="jdgm-rev"><p class="jdgm-rev__body">{REVIEW}</p></div></div>
{_related("related-products", "You may also like")}
</div>"""
    return page(product, body, [], title_with_size(product))


def chrome_money(product: PageProduct, url: str, base_url: str) -> str:
    """No price element: the price is a money text after a promo badge; a size picker in the cart
    form; a reviews widget and recommended products inside the same article."""
    size = size_value(product)
    picker = (
        f'<label for="size">Size</label><select id="size" name="size">'
        f'<option value="1" selected>{escape(size)}</option></select>'
        if size
        else ""
    )
    body = f"""<article class="item">
<h1>{escape(product.title)}</h1>
<p class="promo">{PROMO}</p>
<p><strong>{price_text(product)}</strong></p>
<form action="/cart/add" method="post">{picker}<button type="submit">Add to cart</button></form>
<div class="text">{paragraphs(description_text(product))}{_ingredients(product)}</div>
<div class="stamped-main-widget"><h3>What customers say</h3><p>{REVIEW}</p></div>
{_related("recommendations", "Recommended for you", "div", "amount")}
</article>"""
    return page(product, body, [])
