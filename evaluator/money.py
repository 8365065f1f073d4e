"""Prices: amount, sale vs regular, conversion to USD from a dated table, price per 30 mL / gram of C."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from price_parser import Price

from evaluator.text import evidence, text_of
from evaluator.vocab import toml_file

MAX_PRICE = Decimal("100000")
CENT = Decimal("0.01")


@cache
def _rates() -> dict:
    return toml_file("exchange_rates")


def parse_amount(raw: object) -> Decimal | None:
    """A price from a decimal string ("24.50") or shop text ("$24.50", "24,50 €"); None if absent."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        raw = str(raw)
    text = text_of(raw).strip()
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = Price.fromstring(text[:200]).amount
    if amount is None or not amount.is_finite():
        return None
    return amount


def decimal_text(amount: Decimal) -> str:
    """The exact decimal string of ``amount`` ("24.50", never "2.45E+1")."""
    return format(amount, "f")


def to_usd(amount: Decimal, usd_per_unit: float | str) -> Decimal:
    """``amount`` in USD, to the cent, computed in decimal (the rate is read as the decimal it reads as)."""
    return (amount * Decimal(str(usd_per_unit))).quantize(CENT, rounding=ROUND_HALF_UP)


def _currency(variant: dict) -> str | None:
    code = text_of(variant.get("currency")).strip().upper()
    if code:
        return code
    symbol = Price.fromstring(text_of(variant.get("price"))[:200]).currency
    return _rates()["symbols"].get(symbol) if symbol else None


def variant_price(variant: dict, index: int) -> dict | None:
    """The price a shopper pays now for one variant, in its currency and in USD; None if unpriced."""
    raw = text_of(variant.get("price")) or (
        str(variant["price"]) if isinstance(variant.get("price"), int | float) else ""
    )
    amount = parse_amount(raw)
    if amount is None:
        return None
    field = f"variants[{index}].price"
    ev = [evidence(field, raw, 0, len(raw))] if isinstance(variant.get("price"), str) else []
    if amount <= 0 or amount > MAX_PRICE:
        return _unknown(f"a price of {decimal_text(amount)} is not a real price", ev, index)
    currency = _currency(variant)
    regular = parse_amount(variant.get("regular_price"))
    # A "was" price beyond any real price ("1e999") is no sale: as a float it would be infinite.
    on_sale = bool(regular and amount < regular <= MAX_PRICE)
    # amount_text is the price exactly as the shop gave it; the floats are for sorting and JSON readers
    facts = {
        "status": "found",
        "variant": index,
        "amount": float(amount),
        "amount_text": decimal_text(amount),
        "currency": currency,
        "regular_amount": float(regular) if on_sale else None,
        "regular_amount_text": decimal_text(regular) if on_sale else None,
        "on_sale": on_sale,
        "usd": None,
        "converted": False,
        "rate_date": None,
        "reason": f"{decimal_text(amount)} {currency or '(currency unknown)'}",
        "evidence": ev,
    }
    rate = _rates()["usd_per_unit"].get(currency) if currency else None
    if currency == "USD":
        facts["usd"] = float(amount)
    elif rate is not None:
        usd = to_usd(amount, rate)
        facts.update(usd=float(usd), converted=True, rate_date=_rates()["date"])
        facts["reason"] += f", about {usd} USD at the rate of {_rates()['date']}"
    else:
        facts["reason"] += "; no exchange rate for this currency"
    return facts


def no_price() -> dict:
    return _unknown("no price stated", [], None)


def _unknown(reason: str, ev: list[dict], index: int | None) -> dict:
    return {
        "status": "unknown",
        "variant": index,
        "amount": None,
        "amount_text": None,
        "currency": None,
        "regular_amount": None,
        "regular_amount_text": None,
        "on_sale": False,
        "usd": None,
        "converted": False,
        "rate_date": None,
        "reason": reason,
        "evidence": ev,
    }


def per_30ml(price_usd: float | None, size_ml: float | None) -> float | None:
    if price_usd is None or not size_ml:
        return None
    return round(price_usd / size_ml * 30, 2)


def per_gram_of_active(price_per_30ml: float | None, percent: float | None) -> float | None:
    """USD per gram of an active: 30 mL at ``percent`` holds 0.3 x percent grams (w/v, density ~1)."""
    if price_per_30ml is None or not percent:
        return None
    return round(price_per_30ml / (30 * percent / 100), 2)
