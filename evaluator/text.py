"""Where a listing's words live, and evidence that points back at them.

Every fact the evaluator reports carries evidence ``{"field", "text", "start", "end"}`` where ``text`` is
exactly ``listing[field][start:end]``; list items are addressed as ``tags[2]`` and variant fields as
``variants[0].title`` so a reader can find the words again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from evaluator.listing import LIST_FIELDS

MAX_FIELD_CHARS = 200_000  # longer text is read up to here only; the reason is reported

VARIANT_TEXT_FIELDS = ("title", "size_text")


def text_of(value: Any) -> str:
    """The string in a listing field, or "" for anything that is not a string."""
    return value if isinstance(value, str) else ""


def marketing_fields(listing: dict) -> Iterator[tuple[str, str]]:
    """(field, text) for the words a shop writes about the product: title, description, the page's
    details (specs rows, size labels, a "Details" tab), tags, image alt texts."""
    for field in ("title", "description", "details"):
        text = text_of(listing.get(field))
        if text:
            yield field, text[:MAX_FIELD_CHARS]
    for field in LIST_FIELDS:
        items = listing.get(field)
        if isinstance(items, list):
            for i, item in enumerate(items[:200]):
                if isinstance(item, str) and item:
                    yield f"{field}[{i}]", item[:MAX_FIELD_CHARS]


def variants_of(listing: dict) -> list[dict]:
    variants = listing.get("variants")
    if not isinstance(variants, list):
        return []
    return [v for v in variants[:100] if isinstance(v, dict)]


def variant_fields(listing: dict) -> Iterator[tuple[str, str]]:
    for i, variant in enumerate(variants_of(listing)):
        for key in VARIANT_TEXT_FIELDS:
            text = text_of(variant.get(key))
            if text:
                yield f"variants[{i}].{key}", text[:MAX_FIELD_CHARS]


def evidence(field: str, text: str, start: int, end: int) -> dict:
    """Evidence for ``text[start:end]`` where ``text`` is the whole value of ``field``."""
    return {"field": field, "text": text[start:end], "start": start, "end": end}


FIELD_PATH = re.compile(r"^(?P<name>\w+)(?:\[(?P<index>\d+)\])?(?:\.(?P<key>\w+))?$")


def parse_field_path(field: str | None) -> tuple[str, int | None, str | None] | None:
    """("variants", 0, "price") for "variants[0].price", ("tags", 1, None) for "tags[1]", ("title",
    None, None) for "title"; None for anything that is no field path."""
    match = FIELD_PATH.match(field or "")
    if not match:
        return None
    index = match["index"]
    return match["name"], int(index) if index is not None else None, match["key"]


def resolve_field(listing: dict, field: str) -> str | None:
    """The text a field path ("title", "tags[1]", "variants[0].price") points at, or None."""
    path = parse_field_path(field)
    if path is None:
        return None
    name, index, key = path
    value: Any = listing.get(name)
    if index is not None:
        value = value[index] if isinstance(value, list) and index < len(value) else None
    if key is not None:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) else None
