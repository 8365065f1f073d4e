"""schema.org data (JSON-LD and microdata items from extruct) to listing fields and variants."""

from __future__ import annotations

from crawler.extract.fields import availability, size_in
from crawler.extract.money import decimal_string, regular_price_if_higher
from crawler.extract.text import clean

PRODUCT_TYPES = {"Product", "ProductGroup", "IndividualProduct", "ProductModel"}
LIST_PRICE_TYPES = ("ListPrice", "StrikethroughPrice", "MSRP")


def types(item: dict) -> set[str]:
    value = item.get("@type")
    values = value if isinstance(value, list) else [value]
    return {str(v).rsplit("/", 1)[-1] for v in values if v}


def walk_graph(items: list) -> list[dict]:
    found = []
    for item in items:
        if isinstance(item, dict):
            found.append(item)
            graph = item.get("@graph")
            if isinstance(graph, list):
                found.extend(walk_graph(graph))
        elif isinstance(item, list):
            found.extend(walk_graph(item))
    return found


def first_product(items: list[dict]) -> dict | None:
    return next((item for item in items if types(item) & PRODUCT_TYPES), None)


def _breadcrumb_position(element: dict) -> float:
    """A ListItem's ``position`` as a number; a missing or wordy one ("first") keeps page order."""
    try:
        position = float(element.get("position") or 0)
    except (TypeError, ValueError):
        return 0.0
    return position if position == position and abs(position) != float("inf") else 0.0


def breadcrumb(items: list[dict]) -> list[str]:
    for item in items:
        if "BreadcrumbList" in types(item):
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


def image_alts(product: dict) -> list[str]:
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


GTIN_KEYS = ("gtin13", "gtin", "gtin12", "gtin14", "gtin8", "isbn")


def product_codes(item: dict) -> tuple[str | None, str | None]:
    """(GTIN, MPN) as an item states them (``gtin13``, ``gtin``, ... and ``mpn``), not validated."""
    gtin = next((clean(str(item[k])) for k in GTIN_KEYS if item.get(k)), None)
    return gtin, clean(item.get("mpn"))


def variants_from_offers(product: dict) -> list[dict]:
    """Variants from ``hasVariant`` products or ``offers`` (an Offer, a list, or an AggregateOffer)."""
    product_sku = clean(product.get("sku"))
    product_gtin, product_mpn = product_codes(product)
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
        if "AggregateOffer" in types(offer) and not offer.get("offers"):
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
                    "gtin": product_gtin,
                    "mpn": product_mpn,
                    "price_is_lowest_of_range": decimal_string(offer.get("highPrice")) != price,
                }
            )
            continue
        inner = _offers(offer.get("offers")) if "AggregateOffer" in types(offer) else [offer]
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
                    "gtin": product_codes(item)[0] or product_gtin,
                    "mpn": product_codes(item)[1] or product_mpn,
                }
            )
    return variants
