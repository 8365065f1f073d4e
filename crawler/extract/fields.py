"""Small readers shared by every extractor: sizes, availability, lists of names."""

from __future__ import annotations

import re
from collections.abc import Iterable

from crawler.extract.text import clean

_NUMBER = r"\d+(?:[.,]\d+)?"
_UNIT = r"(?:ml|mls|millilit(?:er|re)s?|fl\.?\s*oz\.?|fluid\s+ounces?|oz\.?|ounces?|g|grams?|cl)"
SIZE = re.compile(
    rf"(?:\d+\s*[x×]\s*)?{_NUMBER}\s*{_UNIT}(?![a-z])"
    rf"(?:\s*[/|(]\s*{_NUMBER}\s*{_UNIT}(?![a-z])\)?)?",
    re.IGNORECASE,
)


def size_in(*texts: str | None) -> str | None:
    """The first size wording in the texts, raw ("1.0 oz / 30 mL", "2 x 15 ml"), else None."""
    for text in texts:
        if text:
            match = SIZE.search(text)
            if match:
                return match.group(0).strip()
    return None


def availability(value: object) -> int | None:
    """1 in stock, 0 not, None unknown; reads schema.org URLs, OpenGraph words and booleans."""
    if isinstance(value, bool):
        return int(value)
    text = (clean(value) or "").lower().rsplit("/", 1)[-1].replace(" ", "").replace("_", "")
    if not text:
        return None
    if text in ("instock", "limitedavailability", "onlineonly", "presale", "preorder", "true"):
        return 1
    if text in ("outofstock", "soldout", "discontinued", "instoreonly", "oos", "false"):
        return 0
    return None


def names(values: object) -> list[str]:
    """A list of display strings from strings, comma lists, dicts with ``name`` or nested lists."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    if isinstance(values, dict):
        values = [values]
    result: list[str] = []
    for value in values if isinstance(values, Iterable) else [values]:
        name = clean(value.get("name") if isinstance(value, dict) else value)
        if name and name not in result:
            result.append(name)
    return result
