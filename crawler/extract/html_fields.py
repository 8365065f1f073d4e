"""What the visible HTML of a product page says, for the fields its structured data lacks."""

from __future__ import annotations

import lxml.html
from cssselect import HTMLTranslator
from lxml import etree

from crawler.extract.fields import size_in
from crawler.extract.money import currency_from_text, decimal_string, regular_price_if_higher
from crawler.extract.text import clean, element_text

DESCRIPTION_SELECTORS = (
    "[itemprop=description]",
    ".product-description",
    ".product__description",
    ".product-single__description",
    "#product-description",
    "#description",
    ".woocommerce-product-details__short-description",
    ".description",
)
BREADCRUMB_SELECTORS = (
    "nav[aria-label*=readcrumb] li",
    "nav[aria-label*=readcrumb] a",
    ".breadcrumb li",
    ".breadcrumbs li",
    ".breadcrumb a",
    ".breadcrumbs a",
)


def _xpath(css: str) -> etree.XPath:
    return etree.XPath(_css.css_to_xpath(css))


_css = HTMLTranslator()
DESCRIPTION_XPATHS = tuple(_xpath(css) for css in DESCRIPTION_SELECTORS)
BREADCRUMB_XPATHS = tuple(_xpath(css) for css in BREADCRUMB_SELECTORS)
PRICE_XPATHS = (
    etree.XPath("//*[@itemprop='price']/@content"),
    etree.XPath(_css.css_to_xpath(".price ins") + "//text()"),
    etree.XPath(_css.css_to_xpath(".price") + "/text()"),
    etree.XPath(_css.css_to_xpath(".product-price") + "//text()"),
)
PRODUCT_IMAGES = etree.XPath(
    "//main//img[@alt][not(ancestor::header or ancestor::nav or ancestor::footer)]"
    " | //*[contains(@itemtype, 'Product')]//img[@alt]"
    "[not(ancestor::header or ancestor::nav or ancestor::footer)]"
)
BRAND = etree.XPath(
    "//*[@itemprop='brand'] | " + _css.css_to_xpath(".product-vendor, .product__vendor, .brand")
)


def first_text(
    tree: etree._Element, xpaths: tuple[etree.XPath, ...]
) -> tuple[str | None, str | None]:
    for xpath in xpaths:
        for element in xpath(tree):
            text = element_text(element)
            if text:
                return text, lxml.html.tostring(element, encoding="unicode", with_tail=False)
    return None, None


def image_alts(tree: etree._Element) -> list[str]:
    alts = []
    for img in PRODUCT_IMAGES(tree):
        alt = clean(img.get("alt"))
        if alt and alt not in alts:
            alts.append(alt)
    return alts


def breadcrumbs(tree: etree._Element) -> list[str]:
    for xpath in BREADCRUMB_XPATHS:
        crumbs = [clean(" ".join(e.itertext())) for e in xpath(tree)]
        crumbs = [c for c in crumbs if c and c not in ("/", ">", "›")]
        if crumbs:
            return crumbs
    return []


def price_and_currency(tree: etree._Element) -> tuple[str | None, str | None]:
    for xpath in PRICE_XPATHS:
        for raw in xpath(tree):
            price = decimal_string(str(raw))
            if price:
                return price, currency_from_text(str(raw))
    return None, None


def brand(tree: etree._Element) -> str | None:
    for element in BRAND(tree):
        brand = clean(element.get("content") or " ".join(element.itertext()))
        if brand:
            return brand
    return None


PRICED_OPTIONS = etree.XPath("//main//*[@data-price]")
SIZE_LABEL = etree.XPath(".//*[contains(concat(' ', normalize-space(@class), ' '), ' size ')]")
STRUCK_IN = etree.XPath(".//del | .//s | .//*[contains(@class, 'price-was')]")


def priced_options(tree: etree._Element, currency: str | None, available: int | None) -> list[dict]:
    """Variants listed in the page as options carrying ``data-price`` (size pickers, price lists)."""
    variants = []
    for option in PRICED_OPTIONS(tree):
        price = decimal_string(option.get("data-price"))
        if not price:
            continue
        labels = SIZE_LABEL(option)
        title = clean(" ".join(labels[0].itertext())) if labels else None
        text = " ".join(option.itertext())
        was = None
        for struck in STRUCK_IN(option):
            was = regular_price_if_higher(decimal_string(" ".join(struck.itertext())), price) or was
        out_of_stock = "out of stock" in text.lower() or "sold out" in text.lower()
        variants.append(
            {
                "title": title,
                "size_text": size_in(title),
                "price": price,
                "regular_price": was,
                "currency": currency or currency_from_text(text),
                "available": 0 if out_of_stock else (1 if available == 1 else None),
                "sku": clean(option.get("data-sku")),
            }
        )
    return variants


STRUCK_PRICES = etree.XPath("//main//del | //main//s | //*[contains(@class, 'price-was')]")


def struck_price(tree: etree._Element, price: str) -> str | None:
    """A struck-through "was" price on a one-variant page, when it is higher than the price paid."""
    for element in STRUCK_PRICES(tree):
        was = regular_price_if_higher(decimal_string(" ".join(element.itertext())), price)
        if was:
            return was
    return None
