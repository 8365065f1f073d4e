"""INCI ingredient lists: find the list in a listing, split it, name each ingredient canonically.

Each ingredient keeps its 1-based position in the list (order matters: the INCI 1% rule) and the span
of text it came from.
"""

from __future__ import annotations

import re
from functools import lru_cache

from evaluator.labels import INGREDIENTS_WORDS
from evaluator.text import evidence, text_of
from evaluator.vocab import Ingredient, ingredients, lookup_key

# Breaks between parts of an ingredients field: line breaks, HTML tags, sentence ends before a bullet or
# capital, and labels such as "Ingredients:" / "Inactive Ingredients:".
_SEGMENT_BREAK = re.compile(
    r"\n|<[^>]{0,200}>|(?<=[a-z)]\.)\s+(?=[-•*A-Z])(?!(?i:may contain))|"
    r"(?P<label>(?i:\b(?:full |other )?(?P<drug>(?:in)?active )?ingredients?(?: list)?\s*:|"
    r"\b(?:in)?active\s*:|\binci\s*:))"
)
# One ingredient: text up to a top-level separator, with parentheses/brackets kept whole (2 levels).
_ITEM = re.compile(
    r"(?:[^,;•()\[\]\n]++|(?<=\d),(?=\d)|\((?:[^()]++|\([^()]*\))*\)|\[(?:[^\[\]]++|\[[^\[\]]*\])*\])+"
)
_MAY_CONTAIN = re.compile(r"(?i)[(\[]?\s*(?:\bmay contain\b|\+/-)\s*[)\]]?\s*:?")
_INLINE_PERCENT = re.compile(r"\(?(?<![\d.,])\d{1,3}(?:[.,]\d{1,3})?[ \t]{0,3}%\)?")
_PAREN = re.compile(r"\s*[(\[][^)\]]*[)\]]\s*")
_PAREN_CONTENT = re.compile(r"[(\[]([^)\]]*)[)\]]")
_PREFIX = re.compile(r"^(?:organic|certified organic|natural|pure|cold[- ]pressed)\s+", re.I)
_DESCRIPTION_LIST = re.compile(rf"(?i)\b{INGREDIENTS_WORDS}\s*:\s*([^\n]{{10,}})")
_SENTENCE_WORDS = re.compile(
    r"(?i)\b(?:helps?|the|your|skin|our|we|is|are|and|with|for|that|this|to|of|visibly|see|please)\b"
)

MIN_LIST_ITEMS = 3
MAX_NAME_CHARS = 200  # longer "ingredients" are sentences or junk, not names: never looked up
_COLOUR_INDEX = re.compile(
    r"(?:ci|c\.i\.)\s*\d{5}|(?:red|yellow|blue|green|orange|violet)\s+\d{1,2}(?:\s+lake)?"
)


@lru_cache(maxsize=50_000)
def canonicalise(raw: str) -> Ingredient | None:
    """The vocabulary entry a raw ingredient name stands for, or None when it is unknown."""
    if len(raw) > MAX_NAME_CHARS:
        return None
    vocab = ingredients().by_key
    key = lookup_key(_INLINE_PERCENT.sub("", raw))
    candidates = [key, _PREFIX.sub("", key)]
    without_parens = lookup_key(_PAREN.sub(" ", key))
    candidates.append(without_parens)
    candidates.extend(lookup_key(p) for p in _PAREN_CONTENT.findall(key))
    for part in (key, without_parens):
        if "/" in part or "\\" in part:
            candidates.extend(lookup_key(p) for p in re.split(r"[/\\]", part))
    if _COLOUR_INDEX.fullmatch(without_parens) or _COLOUR_INDEX.fullmatch(key):
        return Ingredient(canonical=without_parens or key)
    for candidate in candidates:
        found = vocab.get(candidate)
        if found is not None:
            return found
    if ingredients().essential_oil_pattern.search(key) and "extract" not in key:
        return Ingredient(canonical=without_parens, essential_oil=True)
    return None


def _may_contain(text: str, start: int, end: int) -> re.Match[str] | None:
    """The "may contain" / "+/-" marker in text[start:end], if any (cheap test first)."""
    if "+/-" not in text and "ontain" not in text and "ONTAIN" not in text:
        return None
    return _MAY_CONTAIN.search(text, start, end)


