"""What a listing sells: per variant its price and pack size, and the offer a rubric judges."""

from __future__ import annotations

from functools import lru_cache

from evaluator.money import per_30ml, variant_price
from evaluator.size import size_facts
from evaluator.text import MAX_FIELD_CHARS, marketing_fields, text_of, variants_of

STANDARD_ML = 30.0
MAX_VARIANTS = 30


def shared_size(listing: dict) -> dict:
    """The size stated for the whole listing (see ``size_facts`` for the order of places)."""
    title = text_of(listing.get("title"))
    description = text_of(listing.get("description"))[:MAX_FIELD_CHARS]
    details = text_of(listing.get("details"))[:MAX_FIELD_CHARS]
    alts = [(f, t) for f, t in marketing_fields(listing) if f.startswith("image_alts[")]
    return size_facts(
        [("title", title)] if title else [],
        ("description", description) if description else None,
        alts,
        [("details", details)] if details else [],
    )


def read_offers(listing: dict) -> list[dict]:
    """Per variant: its price and its size (the variant's own words first, else the listing's)."""
    offers = []
    shared = None
    for index, variant in enumerate(variants_of(listing)[:MAX_VARIANTS]):
        sources = tuple(
            (f"variants[{index}].{key}", text_of(variant.get(key)))
            for key in ("size_text", "title")
            if text_of(variant.get(key))
        )
        size = _own_size(sources)
        if size["kind"] == "unknown" and not size["evidence"]:
            shared = shared or shared_size(listing)
            size = shared
        offers.append(
            {
                "variant": index,
                "available": variant.get("available") != 0,
                "price": variant_price(variant, index),
                "size": size,
            }
        )
    return offers


# Variants' size words repeat across listings ("30 ml", "1 oz / 30 mL", "Travel size 15 ml"): each
# wording at each variant position is read once; every offer gets its own copy.
@lru_cache(maxsize=4096)
def _variant_size(sources: tuple[tuple[str, str], ...]) -> dict:
    return size_facts(list(sources))


def _own_size(sources: tuple[tuple[str, str], ...]) -> dict:
    size = _variant_size(sources)
    return {**size, "evidence": [dict(e) for e in size["evidence"]]}


def choose_offer(offers: list[dict]) -> dict | None:
    """The offer the rubric judges: priced, in stock if possible, its size closest to 30 mL."""
    priced = [o for o in offers if o["price"] is not None and o["price"]["status"] == "found"]
    if not priced:
        return next((o for o in offers if o["price"] is not None), None)

    def rank(offer: dict) -> tuple:
        ml = offer["size"]["ml"]
        return (not offer["available"], ml is None, abs((ml or 0) - STANDARD_ML), offer["variant"])

    return min(priced, key=rank)


def offer_summary(offer: dict) -> dict:
    """One row of ``facts["offers"]``."""
    price = offer["price"] or {}
    return {
        "variant": offer["variant"],
        "available": offer["available"],
        "amount": price.get("amount"),
        "amount_text": price.get("amount_text"),
        "currency": price.get("currency"),
        "usd": price.get("usd"),
        "on_sale": bool(price.get("on_sale")),
        "size_ml": offer["size"]["ml"],
        "price_per_30ml": per_30ml(price.get("usd"), offer["size"]["ml"]),
    }
