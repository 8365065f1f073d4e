"""INCI ingredient lists: find the list in a listing, split it, name each ingredient canonically.

Each ingredient keeps its 1-based position in the list (order matters: the INCI 1% rule) and the span
of text it came from. Shops wrap the list in markup, Python-list residue ("['Water, ...']"), highlight
bullets and retailer boilerplate, and separate it with commas, dashes, bullets, bars or new lines. The
text is first turned into a *view* of the same length, with markup and residue blanked and separators
made commas, so every span found in the view is the same span of the original text.
"""

from __future__ import annotations

import re
from functools import lru_cache

from evaluator.inci_items import items_of
from evaluator.inci_names import MAX_NAME_CHARS, canonicalise
from evaluator.inci_view import GLUE, MAY_CONTAIN, break_matches, may_contain, next_marker, view_of
from evaluator.text import evidence, text_of

__all__ = ["MAX_NAME_CHARS", "canonicalise", "find_list", "parse_ingredients"]

# "Water- Glycerin" (commas replaced by dashes) or "Water - Glycerin": a dash that separates names.
# Both start with the character they match (the look-behinds come after it, two characters wide),
# so the regex engine skips to the next dash or comma instead of trying every position.
_DASH = re.compile(r"[-–—](?:(?<=[^\s\-–—].)|(?<=[ \t].))(?=[ \t]+\S)")
_DASH_START = re.compile(r"[-–—][ \t]")  # what every separating dash starts with
_COMMA = re.compile(r",(?:(?<!\d.)|(?!\d))")
# One ingredient: text up to a top-level separator, with parentheses/brackets kept whole (2 levels).
# Written as runs of plain characters between the other parts (a comma between digits, a bracketed
# part, a lone bracket), not as an alternation of all of them repeated: the regex engine runs it
# about a quarter faster, with the same matches. The look-ahead keeps it from matching empty text.
_PLAIN = r"[^,;()\[\]\n]*+"
_OTHER_PART = r"(?:(?<=\d),(?=\d)|\((?:[^()\n]++|\([^()\n]*\))*\)|\[(?:[^\[\]\n]++|\[[^\[\]\n]*\])*\]|[()\[\]])"
_ITEM = re.compile(rf"(?=[^,;\n]|(?<=\d),(?=\d)){_PLAIN}(?:{_OTHER_PART}{_PLAIN})*")
# _ITEM's matches, their leading spaces matched apart (group "name" starts after them): most items
# follow ", " and then need no trimming. A short item of spaces alone (never a name) is not matched;
# spaces longer than a name stay in the item, which is then read as the long item it is.
_SPACED_ITEM = re.compile(rf"[ \t]{{0,{MAX_NAME_CHARS}}}+(?P<name>{_ITEM.pattern})")
_ALNUM = re.compile(r"[^\W_]")  # what str.isalnum() accepts
_SENTENCE_END = re.compile(r"[.!?](?=\s)|<")
# Words that make an item read like a sentence rather than a name.
_SENTENCE_WORD_SET = frozenset(
    ["help", "helps", "the", "your", "skin", "our", "we", "is", "are", "and", "with", "for", "that",
     "this", "to", "of", "visibly", "see", "please"]
)  # fmt: skip
_SENTENCE_WORDS = re.compile(rf"(?i)\b(?:{'|'.join(sorted(_SENTENCE_WORD_SET))})\b")
_WORD_RUN = re.compile(r"\w+")
_ITEM_EDGE_START = " -–—.:;'\"*•·" + GLUE
_ITEM_EDGE_END = " .:'\"" + GLUE

MIN_LIST_ITEMS = 3
MAX_TEXT_CHARS = 1_000_000  # a longer field is read up to here only
KIT_HEADING_CHARS = 120
LONG_ITEM_CHARS = 4 * MAX_NAME_CHARS  # a longer item is never a name between names


