"""A product page to listing fields: schema.org data first (extruct), visible HTML for the rest.

Per field the first source that has it wins, in the order JSON-LD, microdata, OpenGraph, HTML (except
the description: the visible one, when the page has it, is the fuller text), and ``provenance`` records
which one it was. Broken JSON-LD in one ``<script>`` is reported in ``errors``
and does not stop the others being read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import lxml.html
from cssselect import HTMLTranslator
from extruct.jsonld import JsonLdExtractor
from extruct.opengraph import OpenGraphExtractor
from extruct.uniform import _umicrodata_microformat, _uopengraph
from extruct.w3cmicrodata import MicrodataExtractor
from lxml import etree
from parsel import Selector

from crawler.extract.fields import availability, names, size_in
from crawler.extract.ingredients import find_ingredients_in_tree
from crawler.extract.money import currency_from_text, decimal_string, regular_price_if_higher
from crawler.extract.text import clean, element_text

PRODUCT_TYPES = {"Product", "ProductGroup", "IndividualProduct", "ProductModel"}
LIST_PRICE_TYPES = ("ListPrice", "StrikethroughPrice", "MSRP")
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

_jsonld = JsonLdExtractor()
_microdata = MicrodataExtractor()
_opengraph = OpenGraphExtractor()


@dataclass
class PageData:
    url: str
    tree: etree._Element
    selector: Selector
    jsonld: list[dict] = field(default_factory=list)
    microdata: list[dict] = field(default_factory=list)
    opengraph: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _types(item: dict) -> set[str]:
    value = item.get("@type")
    values = value if isinstance(value, list) else [value]
    return {str(v).rsplit("/", 1)[-1] for v in values if v}


def _walk_graph(items: list) -> list[dict]:
    found = []
    for item in items:
        if isinstance(item, dict):
            found.append(item)
            graph = item.get("@graph")
            if isinstance(graph, list):
                found.extend(_walk_graph(graph))
        elif isinstance(item, list):
            found.extend(_walk_graph(item))
    return found


def parse_page(body: bytes | str, url: str, encoding: str = "utf-8") -> PageData:
    """Parse once with lxml, then run the three extruct syntaxes on the same tree.

    Never raises: an empty or unparsable body gives an empty page with the reason in ``errors``.
    """
    problem = None
    try:
        if isinstance(body, bytes):
            parser = lxml.html.HTMLParser(encoding=encoding)
            tree = lxml.html.fromstring(body, parser=parser, base_url=url)
        else:
            tree = lxml.html.fromstring(body, base_url=url)
    except (etree.ParserError, ValueError, LookupError) as error:
        problem = f"unreadable HTML: {error or 'empty document'}"
        tree = lxml.html.fromstring("<html><body></body></html>", base_url=url)
    page = PageData(url=url, tree=tree, selector=Selector(root=tree, type="html"))
    if problem:
        page.errors.append(problem)
        return page
    for index, script in enumerate(tree.xpath('//script[@type="application/ld+json"]'), start=1):
        try:
            page.jsonld.extend(item for item in _jsonld._extract_items(script) if item)
        except Exception as error:
            page.errors.append(f"invalid JSON-LD in script #{index}: {error}")
    page.jsonld = _walk_graph(page.jsonld)
    try:
        page.microdata = _walk_graph(
            _umicrodata_microformat(_microdata.extract_items(tree, url), "http://schema.org")
        )
    except Exception as error:
        page.errors.append(f"unreadable microdata: {error}")
    try:
        graphs = _uopengraph(_opengraph.extract_items(tree), with_og_array=True)
        for graph in graphs:
            page.opengraph.update({k: v for k, v in graph.items() if k not in page.opengraph})
    except Exception as error:
        page.errors.append(f"unreadable OpenGraph: {error}")
    return page


def _first_product(items: list[dict]) -> dict | None:
    return next((item for item in items if _types(item) & PRODUCT_TYPES), None)


def _breadcrumb_position(element: dict) -> float:
    """A ListItem's ``position`` as a number; a missing or wordy one ("first") keeps page order."""
    try:
        position = float(element.get("position") or 0)
    except (TypeError, ValueError):
        return 0.0
    return position if position == position and abs(position) != float("inf") else 0.0


