"""What the visible HTML of a product page says, for the fields its structured data lacks."""

from __future__ import annotations

import re

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
# A shop without price markup still shows the price as a short money text near the title.
MONEY_AFTER_TITLE = etree.XPath(
    "(//h1)[1]/following::text()[normalize-space()][not(ancestor::script or ancestor::style"
    " or ancestor::del or ancestor::s)]"
)
MONEY_LOOKAHEAD = 12
MONEY = re.compile(r"^(?:[$£€¥₩₹]|[A-Z]{3}\s?|[A-Z]{1,2}\$)\s?\d|\d\s?(?:[$£€]|[A-Z]{3})$")
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
    """The price shown in a price element, else the first short money text after the title."""
    for xpath in PRICE_XPATHS:
        for raw in xpath(tree):
            price = decimal_string(str(raw))
            if price:
                return price, currency_from_text(str(raw))
    for text in MONEY_AFTER_TITLE(tree)[:MONEY_LOOKAHEAD]:
        text = str(text).strip()
        if len(text) <= 24 and MONEY.search(text):
            price = decimal_string(text)
            if price:
                return price, currency_from_text(text)
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


DESCRIPTION_BLOCKS = {"p", "li", "div", "dd", "blockquote"}
NESTED_BLOCKS = {
    "p", "div", "li", "ul", "ol", "table", "dl", "section", "article", "form", "details",
    "h1", "h2", "h3", "h4", "h5", "h6",
}  # fmt: skip
NOT_DESCRIPTION = {
    "form", "select", "fieldset", "button", "nav", "header", "footer", "aside", "table", "dl",
    "label", "h1", "h2", "h3", "h4", "h5", "h6", "script", "style", "noscript", "template",
}  # fmt: skip
NOT_DESCRIPTION_CLASS = re.compile(
    r"price|crumb|brand|vendor|rating|review|stock|sku|title|badge|cart|swatch|variant", re.I
)
CONTAINER_LEVELS = 3
MIN_WORDS = 3


def _excluded(element: etree._Element, container: etree._Element) -> bool:
    node = element
    while node is not None and node is not container:
        if node.tag in NOT_DESCRIPTION or NOT_DESCRIPTION_CLASS.search(node.get("class") or ""):
            return True
        node = node.getparent()
    return False


def _description_blocks(container: etree._Element, h1: etree._Element, skip) -> list:
    blocks = []
    after_title = False
    for element in container.iter():
        if element is h1:
            after_title = True
            continue
        if not after_title or element.tag not in DESCRIPTION_BLOCKS:
            continue
        if any(d.tag in NESTED_BLOCKS for d in element.iterdescendants()):
            continue
        if _excluded(element, container):
            continue
        text = element_text(element)
        if len(text.split()) >= MIN_WORDS and not skip(text):
            blocks.append(element)
    return blocks


def container_description(h1: etree._Element, skip) -> tuple[str | None, str | None]:
    """(text, html) of the paragraphs after the title in the product's container (the title's
    nearest ancestor that has any), leaving out prices, forms, specs tables, navigation and what
    ``skip(text)`` refuses (the ingredient list, size labels)."""
    node = h1.getparent()
    for _ in range(CONTAINER_LEVELS):
        if node is None or node.tag in ("html", "body"):
            break
        blocks = _description_blocks(node, h1, skip)
        if blocks:
            text = "\n".join(element_text(b) for b in blocks)
            html = "".join(
                lxml.html.tostring(b, encoding="unicode", with_tail=False) for b in blocks
            )
            return text, html
        node = node.getparent()
    return None, None
