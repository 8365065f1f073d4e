"""The store boundary: every stage that writes rows (the crawler's store pipeline, the evaluation store)
passes them through ``storable_row``, so no shop, custom spider or evaluator bug can put into the
database what SQLite cannot encode (a lone UTF-16 surrogate, which JSON allows) or what JSON readers
cannot parse (NaN, Infinity, or a number text such as "1e999" that only a float reads as infinite).
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal, InvalidOperation

_SURROGATE = re.compile("[\ud800-\udfff]")


def storable_text(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (SQLite and UTF-8 cannot hold them)."""
    try:
        text.encode()  # fails only on a lone surrogate, and tests far faster than a regex search
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def is_finite_number(value: object) -> bool:
    """True for an int, float, Decimal or number text whose value is a finite float: the one check of
    "a number we can store and publish" (NaN, ±Infinity and "1e999" fail it)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            return False
    if isinstance(value, int | float | Decimal):
        try:
            return math.isfinite(float(value))
        except (OverflowError, ValueError):
            return False
    return False


def storable_value(value: object) -> object:
    """A value as it may be stored: text cleaned, non-finite floats as None, JSON-ready structures
    (lists, dicts) walked the same way."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, float) and not is_finite_number(value):
        return None
    if isinstance(value, dict):
        return {storable_text(str(k)): storable_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(storable_value(v) for v in value)
    if isinstance(value, Decimal):  # sqlite3 cannot bind a Decimal: its exact text, if finite
        return str(value) if is_finite_number(value) else None
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        return None  # beyond SQLite's integers
    return value


_DIGITS_AS_NUL = bytes.maketrans(b"0123456789", b"\0" * 10)


def _needs_cleaning(text: str) -> bool:
    """Whether JSON text of a value as it was shows what ``storable_value`` would have changed (a
    lone surrogate, an integer too long for SQLite, a key that was True, False or None) or may have
    (a key spelled so). Plain byte scans: a regex over a 10 kB text costs a hundred times more."""
    try:
        encoded = text.encode()
    except UnicodeEncodeError:
        return True
    # JSON text holds no NUL byte (the encoder escapes it), so 19 NULs here are 19 digits in a row
    return (
        b"\0" * 19 in encoded.translate(_DIGITS_AS_NUL)
        or b'"true":' in encoded
        or b'"false":' in encoded
        or b'"null":' in encoded
    )


def storable_json(value: object) -> str:
    """JSON text of ``value`` after ``storable_value``: never NaN or Infinity, never a lone surrogate."""
    # Walking a large structure in Python costs more than encoding it twice: encode it as it is and
    # walk it only when the encoder refuses it (NaN, a Decimal) or its text shows something to clean.
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        text = None
    if text is None or _needs_cleaning(text):
        text = json.dumps(storable_value(value), ensure_ascii=False, allow_nan=False)
    return text


def _kept(value: object) -> bool:
    """Whether ``storable_value`` keeps a flat value as it is (False for any structure: those are
    judged by the JSON scan below)."""
    if isinstance(value, str):
        try:
            value.encode()  # fails only on a lone surrogate
        except UnicodeEncodeError:
            return False
        return True
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, float):
        return math.isfinite(value)
    return False


_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})


def plain_values_kept(values: list) -> bool:
    """Whether every value of ``values`` is a flat value ``storable_value`` keeps as it is (what
    ``_kept`` judges one by one), judged kind by kind: a batch's hundred thousand values would cost
    more to judge one Python call each than to insert."""
    kinds = set(map(type, values))
    if not kinds <= _PLAIN_TYPES:
        return False
    if str in kinds:
        try:
            "".join([value for value in values if type(value) is str]).encode()
        except UnicodeEncodeError:  # a lone surrogate
            return False
    if int in kinds:
        numbers = [value for value in values if type(value) is int]
        if min(numbers) < -(2**63) or max(numbers) >= 2**63:
            return False
    return float not in kinds or all(
        map(math.isfinite, [value for value in values if type(value) is float])
    )


def storable_values(rows: list) -> list:
    """``[storable_value(row) for row in rows]``, checked in one pass: rows with nothing to clean (as
    nearly all are) come back as they are."""
    # Rows of plain columns (the evaluator's rows: their JSON columns are already text) are checked
    # value by value: encoding them all as JSON again would cost more than the insert.
    if all(
        isinstance(row, dict)
        and all(isinstance(key, str) and _kept(key) and _kept(value) for key, value in row.items())
        for row in rows
    ):
        return rows
    try:
        text = json.dumps(rows, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        text = None
    if text is None or _needs_cleaning(text):
        return [storable_value(row) for row in rows]
    return rows


def storable_row(row: dict, number_columns: tuple[str, ...] = ()) -> tuple[dict, list[str]]:
    """``row`` ready for the database, and the columns that held a value that could not be stored
    as it was. ``number_columns`` hold numbers as text (prices): one that is no finite number is None."""
    clean, invalid = {}, []
    for column, value in row.items():
        stored = storable_value(value)
        if column in number_columns and value is not None and not is_finite_number(value):
            stored = None
        if stored != value or (value is not None and stored is None):
            invalid.append(column)
        clean[column] = stored
    return clean, invalid
