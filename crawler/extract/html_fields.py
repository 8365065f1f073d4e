"""What the visible HTML of a product page says, for the fields its structured data lacks."""

from __future__ import annotations

import re

import lxml.html
from cssselect import HTMLTranslator
from lxml import etree

from crawler.extract.fields import size_in
from crawler.extract.money import currency_from_text, decimal_string, regular_price_if_higher
from crawler.extract.regions import (
    FIRST_H1,
    NOT_PRODUCT_CLASS,
    in_not_product,
    is_within,
    not_product,
    product_container,
)
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
# Every description selector names the word, so one walk over the page's attributes finds the few
# elements any of them may match (a page walk costs ~0.3 µs an element, eight of them a lot); each
# selector, in order, is then tried on those alone.
DESCRIPTION_WORD = "description"
DESCRIPTION_CANDIDATES = etree.XPath(
    " | ".join(
        f"descendant-or-self::*/@{name}[contains(., '{DESCRIPTION_WORD}')]/.."
        for name in ("class", "id", "itemprop")
    )
)
DESCRIPTION_TESTS = tuple(
    etree.XPath(_css.css_to_xpath(css, prefix="self::")) for css in DESCRIPTION_SELECTORS
)
BREADCRUMB_XPATHS = tuple(_xpath(css) for css in BREADCRUMB_SELECTORS)
PRICE_XPATHS = (
    etree.XPath("//*[@itemprop='price']/@content"),
    etree.XPath(_css.css_to_xpath(".price ins") + "//text()"),
    etree.XPath(_css.css_to_xpath(".price") + "/text()"),
    etree.XPath(_css.css_to_xpath(".product-price") + "//text()"),
)
# A shop without price markup still shows the price as a short money text near the title: the
# whole text is one amount with its currency ("$24.00", "24,00 €", "USD 24"), not a promotion.
AMOUNT = r"\d(?:[\d.,\u00a0 ]*\d)?"
MONEY = re.compile(
    rf"^(?:(?:[$£€¥₩₹]|[A-Z]{{3}}\s?|[A-Z]{{1,2}}\$)\s?{AMOUNT}|{AMOUNT}\s?(?:[$£€]|[A-Z]{{3}}))$"
)
PROMO = re.compile(r"(?i)\b(?:off|save|saving|sale|discount|was|from)\b|%")
MONEY_LOOKAHEAD = 12
NO_PRICE_TEXT = {"script", "style", "template", "noscript", "del", "s"}
# A link or subheading after the title starts what is not the product: no price past it.
PRICE_STOP = {"a", "h2", "h3"}
# Images with alt text in the page's main part or a schema.org Product, outside the site's chrome.
# One walk to the images, each asked about its ancestors: cheaper than walking the page for every
# element that may hold them (a union of "//main//img" and "//*[...]//img" costs three times more).
PRODUCT_IMAGES = etree.XPath(
    "//img[@alt][ancestor::main or ancestor::*[contains(@itemtype, 'Product')]]"
    "[not(ancestor::header or ancestor::nav or ancestor::footer)]"
)
BRAND = etree.XPath(
    "//*[@itemprop='brand'] | " + _css.css_to_xpath(".product-vendor, .product__vendor, .brand")
)


def description(tree: etree._Element) -> tuple[str | None, str | None]:
    """(text, html) of the page's description element: the first element the first selector of
    DESCRIPTION_SELECTORS matches that has text, not one in the site's chrome or in a
    related-product or review widget."""
    candidates = DESCRIPTION_CANDIDATES(tree)
    for matches in DESCRIPTION_TESTS:
        for element in candidates:
            if not matches(element) or in_not_product(tree, element):
                continue
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


def _texts_after_title(h1: etree._Element) -> list[str]:
    """The first MONEY_LOOKAHEAD texts after the title, up to the first link or subheading."""
    texts: list[str] = []
    after = False
    walker = etree.iterwalk(h1.getroottree().getroot(), events=("start", "end"))
    for event, element in walker:
        if event == "end":
            after = after or element is h1
            if after and element.tail and element.tail.strip():
                texts.append(element.tail.strip())
        elif after:
            if element.tag in PRICE_STOP:
                break
            if element.tag in NO_PRICE_TEXT:
                walker.skip_subtree()
            elif element.text and element.text.strip():
                texts.append(element.text.strip())
        if len(texts) >= MONEY_LOOKAHEAD:
            break
    return texts


