"""Exact prices for storing: shop text and numbers to decimal strings, never through float.

The price reader and the currency symbols are the evaluator's (``evaluator.money``): a price is read
the same way when it is stored and when it is judged.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from evaluator.money import currency_from_text, parse_amount

__all__ = ["currency_from_text", "decimal_string", "from_minor_units", "regular_price_if_higher"]


def decimal_string(value: object) -> str | None:
    """A price as a plain decimal string ("24.50"), or None when it is not a price (negative too)."""
    amount = parse_amount(value)
    if amount is None or amount < 0:
        return None
    return format(amount, "f")


def regular_price_if_higher(regular: str | None, price: str | None) -> str | None:
    """The pre-sale price only when it is above the price paid now; else None (not on sale)."""
    if not regular or not price:
        return None
    try:
        return regular if Decimal(regular) > Decimal(price) else None
    except InvalidOperation:
        return None


def from_minor_units(value: object, minor_unit: object) -> str | None:
    """WooCommerce Store API prices: ("2450", 2) -> "24.50", exactly (Decimal.scaleb)."""
    if value is None or str(value).strip() == "":
        return None
    try:
        digits = Decimal(str(value).strip())
        places = int(minor_unit or 0)
        if not digits.is_finite() or not 0 <= places <= 6:
            return None
        number = digits.scaleb(-places)
    except (InvalidOperation, ValueError, TypeError):
        return None
    return decimal_string(number)
