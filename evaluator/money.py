"""Prices: amount, sale vs regular, conversion to USD from a dated table, price per 30 mL / gram of C.

``parse_amount`` and ``currency_from_text`` are serumscope's one price reader and one currency-symbol
table: the crawler stores what they read and the evaluator judges it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache, lru_cache

from evaluator.text import evidence, text_of
from evaluator.vocab import toml_file

MAX_PRICE = Decimal("100000")  # a price above this is judged not a real price (with the reason)
CENT = Decimal("0.01")
# A number with more digits than this before the point is a typo or an attack, not a price; more
# digits after the point than MIN_EXPONENT allows are noise ("1e-999999" would be a million zeros).
MAX_ADJUSTED_EXPONENT = 6
MIN_EXPONENT = -12
MAX_PRICE_TEXT = 200


@cache
def _rates() -> dict:
    return toml_file("exchange_rates")


def parse_amount(raw: object) -> Decimal | None:
    """The number of a price: a decimal string or number ("24.50", 24.5) or shop text ("$1,299.00",
    "24,50 €", read by price-parser). None when there is none, or it is NaN, infinite or longer than
    any price; the sign is kept (a negative price is for the caller to judge)."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, float):
        text = repr(raw)
    elif isinstance(raw, int | Decimal):
        text = str(raw)
    else:
        text = text_of(raw).strip()
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        from price_parser import Price  # imported on first use: ~35 ms of start-up

        amount = Price.fromstring(text[:MAX_PRICE_TEXT]).amount
    if amount is None or not amount.is_finite():
        return None
    if amount.adjusted() > MAX_ADJUSTED_EXPONENT or amount.as_tuple().exponent < MIN_EXPONENT:
        return None
    return amount


def currency_from_text(text: object) -> str | None:
    """The ISO code of the currency a price text shows ("€12" -> "EUR", "12.00 GBP" -> "GBP"), by the
    symbols table of data/exchange_rates.toml; None when it shows none."""
    from price_parser import Price

    symbol = Price.fromstring(text_of(text)[:MAX_PRICE_TEXT]).currency
    if not symbol:
        return None
    code = _rates()["symbols"].get(symbol)
    if code:
        return code
    return symbol.upper() if len(symbol) == 3 and symbol.isalpha() else None


def decimal_text(amount: Decimal) -> str:
    """The exact decimal string of ``amount`` ("24.50", never "2.45E+1")."""
    return format(amount, "f")


def to_usd(amount: Decimal, usd_per_unit: float | str) -> Decimal:
    """``amount`` in USD, to the cent, computed in decimal (the rate is read as the decimal it reads as)."""
    return (amount * Decimal(str(usd_per_unit))).quantize(CENT, rounding=ROUND_HALF_UP)


def _currency(variant: dict) -> str | None:
    code = text_of(variant.get("currency")).strip().upper()
    return code or currency_from_text(variant.get("price"))


_PLAIN = (str, int, float, bool, type(None))


def variant_price(variant: dict, index: int) -> dict | None:
    """The price a shopper pays now for one variant, in its currency and in USD; None if unpriced."""
    given = (variant.get("price"), variant.get("currency"), variant.get("regular_price"))
    if not all(type(value) in _PLAIN for value in given):
        return _variant_price(variant, index)
    # Prices repeat across listings ("29.00" USD): each is read once, every variant gets a copy
    # with its own position and evidence.
    facts = _plain_price(*((type(value), value) for value in given))
    if facts is None:
        return None
    raw = facts["evidence"][0]["text"] if facts["evidence"] else ""
    ev = [evidence(f"variants[{index}].price", raw, 0, len(raw))] if facts["evidence"] else []
    return {**facts, "variant": index, "evidence": ev}


@lru_cache(maxsize=4096)
def _plain_price(*given: tuple[type, object]) -> dict | None:
    price, currency, regular = (value for _, value in given)
    return _variant_price({"price": price, "currency": currency, "regular_price": regular}, 0)


def _variant_price(variant: dict, index: int) -> dict | None:
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
