"""A product page to listing fields: schema.org data first (extruct, read in schema_org.py), visible
HTML (html_fields.py) for the rest.

Per field the first source that has it wins, in the order JSON-LD, microdata, OpenGraph, HTML (except
the description: the visible one, when the page has it, is the fuller text), and ``provenance`` records
which one it was. Broken JSON-LD in one ``<script>`` is reported in ``errors``
and does not stop the others being read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import urljoin

import extruct
import lxml.html
from extruct.jsonld import JsonLdExtractor
from lxml import etree
from parsel import Selector

from crawler.extract import html_fields, schema_org
from crawler.extract.fields import availability, names, size_in
from crawler.extract.ingredients import (
    FoundIngredients,
    find_ingredients_in_html,
    find_ingredients_in_tree,
)
from crawler.extract.label_scan import label_texts
from crawler.extract.money import decimal_string
from crawler.extract.regions import is_within, not_product
from crawler.extract.sizes import (
    FoundSize,
    find_size,
    fragment_size,
    is_size_line,
    page_details,
)
from crawler.extract.text import clean, element_text
from evaluator.labels import INGREDIENTS_START
from evaluator.size import SIZE_LABEL

SYNTAXES = ["json-ld", "microdata", "opengraph"]  # the others cost ~70x more and say nothing we use
# Microdata items are elements with an ``itemscope`` attribute, whose name no character reference
# can spell: a page whose text lacks the word has none, and extruct's microdata pass (half of its
# time on a page) is skipped.
ITEMSCOPE = "itemscope"


def syntaxes_of(body: bytes | str, encoding: str) -> list[str]:
    """The structured data syntaxes worth extracting from ``body``: SYNTAXES without microdata when
    the page surely has none (its text, in an ASCII-compatible encoding, never says itemscope)."""
    if isinstance(body, bytes):
        try:
            plain = ITEMSCOPE.upper().encode(encoding) == ITEMSCOPE.upper().encode()
            plain = plain and ITEMSCOPE.encode(encoding) == ITEMSCOPE.encode()
        except (LookupError, UnicodeError):
            plain = False
        found = not plain or ITEMSCOPE.encode() in body.lower()
    else:
        found = ITEMSCOPE in body.lower()
    return SYNTAXES if found else [s for s in SYNTAXES if s != "microdata"]


@dataclass
class PageData:
    url: str
    tree: etree._Element
    selector: Selector
    jsonld: list[dict] = field(default_factory=list)
    microdata: list[dict] = field(default_factory=list)
    opengraph: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


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
    try:
        found = extruct.extract(
            tree,
            base_url=url,
            syntaxes=syntaxes_of(body, encoding),
            uniform=True,
            with_og_array=True,
        )
    except Exception:
        found = _extract_each(tree, url, page.errors)
    page.jsonld = schema_org.walk_graph(found.get("json-ld", []))
    page.microdata = schema_org.walk_graph(found.get("microdata", []))
    for graph in found.get("opengraph", []):
        page.opengraph.update({k: v for k, v in graph.items() if k not in page.opengraph})
    return page


def _extract_each(tree: etree._Element, url: str, errors: list[str]) -> dict[str, list]:
    """Structured data of a page where one syntax failed: each JSON-LD script and each other syntax
    on its own, so one broken ``<script>`` is reported and does not hide the rest."""
    found: dict[str, list] = {"json-ld": []}
    for index, script in enumerate(tree.xpath('//script[@type="application/ld+json"]'), start=1):
        try:
            found["json-ld"].extend(JsonLdExtractor().extract_items(script))
        except Exception as error:
            errors.append(f"invalid JSON-LD in script #{index}: {error}")
    for syntax, options in (("microdata", {}), ("opengraph", {"with_og_array": True})):
        try:
            found |= extruct.extract(tree, base_url=url, syntaxes=[syntax], uniform=True, **options)
        except Exception as error:
            errors.append(f"unreadable {'OpenGraph' if syntax == 'opengraph' else syntax}: {error}")
    return found


CANONICAL = etree.XPath("//link[@rel='canonical']/@href")
H1 = etree.XPath("//h1")


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

    structured_description: tuple[str, str] | None = None
    sources = [
        ("json-ld", schema_org.first_product(page.jsonld), page.jsonld),
        ("microdata", schema_org.first_product(page.microdata), page.microdata),
    ]
    for source, product, items in sources:
        if not product:
            continue
        put("title", clean(product.get("name")), source)
        put("brand", clean(product.get("brand") or product.get("manufacturer")), source)
        put("description", clean_multiline(product.get("description")), source)
        if isinstance(product.get("description"), str) and not structured_description:
            structured_description = (source, product["description"])
        put(
            "sku",
            clean(product.get("sku") or product.get("productID") or product.get("mpn")),
            source,
        )
        put("categories", names(product.get("category")), source)
        put("image_alts", schema_org.image_alts(product), source)
        put(
            "variants",
            [v for v in schema_org.variants_from_offers(product) if v.get("price")],
            source,
        )
        put("categories", schema_org.breadcrumb(items), source)

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
    html_price: list[tuple[str | None, str | None, str | None]] = []

    def shown_price() -> tuple[str | None, str | None, str | None]:
        """The HTML's price (html_fields.price_and_currency), read once, when needed."""
        if not html_price:
            html_price.append(html_fields.price_and_currency(page.tree))
        return html_price[0]

    labels = label_texts(page.tree)
    found = find_ingredients_in_tree(page.tree, labels)
    if not (
        fields or is_og_product or h1 and _shows_product(page, shown_price()[2], labels, found)
    ):
        return None
    put("title", element_text(h1[0]) if h1 else None, "html")
    if found:
        put("ingredients_text", found.text, "html")
    elif structured_description:
        found = find_ingredients_in_html(as_html(structured_description[1]))
        put("ingredients_text", found.text if found else None, structured_description[0])
    description_text, description_html = html_fields.description(page.tree)
    if not description_text and h1:
        # No description element: the paragraphs of the product's container, when structured data
        # has no description or only a summary of them.
        text, html = html_fields.container_description(h1[0], _not_description(found))
        if text and _fuller(text, fields.get("description")):
            description_text, description_html = text, html
    if description_text:
        # The visible description wins over structured data's, which is often a short SEO summary
        # without what the evaluator needs (packaging, percentages).
        fields.pop("description", None)
    put("description", description_text, "html")
    put("description_html", description_html, "html")
    if "brand" not in fields:
        put("brand", html_fields.brand(page.tree), "html")
    if "categories" not in fields:
        put("categories", html_fields.breadcrumbs(page.tree), "html")
    if "image_alts" not in fields:
        put("image_alts", html_fields.image_alts(page.tree), "html")
    if "variants" not in fields:
        price, currency, _ = shown_price()
        if price:
            put(
                "variants",
                [{"title": None, "size_text": None, "price": price, "regular_price": None,
                  "currency": currency, "available": None, "sku": None}],
                "html",
            )  # fmt: skip

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
        listed = html_fields.priced_options(
            page.tree, known.get("currency"), known.get("available")
        )
        if listed and (not variants or known.get("price") in {v["price"] for v in listed}):
            fields["variants"] = variants = listed
            provenance["variants"] = "html"
    for variant in variants:
        variant.pop("price_is_lowest_of_range", None)
    if len(variants) == 1 and not variants[0].get("regular_price") and variants[0].get("price"):
        variants[0]["regular_price"] = html_fields.struck_price(page.tree, variants[0]["price"])
    size = None
    if not variants or not all(v.get("size_text") for v in variants):
        size = find_size(page.tree, labels)
        if size is None and structured_description and SIZE_LABEL.search(structured_description[1]):
            size = fragment_size(as_html(structured_description[1]))
        if size is not None and size.outside and size_in(fields["title"]):
            size = None  # the title's size beats a label outside the product's block
    put_sizes(variants, provenance, size, fields["title"])
    put("details", page_details(page.tree, size, labels), "html")
    fields["provenance"] = provenance
    fields["canonical_url"] = canonical_url(page)
    return fields


