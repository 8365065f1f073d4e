"""Small readers shared by every extractor: sizes, availability, lists of names."""

from __future__ import annotations

from collections.abc import Iterable

from crawler.extract.text import clean
from evaluator.size import size_wording


def size_in(*texts: str | None) -> str | None:
    """The first size statement in the texts as written ("1.0 oz / 30 mL", "2 x 15 ml"), else None;
    read by the evaluator's size reader, the one that scores it."""
    for text in texts:
        wording = size_wording(text)
        if wording:
            return wording
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