def _breadcrumb(items: list[dict]) -> list[str]:
    for item in items:
        if "BreadcrumbList" in _types(item):
            elements = item.get("itemListElement") or []
            if isinstance(elements, dict):
                elements = [elements]
            ordered = sorted((e for e in elements if isinstance(e, dict)), key=_breadcrumb_position)
            crumbs = []
            for element in ordered:
                target = element.get("item")
                name = element.get("name") or (
                    target.get("name") if isinstance(target, dict) else None
                )
                if clean(name):
                    crumbs.append(clean(name))
            return crumbs
    return []


def _image_alts_from_schema(product: dict) -> list[str]:
    images = product.get("image")
    images = images if isinstance(images, list) else [images]
    alts = []
    for image in images:
        if isinstance(image, dict):
            alt = clean(image.get("caption") or image.get("name") or image.get("description"))
            if alt and alt not in alts:
                alts.append(alt)
    return alts


def _price_spec_regular(offer: dict) -> str | None:
    specs = offer.get("priceSpecification")
    specs = specs if isinstance(specs, list) else [specs]
    for spec in specs:
        if isinstance(spec, dict) and any(
            str(spec.get("priceType", "")).endswith(kind) for kind in LIST_PRICE_TYPES
        ):
            return decimal_string(spec.get("price"))
    return None


def _offer_price(offer: dict) -> tuple[str | None, str | None]:
    price = offer.get("price")
    currency = offer.get("priceCurrency")
    if price is None:
        specs = offer.get("priceSpecification")
        specs = specs if isinstance(specs, list) else [specs]
        for spec in specs:
            if isinstance(spec, dict) and not any(
                str(spec.get("priceType", "")).endswith(kind) for kind in LIST_PRICE_TYPES
            ):
                price = spec.get("price")
                currency = currency or spec.get("priceCurrency")
                break
    return decimal_string(price), clean(currency)


def _offers(value: object) -> list[dict]:
    values = value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, dict)]


def variants_from_offers(product: dict) -> list[dict]:
    """Variants from ``hasVariant`` products or ``offers`` (an Offer, a list, or an AggregateOffer)."""
    product_sku = clean(product.get("sku"))
    if product.get("hasVariant"):
        variants = []
        for child in _offers(product.get("hasVariant")):
            for variant in variants_from_offers({**child, "hasVariant": None}):
                variant["title"] = variant["title"] or clean(child.get("name"))
                variant["size_text"] = variant["size_text"] or size_in(
                    clean(child.get("size")), clean(child.get("name"))
                )
                variants.append(variant)
        if variants:
            return variants
    variants = []
    for offer in _offers(product.get("offers")):
        if "AggregateOffer" in _types(offer) and not offer.get("offers"):
            price = decimal_string(offer.get("lowPrice") or offer.get("price"))
            variants.append(
                {
                    "title": None,
                    "size_text": size_in(clean(product.get("size"))),
                    "price": price,
                    "regular_price": None,
                    "currency": clean(offer.get("priceCurrency")),
                    "available": availability(offer.get("availability")),
                    "sku": product_sku,
                    "price_is_lowest_of_range": decimal_string(offer.get("highPrice")) != price,
                }
            )
            continue
        inner = _offers(offer.get("offers")) if "AggregateOffer" in _types(offer) else [offer]
        for item in inner:
            price, currency = _offer_price(item)
            name = clean(item.get("name"))
            variants.append(
                {
                    "title": name,
                    "size_text": size_in(name, clean(item.get("size")), clean(product.get("size"))),
                    "price": price,
                    "regular_price": regular_price_if_higher(_price_spec_regular(item), price),
                    "currency": currency or clean(offer.get("priceCurrency")),
                    "available": availability(item.get("availability")),
                    "sku": clean(item.get("sku")) or product_sku,
                }
            )
    return variants


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
H1 = etree.XPath("//h1")
CANONICAL = etree.XPath("//link[@rel='canonical']/@href")
PRODUCT_IMAGES = etree.XPath(
    "//main//img[@alt][not(ancestor::header or ancestor::nav or ancestor::footer)]"
    " | //*[contains(@itemtype, 'Product')]//img[@alt]"
    "[not(ancestor::header or ancestor::nav or ancestor::footer)]"
)
BRAND = etree.XPath(
    "//*[@itemprop='brand'] | " + _css.css_to_xpath(".product-vendor, .product__vendor, .brand")
)