def _segments(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, follows a drug-facts label such as "Active ingredients:") for each part."""
    if "\n" not in text and "<" not in text and ":" not in text and ". " not in text:
        return [(0, len(text), False)] if len(text) > 1 else []
    spans, start, drug = [], 0, False
    for match in _SEGMENT_BREAK.finditer(text):
        spans.append((start, match.start(), drug))
        start = match.end()
        label = match.group("label")
        drug = bool(label) and "active" in label.lower()
    spans.append((start, len(text), drug))
    return [(s, e, d) for s, e, d in spans if e - s > 1]


def _items(text: str, start: int, end: int) -> list[tuple[int, int]]:
    marker = _may_contain(text, start, end)
    if marker is not None and marker.start() > start:
        return _items(text, start, marker.start()) + _items(text, marker.end(), end)
    items = []
    for match in _ITEM.finditer(text, start, end):
        raw = match.group()
        head = raw.lstrip(" \t\r-–.:'\"")
        body = head.rstrip(" \t\r.'\"")
        if body:
            s = match.start() + len(raw) - len(head)
            items.append((s, s + len(body)))
    return items


def _list_likeness(text: str, items: list[tuple[int, int]]) -> float:
    """How much a run of items looks like an INCI list: many short items, few sentence words."""
    if len(items) < MIN_LIST_ITEMS:
        return 0.0
    short = sum(
        1
        for s, e in items
        if e - s <= 80
        and (text.count(" ", s, e) < 3 or len(_SENTENCE_WORDS.findall(text, s, e)) < 2)
    )
    return short * (short / len(items))


def find_list(text: str) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """The INCI list in an ingredients text as (start, end, item spans) parts: the most list-like
    segment, or the sections after drug-facts labels ("Active ingredients:", "Inactive ...")."""
    segments = [(s, e, drug, _items(text, s, e)) for s, e, drug in _segments(text)]
    labelled = [(s, e, items) for s, e, drug, items in segments if drug]
    if labelled and sum(len(items) for _, _, items in labelled) >= 2:
        return labelled
    best, best_score = [], 0.0
    for start, end, _, items in segments:
        score = _list_likeness(text, items)
        if score > best_score:
            best, best_score = [(start, end, items)], score
    stripped = text.strip()
    single = stripped and len(stripped.split()) <= 6 and "," not in stripped
    if not best and single and not _SENTENCE_WORDS.search(stripped):
        offset = text.index(stripped)
        end = offset + len(stripped)
        return [(offset, end, _items(text, offset, end))]
    return best


def parse_ingredients(listing: dict) -> dict:
    """The listing's INCI list: ``{"status", "reason", "field", "items": [...], "evidence"}``.

    Items are ``{"position", "raw", "canonical", "known", "may_contain", "start", "end", ...flags}``
    with ``raw == listing[field][start:end]``.
    """
    field, text = "ingredients_text", text_of(listing.get("ingredients_text"))
    spans = find_list(text) if text else []
    if not spans:
        description = text_of(listing.get("description"))
        match = _DESCRIPTION_LIST.search(description) if description else None
        if match:
            start, end = match.span(1)
            field, text, spans = (
                "description",
                description,
                [(start, end, _items(description, start, end))],
            )
    if not spans:
        reason = "no ingredient list in the listing" if not text else "no list found in the text"
        return {"status": "unknown", "reason": reason, "field": None, "items": [], "evidence": []}
    items = []
    for start, end, spans_of_items in spans:
        marker = _may_contain(text, start, end)
        may_contain_at = marker.start() if marker else end
        for s, e in spans_of_items:
            raw = text[s:e]
            found = canonicalise(raw)
            item = {
                "position": len(items) + 1,
                "raw": raw,
                "canonical": found.canonical if found else lookup_key(raw[:MAX_NAME_CHARS]),
                "known": found is not None,
                "may_contain": s >= may_contain_at,
                "start": s,
                "end": e,
            }
            if found is not None:
                item["ingredient"] = found
            items.append(item)
    return {
        "status": "found" if items else "unknown",
        "reason": f"{len(items)} ingredients read from {field}" if items else "empty list",
        "field": field,
        "items": items,
        "evidence": [evidence(field, text, start, end) for start, end, _ in spans] if items else [],
    }
