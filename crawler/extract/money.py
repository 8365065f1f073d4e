"""Exact prices: shop text and numbers to decimal strings, never through float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from price_parser import Price


def decimal_string(value: object) -> str | None:
    """A price as a plain decimal string ("24.50"), or None when it is not a price."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        value = repr(value)
    text = str(value).strip()
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = Price.fromstring(text).amount
        if number is None:
            return None
    if not number.is_finite() or number < 0:
        return None
    return format(number, "f")


def from_minor_units(value: object, minor_unit: object) -> str | None:
    """WooCommerce Store API prices: ("2450", 2) -> "24.50", exactly (Decimal.scaleb)."""
    if value is None or str(value).strip() == "":
        return None
    try:
        number = Decimal(str(value).strip()).scaleb(-int(minor_unit or 0))
    except (InvalidOperation, ValueError, TypeError):
        return None
    if not number.is_finite() or number < 0:
        return None
    return format(number, "f")


def currency_from_text(text: str | None) -> str | None:
    """ISO code for a price text's currency when it names one ("€12" -> EUR), else None."""
    if not text:
        return None
    symbol = Price.fromstring(text).currency
    return {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "A$": "AUD", "C$": "CAD"}.get(
        symbol or "", symbol.upper() if symbol and len(symbol) == 3 and symbol.isalpha() else None
    )