def _first_text(page: PageData, xpaths: tuple[etree.XPath, ...]) -> tuple[str | None, str | None]:
    for xpath in xpaths:
        for element in xpath(page.tree):
            text = element_text(element)
            if text:
                return text, lxml.html.tostring(element, encoding="unicode", with_tail=False)
    return None, None


def _html_image_alts(page: PageData) -> list[str]:
    alts = []
    for img in PRODUCT_IMAGES(page.tree):
        alt = clean(img.get("alt"))
        if alt and alt not in alts:
            alts.append(alt)
    return alts


def _html_breadcrumbs(page: PageData) -> list[str]:
    for xpath in BREADCRUMB_XPATHS:
        crumbs = [clean(" ".join(e.itertext())) for e in xpath(page.tree)]
        crumbs = [c for c in crumbs if c and c not in ("/", ">", "›")]
        if crumbs:
            return crumbs
    return []


def _html_price(page: PageData) -> tuple[str | None, str | None]:
    for xpath in PRICE_XPATHS:
        for raw in xpath(page.tree):
            price = decimal_string(str(raw))
            if price:
                return price, currency_from_text(str(raw))
    return None, None


def _html_brand(page: PageData) -> str | None:
    for element in BRAND(page.tree):
        brand = clean(element.get("content") or " ".join(element.itertext()))
        if brand:
            return brand
    return None


PRICED_OPTIONS = etree.XPath("//main//*[@data-price]")
SIZE_LABEL = etree.XPath(".//*[contains(concat(' ', normalize-space(@class), ' '), ' size ')]")
STRUCK_IN = etree.XPath(".//del | .//s | .//*[contains(@class, 'price-was')]")


def _html_variants(page: PageData, currency: str | None, available: int | None) -> list[dict]:
    """Variants listed in the page as options carrying ``data-price`` (size pickers, price lists)."""
    variants = []
    for option in PRICED_OPTIONS(page.tree):
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


def _html_struck_price(page: PageData, price: str) -> str | None:
    """A struck-through "was" price on a one-variant page, when it is higher than the price paid."""
    for element in STRUCK_PRICES(page.tree):
        was = regular_price_if_higher(decimal_string(" ".join(element.itertext())), price)
        if was:
            return was
    return None


def canonical_url(page: PageData) -> str:
    hrefs = CANONICAL(page.tree)
    href = hrefs[0] if hrefs else None
    href = href or (clean(page.opengraph.get("og:url")) if page.opengraph else None)
    return urljoin(page.url, href.strip()) if href else page.url


