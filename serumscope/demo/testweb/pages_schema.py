"""Test-web pages whose product is described with schema.org data (JSON-LD or microdata)."""

from __future__ import annotations

from html import escape

from serumscope.demo.pages import availability_url, json_ld
from serumscope.demo.testweb.product import (
    SHOP_TITLE,
    PageProduct,
    breadcrumb_json,
    breadcrumb_nav,
    description_text,
    details,
    ingredients_markup,
    page,
    paragraphs,
    price_number,
    price_text,
    product_json,
    size_value,
)


def jsonld_offer(product: PageProduct, url: str, base_url: str) -> str:
    head = [
        f'<link rel="canonical" href="{url}">',
        json_ld(product_json(product, url, size=True)),
        json_ld(breadcrumb_json(product, base_url)),
    ]
    ingredients = (
        details("Ingredients", ingredients_markup(product.ingredients))
        if product.ingredients
        else ""
    )
    body = f"""{breadcrumb_nav(product, base_url)}
<article class="product">
<p class="brand">{escape(product.brand or "")}</p>
<h1 class="product-title">{escape(product.title)}</h1>
<p class="price">{price_text(product)}</p>
<div class="product-description">{paragraphs(description_text(product))}</div>
{ingredients}
</article>"""
    return page(product, body, head)


def jsonld_no_offers(product: PageProduct, url: str, base_url: str) -> str:
    head = [json_ld(product_json(product, url, offers=False, description=product.description))]
    size = size_value(product)
    facts = f"<li>Size: {escape(size)}</li>" if size else ""
    if product.sku:
        facts += f"<li>Item no. {escape(product.sku)}</li>"
    tabs = '<li><a href="#tab-description" aria-controls="tab-description">Description</a></li>'
    panels = f'<div class="tab-panel" id="tab-description">{paragraphs(product.description)}</div>'
    if product.packaging:
        tabs += '<li><a href="#tab-details" aria-controls="tab-details">Details</a></li>'
        panels += (
            f'<div class="tab-panel" id="tab-details" hidden>{paragraphs(product.packaging)}</div>'
        )
    if product.ingredients:
        tabs += (
            '<li><a href="#tab-ingredients" aria-controls="tab-ingredients">Ingredients</a></li>'
        )
        panels += (
            f'<div class="tab-panel" id="tab-ingredients" hidden>'
            f"<p>{ingredients_markup(product.ingredients)}</p></div>"
        )
    body = f"""<div class="pdp">
<h1>{escape(product.title)}</h1>
<div class="pdp-brand">{escape(product.brand or "")}</div>
<span class="price">{price_text(product)}</span>
<ul class="pdp-facts">{facts}</ul>
<div class="pdp-tabs"><ul role="tablist">{tabs}</ul>{panels}</div>
</div>"""
    return page(product, body, head)


def microdata(product: PageProduct, url: str, base_url: str) -> str:
    rows = ""
    size = size_value(product)
    if size:
        rows += f"<tr><th>Size</th><td>{escape(size)}</td></tr>"
    if product.packaging:
        rows += f"<tr><th>Packaging</th><td>{escape(product.packaging)}</td></tr>"
    offer = ""
    if product.price:
        offer = (
            '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
            f'<span class="price-now">{price_text(product)}</span>'
            f'<meta itemprop="price" content="{price_number(product)}">'
            f'<meta itemprop="priceCurrency" content="{product.currency}">'
            f'<link itemprop="availability" href="{availability_url(True)}"></div>'
        )
    ingredients = ""
    if product.ingredients:
        ingredients = (
            '<div class="accordion"><button class="accordion__toggle" type="button" '
            'aria-expanded="false">Ingredients</button><div class="accordion__panel" hidden>'
            f"<p>{ingredients_markup(product.ingredients)}</p></div></div>"
        )
    brand = (
        f'<p itemprop="brand" itemscope itemtype="https://schema.org/Brand">'
        f'<span itemprop="name">{escape(product.brand)}</span></p>'
        if product.brand
        else ""
    )
    body = f"""{breadcrumb_nav(product, base_url)}
<div class="product" itemscope itemtype="https://schema.org/Product">
{brand}
<h1 itemprop="name">{escape(product.title)}</h1>
{offer}
<div itemprop="description">{paragraphs(product.description)}</div>
<table class="specs">{rows}</table>
{ingredients}
</div>"""
    return page(product, body, [])