def _shows_product(
    page: PageData, price_how: str | None, labels, ingredients: FoundIngredients | None
) -> bool:
    """A page with only HTML shows a product when it has product evidence (html_fields), or a money
    text after its title and an ingredient list or a size label line ("SIZE 1 oz•ITEM 123");
    not any heading with a money text after it (a category page, a blog post)."""
    if html_fields.product_evidence(page.tree, price_how):
        return True
    if price_how != "text":
        return False
    if ingredients:
        return True
    excluded = not_product(page.tree)
    return any(
        is_size_line(text.strip()) and not is_within(element, excluded)
        for element, text in labels["size"]
    )


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


def as_html(description: str) -> str:
    """Structured data's description as HTML: markup stays, plain lines become paragraphs."""
    if "<" in description and ">" in description:
        return description
    return "".join(f"<p>{escape(line)}</p>" for line in description.split("\n") if line.strip())


def _not_description(ingredients: FoundIngredients | None):
    head = " ".join(ingredients.text.split())[:200] if ingredients else None

    def skip(text: str) -> bool:
        if INGREDIENTS_START.match(text) or is_size_line(text):
            return True
        return bool(head) and head in " ".join(text.split())

    return skip


def _fuller(text: str, summary: str | None) -> bool:
    """True when ``text`` says more than ``summary`` (structured data's description) and has it."""
    if not summary:
        return True
    flat, short = " ".join(text.split()), " ".join(summary.split())
    return len(flat) > len(short) and short[:40].rstrip(". …") in flat


SIZE_PROVENANCE = {"html": "html-option"}


def put_sizes(
    variants: list[dict], provenance: dict[str, str], size: FoundSize | None, title: str
) -> None:
    """Give variants without a size the page's: its size label or picker, else the title's; record
    where the sizes came from in ``provenance["size"]``."""
    if any(v.get("size_text") for v in variants):
        source = provenance.get("variants", "html")
        provenance["size"] = SIZE_PROVENANCE.get(source, source)
    if len(variants) == 1 and not variants[0].get("size_text") and size is not None:
        variants[0]["size_text"] = size.wording
        provenance["size"] = size.how
    in_title = size_in(title)
    for variant in variants:
        if not variant.get("size_text") and in_title:
            variant["size_text"] = in_title
            provenance.setdefault("size", "title")