def product_from_page(page: PageData) -> dict[str, Any] | None:
    """Listing fields (plus ``variants``, ``provenance`` and ``canonical_url``) from a parsed page.

    None when the page shows no product at all (no schema.org Product, no product OpenGraph, no title).
    """
    fields: dict[str, Any] = {}
    provenance: dict[str, str] = {}

    def put(name: str, value: Any, source: str) -> None:
        if value in (None, "", [], {}) or name in fields:
            return
        fields[name] = value
        provenance[name] = source

    sources = [
        ("json-ld", _first_product(page.jsonld), page.jsonld),
        ("microdata", _first_product(page.microdata), page.microdata),
    ]
    for source, product, items in sources:
        if not product:
            continue
        put("title", clean(product.get("name")), source)
        put("brand", clean(product.get("brand") or product.get("manufacturer")), source)
        put("description", clean_multiline(product.get("description")), source)
        put(
            "sku",
            clean(product.get("sku") or product.get("productID") or product.get("mpn")),
            source,
        )
        put("categories", names(product.get("category")), source)
        put("image_alts", _image_alts_from_schema(product), source)
        put("variants", [v for v in variants_from_offers(product) if v.get("price")], source)
        put("categories", _breadcrumb(items), source)

    og = page.opengraph
    is_og_product = str(og.get("@type", "")).startswith("product") or "product:price:amount" in og
    if og:
        put("title", clean(og.get("og:title")), "opengraph")
        put("description", clean_multiline(og.get("og:description")), "opengraph")
        put("brand", clean(og.get("product:brand") or og.get("og:brand")), "opengraph")
        alts = og.get("og:image:alt")
        put("image_alts", names(alts), "opengraph")
        amount = decimal_string(clean(og.get("product:price:amount") or og.get("og:price:amount")))
        if amount:
            put(
                "variants",
                [
                    {
                        "title": None,
                        "size_text": None,
                        "price": amount,
                        "regular_price": None,
                        "currency": clean(
                            og.get("product:price:currency") or og.get("og:price:currency")
                        ),
                        "available": availability(
                            og.get("product:availability") or og.get("og:availability")
                        ),
                        "sku": clean(og.get("product:retailer_item_id")),
                    }
                ],
                "opengraph",
            )

    h1 = H1(page.tree)
    if not fields and not is_og_product:
        html_price = _html_price(page)
        if not (h1 and html_price[0]):
            return None
    put("title", element_text(h1[0]) if h1 else None, "html")
    description_text, description_html = _first_text(page, DESCRIPTION_XPATHS)
    if description_text:
        # The visible description wins over structured data's, which is often a short SEO summary
        # without what the evaluator needs (packaging, percentages).
        fields.pop("description", None)
    put("description", description_text, "html")
    put("description_html", description_html, "html")
    if "brand" not in fields:
        put("brand", _html_brand(page), "html")
    if "categories" not in fields:
        put("categories", _html_breadcrumbs(page), "html")
    if "image_alts" not in fields:
        put("image_alts", _html_image_alts(page), "html")
    if "variants" not in fields:
        price, currency = _html_price(page)
        if price:
            put(
                "variants",
                [{"title": None, "size_text": None, "price": price, "regular_price": None,
                  "currency": currency, "available": None, "sku": None}],
                "html",
            )  # fmt: skip
    found = find_ingredients_in_tree(page.tree)
    if found:
        put("ingredients_text", found.text, "html")

    if "title" not in fields:
        return None
    if fields.get("categories"):
        crumbs = [c for c in fields["categories"] if c.lower() != "home" and c != fields["title"]]
        if crumbs:
            fields["categories"] = crumbs
        else:
            del fields["categories"]
            del provenance["categories"]
    variants = fields.get("variants", [])
    partial = provenance.get("variants") == "opengraph" or any(
        v.get("price_is_lowest_of_range") for v in variants
    )
    if partial or not variants:
        known = variants[0] if variants else {}
        listed = _html_variants(page, known.get("currency"), known.get("available"))
        if listed and (not variants or known.get("price") in {v["price"] for v in listed}):
            fields["variants"] = variants = listed
            provenance["variants"] = "html"
    for variant in variants:
        variant.pop("price_is_lowest_of_range", None)
    if len(variants) == 1 and not variants[0].get("regular_price") and variants[0].get("price"):
        variants[0]["regular_price"] = _html_struck_price(page, variants[0]["price"])
    for variant in variants:
        variant["size_text"] = variant.get("size_text") or size_in(fields["title"])
    fields["provenance"] = provenance
    fields["canonical_url"] = canonical_url(page)
    return fields


def clean_multiline(value: object) -> str | None:
    """Description text from structured data: may hold HTML; keep its paragraphs as lines."""
    text = clean(value) if not isinstance(value, str) else value
    if not text or not text.strip():
        return None
    if "<" in text and ">" in text:
        from crawler.extract.text import html_to_text

        return html_to_text(text)
    from crawler.extract.text import tidy

    return tidy(text) or None
