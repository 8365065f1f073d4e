"""The headline facts: the few facts of an evaluation a shopper compares, each declared once.

Each one is a column of ``evaluations`` (and, when ``on_scores``, of the site's ``scores`` table), read
from the facts of docs/evaluator.md by ``read``, and described by ``description`` (the column's
description in the API and on the site). A new headline fact is a reader in evaluator/facts.py and a
line here; the store, the site's table and its column descriptions follow from this list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from evaluator.device_listing import stated_lengths


class Headline(NamedTuple):
    column: str
    type: type  # str, int or float; JSON values are stored as text
    read: Callable[[dict], Any]
    description: str
    on_scores: bool = True
    json: bool = False  # stored as JSON text (a list or an object)


def _field(name: str, key: str) -> Callable[[dict], Any]:
    return lambda facts: (facts.get(name) or {}).get(key)


def _order_contradictions(facts: dict) -> list[dict] | None:
    found = facts.get("order_contradictions") or []
    return [{"active": c.get("active"), "reason": c.get("reason")} for c in found] or None


def _converted(facts: dict) -> int | None:
    price = facts.get("price") or {}
    return int(bool(price.get("converted"))) if price.get("amount") is not None else None


HEADLINE_FACTS: tuple[Headline, ...] = (
    Headline(
        "vitamin_c_forms",
        str,
        lambda facts: [f["form"] for f in (facts.get("vitamin_c") or {}).get("forms", [])],
        "Vitamin C forms found in the ingredients (JSON list).",
        json=True,
    ),
    Headline(
        "vitamin_c_percent",
        float,
        _field("vitamin_c", "percent"),
        "Vitamin C percentage the listing states; empty when it states none.",
    ),
    Headline(
        "light",
        str,
        _field("light", "value"),
        "Light protection the packaging text names (protective, clear, conflicting or unknown).",
    ),
    Headline(
        "dispenser",
        str,
        _field("dispenser", "value"),
        "How the product is dispensed (dropper, pump, airless ...).",
    ),
    Headline(
        "size_ml",
        float,
        _field("size", "ml"),
        "Size in millilitres, converted from what the listing says.",
    ),
    Headline(
        "price",
        float,
        _field("price", "amount"),
        "Price of the offer scored (in stock if any, its size closest to 30 mL), in the shop's currency.",
    ),
    Headline("currency", str, _field("price", "currency"), "ISO 4217 currency code of price."),
    Headline("price_usd", float, _field("price", "usd"), "Price in US dollars.", on_scores=False),
    Headline(
        "price_converted",
        int,
        _converted,
        "1 when price_usd was converted from another currency.",
        on_scores=False,
    ),
    Headline(
        "price_per_30ml",
        float,
        lambda facts: facts.get("price_per_30ml"),
        "Price per 30 mL in US dollars.",
    ),
    Headline(
        "price_per_gram_vitamin_c",
        float,
        lambda facts: facts.get("price_per_gram_vitamin_c"),
        "US dollars per gram of stated vitamin C (only from an exactly stated percentage).",
        on_scores=False,
    ),
    Headline(
        "order_contradictions",
        str,
        _order_contradictions,
        "Stated percentages the ingredient order contradicts (JSON list of {active, reason});"
        " empty when none.",
        on_scores=False,
        json=True,
    ),
    # Micro-needling devices (evaluator/device_listing.py); empty for the other categories.
    Headline(
        "device_type",
        str,
        _field("device_type", "value"),
        "Micro-needling device type: roller, stamp, pen or other; empty for other products.",
    ),
    Headline(
        "needle_lengths_mm",
        str,
        lambda facts: stated_lengths(facts.get("needle_length") or {}) or None,
        "Needle lengths in mm the listing states (JSON list; an adjustable range as its two ends).",
        json=True,
    ),
    Headline(
        "needle_max_mm",
        float,
        _field("needle_length", "max_mm"),
        "The longest needle length stated, in mm (over 1.0 mm is for a professional).",
    ),
    Headline(
        "needle_material",
        str,
        _field("needle_material", "value"),
        "Needle material the listing names (stainless steel, titanium, gold-plated, dissolving).",
    ),
    Headline(
        "price_per_use",
        float,
        lambda facts: facts.get("price_per_use"),
        "A device's price in US dollars over the uses it states (else about 100, the post's figure).",
    ),
)


def headline_values(facts: dict) -> dict[str, Any]:
    """Each headline fact's value for one evaluation's facts (JSON ones as Python lists)."""
    return {fact.column: fact.read(facts) for fact in HEADLINE_FACTS}
