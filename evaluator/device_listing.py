"""The micro-needling device category's reader (data/categories.toml): which listings are devices and
the facts its rubric checks: the device facts of evaluator/devices.py, the price of the offer judged and
the price per use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evaluator.devices import device_facts
from evaluator.money import no_price, variant_price
from evaluator.text import variants_of

# The seed post: replace a device after about 100 uses (sooner when it wears).
DEFAULT_USES = 100
DEVICE_KINDS = {"device", "kit", None}  # relevance kinds a micro-needling listing may carry


def is_device(listing: dict, judgement: dict) -> tuple[bool, str]:
    """A listing is a micro-needling device when it names one (a roller, stamp or pen with needles)
    and the relevance judgement does not put it in another kind of product (a serum, a mask)."""
    kind = judgement.get("kind")
    if kind not in DEVICE_KINDS:
        return False, f"its kind is {kind}"
    device_type = device_facts(listing)["device_type"]
    if device_type.get("status") != "found":
        return False, device_type.get("reason") or "no micro-needling device is named"
    return True, device_type["reason"]


def stated_lengths(needle_length: dict) -> list[float]:
    """Every needle length a needle-length fact states, in mm (an adjustable range as its two ends)."""
    if needle_length.get("status") != "found":
        return []
    values = list(needle_length.get("value") or [])
    for low, high in needle_length.get("ranges_mm") or []:
        values += [low, high]
    return sorted(set(values))


def _guard(problems: list[str], name: str, fallback: Any, reader: Callable[[], Any]) -> Any:
    try:
        return reader()
    except Exception as error:  # a reader must never take the evaluation down with it
        problems.append(f"{name}: {type(error).__name__}: {str(error)[:200]}")
        return fallback


def _offer_price(listing: dict) -> dict:
    """The price of the offer judged: the cheapest priced variant in stock (else the cheapest)."""
    priced = []
    for index, variant in enumerate(variants_of(listing)[:30]):
        price = variant_price(variant, index)
        if price is not None and price["status"] == "found":
            priced.append(
                (variant.get("available") == 0, price["usd"] is None, price["amount"], price)
            )
    if not priced:
        return no_price()
    return min(priced, key=lambda offer: offer[:3])[3]


def _per_use(price: dict, uses: dict) -> tuple[float | None, str]:
    if price.get("usd") is None:
        return None, "no price in US dollars"
    stated = uses.get("value") if uses.get("status") == "found" else None  # "10-15 uses": 10
    count, source = (stated, "the uses it states") if stated else (DEFAULT_USES, "about 100 uses")
    return round(price["usd"] / count, 2), f"{price['usd']:.2f} USD over {source} ({count})"


def read_device_facts(listing: dict) -> dict:
    """Every fact the devices rubric checks, each with its evidence or "unknown" with a reason."""
    problems: list[str] = []
    facts = _guard(problems, "device", {}, lambda: device_facts(listing))
    price = _guard(problems, "price", no_price(), lambda: _offer_price(listing))
    per_use, per_use_reason = _guard(
        problems,
        "price per use",
        (None, "could not be worked out"),
        lambda: _per_use(price, facts.get("uses") or {}),
    )
    return {
        **facts,
        "price": price,
        "price_per_use": per_use,
        "price_per_use_reason": per_use_reason,
        "problems": problems,
    }
