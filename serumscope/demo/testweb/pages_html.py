"""Test-web pages without a schema.org product: OpenGraph only, or only what the HTML shows."""

from __future__ import annotations

from html import escape

from serumscope.demo.testweb.product import (
    PageProduct,
    description_text,
    ingredients_markup,
    page,
    paragraphs,
    price_number,
    price_text,
    size_value,
    title_with_size,
)


def opengraph(product: PageProduct, url: str, base_url: str) -> str:
    summary = (product.description or product.title).split("\n")[0][:160]
    og = {
        "og:type": "product",
        "og:title": product.title,
        "og:url": url,
        "og:description": summary,
        "product:brand": product.brand or "",
        "product:price:amount": price_number(product) or "",
        "product:price:currency": product.currency if product.price else "",
    }
    head = [f'<meta property="{k}" content="{escape(v)}">' for k, v in og.items() if v]
    size = size_value(product)
    picker = (
        f'<label for="size-select">Size</label><select id="size-select" name="options[Size]">'
        f'<option value="1" selected>{escape(size)}</option></select>'
        if size
        else ""
    )
    ingredients = (
        f"<h3>Ingredients</h3><p>{ingredients_markup(product.ingredients)}</p>"
        if product.ingredients
        else ""
    )
    body = f"""<div class="product-page">
<h1 class="title">{escape(product.title)}</h1>
<div class="product-price">{price_text(product)}</div>
<form class="buy">{picker}<button type="submit">Add to bag</button></form>
<div class="copy">{paragraphs(description_text(product))}</div>
{ingredients}
</div>"""
    return page(product, body, head)


def title_size(product: PageProduct, url: str, base_url: str) -> str:
    title = title_with_size(product)
    og = {
        "og:type": "product",
        "og:title": title,
        "product:price:amount": price_number(product) or "",
        "product:price:currency": product.currency if product.price else "",
    }
    head = [f'<meta property="{k}" content="{escape(v)}">' for k, v in og.items() if v]
    ingredients = (
        f"<p>Ingredients: {ingredients_markup(product.ingredients)}</p>"
        if product.ingredients
        else ""
    )
    body = f"""<div class="product-single">
<h1 class="product-single__title">{escape(title)}</h1>
<p class="product-single__vendor">{escape(product.brand or "")}</p>
<span class="product-price">{price_text(product)}</span>
<div class="product-single__description rte">{paragraphs(description_text(product))}{ingredients}</div>
</div>"""
    return page(product, body, head, title)


def plain_html(product: PageProduct, url: str, base_url: str) -> str:
    size = size_value(product)
    size_line = (
        f'<div class="meta"><span class="label">Size:</span> <span>{escape(size)}</span></div>'
        if size
        else ""
    )
    ingredients = (
        f"<p><b>Ingredients:</b> {ingredients_markup(product.ingredients)}</p>"
        if product.ingredients
        else ""
    )
    body = f"""<div class="main-product">
<div class="crumbs">{" / ".join(escape(c) for c in product.categories)}</div>
<h1>{escape(product.title)}</h1>
<p class="by">by {escape(product.brand or "")}</p>
<div class="product-price">{price_text(product)}</div>
{size_line}
<div class="pdp-copy">{paragraphs(description_text(product))}
{ingredients}</div>
</div>"""
    return page(product, body, [])


def spec_dl(product: PageProduct, url: str, base_url: str) -> str:
    rows = ""
    if product.brand:
        rows += (
            f'<dt class="info-name">Brand:</dt><dd class="info-value">{escape(product.brand)}</dd>'
        )
    size = size_value(product)
    if size:
        rows += f'<dt class="info-name">Size:</dt><dd class="info-value">{escape(size)}</dd>'
    if product.packaging:
        rows += f'<dt class="info-name">Packaging:</dt><dd class="info-value">{escape(product.packaging)}</dd>'
    if product.ingredients:
        rows += (
            '<dt class="info-name">Ingredients:</dt>'
            f'<dd class="info-value">{ingredients_markup(product.ingredients)}</dd>'
        )
    body = f"""<section class="productView">
<h1 class="productView-title">{escape(product.title)}</h1>
<div class="productView-price"><span class="price price--withTax">{price_text(product)}</span></div>
<dl class="productView-info">{rows}</dl>
<div class="tab-content" id="tab-description">{paragraphs(product.description)}</div>
</section>"""
    return page(product, body, [])


def residue(product: PageProduct, url: str, base_url: str) -> str:
    size = product.size or ""
    if size and "ITEM" not in size:
        size = f"SIZE {size_value(product)}"
        if product.sku:
            size += f"\u2022ITEM {product.sku}"
    what = (
        f'<div class="css-pz80c5"><b>What it is:</b> {escape(product.description)}</div>'
        if product.description
        else ""
    )
    packaging = (
        f'<div class="css-pz80c5">{escape(product.packaging)}</div>' if product.packaging else ""
    )
    ingredients = ""
    if product.ingredients:
        ingredients = (
            '<div class="css-1v7u6og"><button type="button" aria-controls="ingredients">'
            '<h2 class="css-1b1dh0c">Ingredients</h2></button>'
            f'<div id="ingredients" class="css-32uy52">{ingredients_markup(product.ingredients)}</div></div>'
        )
    body = f"""<div class="css-1v7u6og">
<h1 class="css-11zrkxf"><a class="css-nc375s" href="/brand">{escape(product.brand or "")}</a>
<span class="css-1pgnl76">{escape(product.title)}</span></h1>
<div class="css-k1zwuy"><span class="css-18jtttk"><b class="css-0">{price_text(product)}</b></span></div>
<div class="css-128n72s">{escape(size)}</div>
<div class="css-12cvig4"><h2 class="css-1b1dh0c">About the Product</h2>{what}{packaging}</div>
{ingredients}
</div>"""
    return page(product, body, [])
