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
    return _plain(number)


# A price with more than this many digits before the point is a typo or an attack, not a price.
MAX_ADJUSTED_EXPONENT = 6
# More digits after the point than this are noise (and "1e-999999" would be a million zeros).
MIN_EXPONENT = -12


def _plain(number: Decimal) -> str | None:
    """The decimal string of a sane price, or None for NaN, infinity, negatives, absurd sizes."""
    if not number.is_finite() or number < 0:
        return None
    if number.adjusted() > MAX_ADJUSTED_EXPONENT or number.as_tuple().exponent < MIN_EXPONENT:
        return None
    return format(number, "f")


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
    return _plain(number)


def currency_from_text(text: str | None) -> str | None:
    """ISO code for a price text's currency when it names one ("€12" -> EUR), else None."""
    if not text:
        return None
    symbol = Price.fromstring(text).currency
    return {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "A$": "AUD", "C$": "CAD"}.get(
        symbol or "", symbol.upper() if symbol and len(symbol) == 3 and symbol.isalpha() else None
    )