def magento_specs(product: PageProduct, url: str, base_url: str) -> str:
    head = [json_ld(product_json(product, url, description=product.description or ""))]
    rows = ""
    size = size_value(product)
    if size:
        rows += f'<tr><th class="col label" scope="row">Size</th><td class="col data" data-th="Size">{escape(size)}</td></tr>'
    if product.ingredients:
        rows += (
            '<tr><th class="col label" scope="row">Ingredients</th>'
            f'<td class="col data" data-th="Ingredients">{ingredients_markup(product.ingredients)}</td></tr>'
        )
    body = f"""<div class="product-info-main">
<h1 class="page-title"><span class="base" data-ui-id="page-title-wrapper">{escape(product.title)}</span></h1>
<div class="price-box"><span class="price">{price_text(product)}</span></div>
</div>
<div class="product info detailed">
<div class="product attribute description"><div class="value">{paragraphs(description_text(product))}</div></div>
<div class="additional-attributes-wrapper table-wrapper">
<table class="data table additional-attributes" id="product-attribute-specs-table">
<caption class="table-caption">More Information</caption><tbody>{rows}</tbody></table></div>
</div>"""
    return page(product, body, head)


def swatches(product: PageProduct, url: str, base_url: str) -> str:
    head = [json_ld(product_json(product, url, description=product.description or ""))]
    size = size_value(product)
    picker = ""
    if size:
        picker = (
            '<fieldset class="swatch-picker"><legend>Size</legend>'
            f'<input type="radio" id="opt-1" name="Size" value="{escape(size)}" checked>'
            f'<label class="swatch" for="opt-1">{escape(size)}</label></fieldset>'
        )
    blocks = ""
    if product.packaging:
        blocks += (
            '<div class="accordion-item"><h3><button aria-controls="acc-details" '
            'aria-expanded="false">Details</button></h3>'
            f'<div id="acc-details" hidden>{paragraphs(product.packaging)}</div></div>'
        )
    if product.ingredients:
        blocks += (
            '<div class="accordion-item"><h3><button aria-controls="acc-ingredients" '
            'aria-expanded="false">Ingredients</button></h3>'
            f'<div id="acc-ingredients" hidden><p>{ingredients_markup(product.ingredients)}</p></div></div>'
        )
    body = f"""<div class="product-detail">
<h1>{escape(product.title)}</h1>
<div class="price">{price_text(product)}</div>
{picker}
<div class="description">{paragraphs(product.description)}</div>
<div class="accordion">{blocks}</div>
</div>"""
    return page(product, body, head)


def description_inci(product: PageProduct, url: str, base_url: str) -> str:
    parts = [paragraphs(product.description)]
    size = size_value(product)
    if size:
        parts.append(f"<p>Size: {escape(size)}</p>")
    if product.packaging:
        parts.append(paragraphs(product.packaging))
    if product.ingredients:
        parts.append(
            f"<p><strong>INGREDIENTS</strong></p><p>{ingredients_markup(product.ingredients)}</p>"
        )
    head = [
        json_ld(product_json(product, url, description="".join(parts))),
        json_ld(breadcrumb_json(product, base_url)),
    ]
    body = f"""<div class="product-hero">
<h1>{escape(product.title)}</h1>
<div class="price">{price_text(product)}</div>
<button type="button">Add to cart</button>
</div>"""
    return page(product, body, head)


def shopify_theme(product: PageProduct, url: str, base_url: str) -> str:
    offer = {
        "@type": "Offer",
        "availability": availability_url(True),
        "price": product.price,
        "priceCurrency": product.currency,
        "url": f"{url}?variant=4100000000001",
    }
    data = {
        "@context": "http://schema.org/",
        "@type": "Product",
        "name": product.title,
        "url": url,
        "description": (product.description or product.title).split("\n")[0],
        "brand": {"@type": "Brand", "name": product.brand or SHOP_TITLE},
        "offers": [offer] if product.price else [],
    }
    head = [
        f'<link rel="canonical" href="{url}">',
        f'<meta property="og:description" content="{escape(data["description"])}">',
        json_ld(data),
    ]
    size = size_value(product)
    picker = ""
    if size:
        picker = (
            '<variant-radios class="no-js-hidden"><fieldset class="js product-form__input">'
            '<legend class="form__label">Size</legend>'
            f'<input type="radio" id="template--1__main-1-0" name="Size" value="{escape(size)}" checked>'
            f'<label for="template--1__main-1-0">{escape(size)}</label></fieldset></variant-radios>'
        )
    accordions = ""
    if product.ingredients:
        accordions += (
            '<div class="product__accordion accordion"><details id="Details-ingredients">'
            '<summary><div class="summary__title"><h2 class="h4 accordion__title">Ingredients</h2>'
            '</div></summary><div class="accordion__content rte">'
            f"<p>{ingredients_markup(product.ingredients)}</p></div></details></div>"
        )
    body = f"""<section class="shopify-section section">
<div class="product__info-wrapper">
<p class="product__text">{escape(product.brand or "")}</p>
<div class="product__title"><h1>{escape(product.title)}</h1></div>
<div class="price"><span class="price-item price-item--regular">{price_text(product)}</span></div>
{picker}
<div class="product__description rte">{paragraphs(description_text(product))}</div>
{accordions}
</div>
</section>"""
    return page(product, body, head)