def _money_text(text: str) -> bool:
    return len(text) <= 24 and bool(MONEY.match(text)) and not PROMO.search(text)


def price_and_currency(tree: etree._Element) -> tuple[str | None, str | None, str | None]:
    """(price, currency, how): the price shown in a price element outside related-product and
    review widgets ("element"), else the first money text after the title, before any link or
    subheading ("text"); Nones when there is neither."""
    excluded = None
    for xpath in PRICE_XPATHS:
        for raw in xpath(tree):
            price = decimal_string(str(raw))
            if not price:
                continue
            excluded = not_product(tree) if excluded is None else excluded
            owner = raw.getparent() if hasattr(raw, "getparent") else None
            if owner is not None and is_within(owner, excluded):
                continue
            return price, currency_from_text(str(raw)), "element"
    h1 = FIRST_H1(tree)
    for text in _texts_after_title(h1[0]) if h1 else ():
        if _money_text(text):
            price = decimal_string(text)
            if price:
                return price, currency_from_text(text), "text"
    return None, None, None


# What a product page has and a category page or a blog post has not: an add-to-cart form or
# button, a size picker (not a cart drawer's form, action="/cart", which every page of a shop has).
BUYING = etree.XPath(
    "//form[re:test(@action, 'cart/add|add[-_]to[-_]cart', 'i')]"
    " | //button[contains(translate(normalize-space(.), 'ADTOCRBGSKE', 'adtocrbgske'), 'add to')]"
    " | //input[@type='submit'][contains(translate(@value, 'ADTOCRBG', 'adtocrbg'), 'add to')]"
    " | //*[@name='add' or @name='add-to-cart'][self::button or self::input]"
    " | //*[contains(@class, 'add-to-cart') or contains(@class, 'add_to_cart')]"
    " | //select[re:test(concat(@name, ' ', @id, ' ', @class), 'size|volume', 'i')]",
    namespaces={"re": "http://exslt.org/regular-expressions"},
)


def product_evidence(tree: etree._Element, price_how: str | None) -> bool:
    """True when a page without structured data shows a product: a price element, an add-to-cart
    form or button, a size picker, or a title inside a product's block."""
    if price_how == "element":
        return True
    excluded = not_product(tree)
    if any(not is_within(e, excluded) for e in BUYING(tree)):
        return True
    return product_container(tree) is not None


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
    """Variants listed in the page as options carrying ``data-price`` (size pickers, price lists),
    not the products of a related-products or review widget."""
    variants = []
    options = PRICED_OPTIONS(tree)
    excluded = not_product(tree) if options else set()
    for option in options:
        if is_within(option, excluded):
            continue
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


# Found through the page's class attributes, not a test of every element (see regions.MARKED).
STRUCK_PRICES = etree.XPath("//main//del | //main//s | //@class[contains(., 'price-was')]/..")


def struck_price(tree: etree._Element, price: str) -> str | None:
    """A struck-through "was" price on a one-variant page, when it is higher than the price paid
    (not a related product's)."""
    for element in STRUCK_PRICES(tree):
        if in_not_product(tree, element):
            continue
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
DESCRIPTION_END = {"h2", "h3", "section"}
CONTAINER_LEVELS = 3
MIN_WORDS = 3


def _excluded(element: etree._Element, container: etree._Element) -> bool:
    node = element
    while node is not None and node is not container:
        marks = node.get("class") or ""
        if node.tag in NOT_DESCRIPTION or NOT_DESCRIPTION_CLASS.search(marks):
            return True
        if NOT_PRODUCT_CLASS.search(f"{marks} {node.get('id') or ''}"):
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
        if not after_title:
            continue
        if blocks and element.tag in DESCRIPTION_END:
            break  # the next section: reviews, related products, another subject
        if element.tag not in DESCRIPTION_BLOCKS:
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
    nearest ancestor that has any) up to the next subheading or section, leaving out prices, forms,
    specs tables, navigation, review and related-product widgets and what ``skip(text)`` refuses
    (the ingredient list, size labels)."""
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