def _segments(view: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) for each part between breaks; kind is "drug" after a drug-facts label
    ("Active ingredients:") and "label" after another label, up to the next section or paragraph;
    "boilerplate" from retailer boilerplate up to the next label; else "text"."""
    spans, start, kind = [], 0, "text"
    for match in break_matches(view):
        if match.lastgroup is None and _ends_with_comma(view, start, match.start()):
            continue  # "Water,</p> Glycerin": the list goes on past a line or tag break
        filled = match.start() - start > 1 and not view[start : match.start()].isspace()
        if filled:
            spans.append((start, match.start(), kind))
        start = match.end()
        if match.group("label"):
            kind = "drug" if match.group("drug") or "active" in match.group().lower() else "label"
        elif match.group("boiler"):
            kind = "boilerplate"
        elif match.group("other") or (kind != "boilerplate" and match.group().count("\n") > 1):
            kind = "text"  # a new section, or a new paragraph
    if len(view) - start > 1:
        spans.append((start, len(view), kind))
    return spans


def _ends_with_comma(view: str, start: int, end: int) -> bool:
    at = end - 1
    while at > start and view[at] in " \t" + GLUE and end - at < 40:
        at -= 1
    return at >= start and view[at] == ","


def _dash_separated(view: str, start: int, end: int) -> list[int]:
    """Positions of the dashes that separate names when a part is a dash-separated list."""
    if view.isascii():  # only "-" can be the dash: str.find is faster than the regex
        if view.find("- ", start, end) < 0 and view.find("-\t", start, end) < 0:
            return []
    elif _DASH_START.search(view, start, end) is None:
        return []  # most lists: no dash before a space, so no separating dash
    dashes = [m.start() for m in _DASH.finditer(view, start, end)]
    if len(dashes) < 2:
        return []
    commas = sum(1 for _ in _COMMA.finditer(view, start, end))
    return dashes if len(dashes) > commas else []


def _items(view: str, start: int, end: int) -> list[tuple[int, int]]:
    if may_contain(view, start, end) is None:
        return _items_between(view, start, end)
    items, at = [], start
    marker = next_marker(view, start, end)
    while marker is not None:  # MAY_CONTAIN.finditer(view, start, end)
        items += _items_between(view, at, marker.start())
        at = marker.end()
        marker = next_marker(view, at, end)
    return items + _items_between(view, at, end)


def _items_between(view: str, start: int, end: int) -> list[tuple[int, int]]:
    items: list[tuple[int, int]] = []
    has_colon = view.find(":", start, end) >= 0
    edge_start, edge_end = _ITEM_EDGE_START, _ITEM_EDGE_END
    for match in _SPACED_ITEM.finditer(view, start, end):
        s, e = match.span(1)  # the name, after its leading spaces (trimmed below anyway)
        ended = False
        if e - match.start() > MAX_NAME_CHARS:
            # Longer than a name. Text after the list ends it ("Glycerin. lorem ipsum ..." keeps
            # "Glycerin"), and so does a last or very long item; a long item between names stays
            # in its place ("A Extract & B Extract & ..." typed without commas): positions count.
            s = match.start()
            stop = _SENTENCE_END.search(view, s, s + MAX_NAME_CHARS)
            ended = (
                stop is not None or e - s > LONG_ITEM_CHARS or _ITEM.search(view, e, end) is None
            )
            if ended and stop is None:
                break
            e = stop.start() if stop is not None else e
        if has_colon:
            colon = view.rfind(":", s, e)
            if (
                s < colon < e - 1
                and not view[colon + 1].isdigit()
                and view.count("(", s, colon) == view.count(")", s, colon)
            ):
                s = colon + 1  # "Serum: Water" (a kit heading or a bullet's name before its list)
        first, last = view[s], view[e - 1]
        if first in edge_start or last in edge_end:
            # the edges in one C call each, not a Python step per character
            piece = view[s:e]
            start_trimmed = piece.lstrip(edge_start)
            s += len(piece) - len(start_trimmed)
            e = s + len(start_trimmed.rstrip(edge_end))
            if e <= s:
                if ended:
                    break
                continue
            first, last = view[s], view[e - 1]
        if first in "([" or last in ")]":
            s, e = _balanced(view, s, e)
            if e <= s:
                if ended:
                    break
                continue
            first = view[s]
        if first.isalnum() or _ALNUM.search(view, s, e):
            items.append((s, e))
        if ended:
            break
    return items


def _balanced(view: str, s: int, e: int) -> tuple[int, int]:
    """The item without a bracket left over from a marker ("[+/- CI 77491]" -> "CI 77491")."""
    if e - s > MAX_NAME_CHARS:
        return s, e  # not a name anyway; counting brackets in it again and again would be quadratic
    while (
        e > s
        and view[e - 1] in ")]"
        and view.count(view[e - 1], s, e) > view.count("(" if view[e - 1] == ")" else "[", s, e)
    ):
        e -= 1
        while e > s and view[e - 1] in _ITEM_EDGE_END:
            e -= 1
    while (
        s < e
        and view[s] in "(["
        and view.count(view[s], s, e) > view.count(")" if view[s] == "(" else "]", s, e)
    ):
        s += 1
        while s < e and view[s] in _ITEM_EDGE_START:
            s += 1
    return s, e


def _sentence_words(view: str, s: int, e: int) -> int:
    """``len(_SENTENCE_WORDS.findall(view, s, e))``. On ASCII text the span's words are looked up
    in a set instead: faster than trying the alternation at every character."""
    piece = view[s:e]
    if not piece.isascii():
        return len(_SENTENCE_WORDS.findall(view, s, e))
    words = _WORD_RUN.findall(piece.lower())
    count = sum(map(_SENTENCE_WORD_SET.__contains__, words))
    # findall's \b at ``s`` sees the character before it: a word running into the span is no match
    if count and s > 0 and _is_word(view[s - 1]) and _is_word(piece[0]):
        count -= words[0] in _SENTENCE_WORD_SET
    return count


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"  # what \w matches


def _name_like(view: str, s: int, e: int) -> bool:
    return e - s <= 80 and (view.count(" ", s, e) < 3 or _sentence_words(view, s, e) < 2)


def _list_likeness(view: str, items: list[tuple[int, int]]) -> float:
    """How much a run of items looks like an INCI list: many short items, few sentence words."""
    if len(items) < MIN_LIST_ITEMS:
        return 0.0
    short = 0
    for s, e in items:  # _name_like, inlined: this runs for every item of every part
        if e - s <= 80 and (view.count(" ", s, e) < 3 or _sentence_words(view, s, e) < 2):
            short += 1
    return short * (short / len(items))


def _is_heading(view: str, s: int, e: int) -> bool:
    """A kit's product name before its list, on its own line ("Vitamin C Serum:") or leading it
    ("Cleansing Balm: Water, ..."); not a highlight bullet ("-Vitamin C: brightens")."""
    head = view[s : min(e, s + KIT_HEADING_CHARS + 1)].lstrip()
    colon = head.find(":")
    return (
        colon > 1
        and head[0] not in "-•*–"
        and head.count("(", 0, colon) == head.count(")", 0, colon)
        and may_contain(head, 0, colon + 1) is None
        and not head[colon + 1 : colon + 2].isdigit()
    )


def _parts(view: str) -> tuple[list[tuple[int, int, str, list[tuple[int, int]]]], str]:
    """Segments with their items (runs of one-name lines are one list split by new lines), and the
    view with the dashes of dash-separated lists made commas."""
    parts: list[tuple[int, int, str, list[tuple[int, int]]]] = []
    run: list[tuple[int, int, str, list[tuple[int, int]]]] = []

    def flush() -> None:
        if len(run) >= MIN_LIST_ITEMS:
            parts.append((run[0][0], run[-1][1], run[0][2], [i for p in run for i in p[3]]))
        else:
            parts.extend(run)
        run.clear()

    segments = _segments(view)
    dashes = [at for s, e, _ in segments for at in _dash_separated(view, s, e)]
    if dashes:
        chars = list(view)
        for at in dashes:
            chars[at] = ","
        view = "".join(chars)
    for s, e, kind in segments:
        items = _items(view, s, e)
        one_name = (
            len(items) == 1
            and _name_like(view, *items[0])
            and view.count(" ", *items[0]) < 6
            and not _is_heading(view, s, e)
            and (not run or (run[-1][2] == kind and "\n" in view[run[-1][1] : s]))
        )
        if not one_name:
            flush()
        (run if one_name else parts).append((s, e, kind, items))
    flush()
    parts.sort()
    return [(s, e, k, i) for s, e, k, i in parts if k != "boilerplate"], view


def _may_contain_after(
    view: str, parts: list[tuple[int, int, str, list[tuple[int, int]]]], index: int
) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """The "May contain (+/-):" part right after a list, as one part with the line it heads."""
    if index + 1 >= len(parts):
        return []
    start, end, _, _ = parts[index + 1]
    marker = MAY_CONTAIN.match(view, start + len(view[start:end]) - len(view[start:end].lstrip()))
    if marker is None or marker.end() == marker.start():
        return []
    if view[marker.end() : end].strip() == "" and index + 2 < len(parts):
        end = parts[index + 2][1]
    return [(start, end, _items(view, start, end))]


def find_list(text: str) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """The INCI list in an ingredients text as (start, end, item spans) parts: the most list-like
    part (with the "may contain" line after it), the first product's list in a kit, or the
    sections after drug-facts labels."""
    return list(_find(text)[0])


# The last few texts' lists are kept: judging a listing reads its ingredients field's list twice (its
# INCI list, then the marketing words around it), as a crawl judges a page and then stores it.
@lru_cache(maxsize=4)
def _find(
    text: str, labelled_only: bool = False
) -> tuple[list[tuple[int, int, list[tuple[int, int]]]], str]:
    """The list's parts and the view (shared: read only); ``labelled_only`` reads only parts after
    an ingredients label (a description: marketing text around it is no list)."""
    view = view_of(text[:MAX_TEXT_CHARS])
    parts, view = _parts(view)
    if labelled_only:
        parts = [p for p in parts if p[2] in ("label", "drug")]
    labelled = [(s, e, items) for s, e, kind, items in parts if kind == "drug"]
    if labelled and sum(len(items) for _, _, items in labelled) >= 2:
        return labelled, view
    listy = [i for i, part in enumerate(parts) if len(part[3]) >= MIN_LIST_ITEMS]
    if len(listy) == 1:
        # Only one part can be the list; the choice below compares scores with each other and
        # with 0, so whether its score is above 0 (any name-like item) is all that is needed.
        only = parts[listy[0]][3]
        score = 1.0 if any(_name_like(view, s, e) for s, e in only) else 0.0
        scored = [
            (score if i == listy[0] else 0.0, s, e, items)
            for i, (s, e, _, items) in enumerate(parts)
        ]
    else:
        scored = [(_list_likeness(view, items), s, e, items) for s, e, _, items in parts]
    headings = [s for s, e, _, _ in parts if _is_heading(view, s, e)]
    chosen = max(range(len(scored)), default=None, key=lambda i: scored[i][0])
    if len(headings) >= 2 and chosen is not None:
        # a kit: the first product's list (as the labelling guide says), not a highlight line
        enough = scored[chosen][0] / 2
        chosen = next(
            (i for i, p in enumerate(scored) if p[0] >= enough and p[1] >= headings[0]), chosen
        )
    if chosen is not None and scored[chosen][0] > 0:
        return [scored[chosen][1:], *_may_contain_after(view, parts, chosen)], view
    if labelled_only:
        return [], view
    stripped = view.strip()
    single = stripped and len(stripped.split()) <= 6 and "," not in stripped
    # one name alone is a list only when it is a known ingredient ("Coming soon" and "N/A" are not)
    if single and not _SENTENCE_WORDS.search(stripped) and canonicalise(stripped.replace(GLUE, "")):
        offset = view.index(stripped)
        end = offset + len(stripped)
        return [(offset, end, _items(view, offset, end))], view
    return [], view


def parse_ingredients(listing: dict, all_entries: bool = True) -> dict:
    """The listing's INCI list: ``{"status", "reason", "field", "items": [...], "evidence",
    "notable"}``.

    Items are ``{"position", "raw", "canonical", "known", "may_contain", "start", "end", ...flags}``
    with ``raw == listing[field][start:end]``; a known item has its vocabulary entry under
    "ingredient" (with ``all_entries=False`` only the ``notable`` items do: those whose entry is an
    active, a vitamin C form, a <= 1% marker or fragrance).
    """
    field, text = "ingredients_text", text_of(listing.get("ingredients_text"))
    spans, view = _find(text) if text else ([], "")
    if not spans:
        description = text_of(listing.get("description"))[:MAX_TEXT_CHARS]
        found, description_view = (
            _find(description, labelled_only=True) if description else ([], "")
        )
        if found:
            field, text, view, spans = "description", description, description_view, found
    if not spans:
        reason = "no ingredient list in the listing" if not text else "no list found in the text"
        return {
            "status": "unknown", "reason": reason, "field": None, "items": [], "evidence": [],
            "notable": [],
        }  # fmt: skip
    items, notable = items_of(text, view, spans, all_entries)
    return {
        "status": "found" if items else "unknown",
        "reason": f"{len(items)} ingredients read from {field}" if items else "empty list",
        "field": field,
        "items": items,
        "evidence": [evidence(field, text, start, end) for start, end, _ in spans] if items else [],
        "notable": notable,
    }
