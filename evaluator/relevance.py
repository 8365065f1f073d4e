"""Is a listing a vitamin C serum candidate? One judgement for crawler, CLI and benchmarks.

A candidate is a leave-on facial serum, oil or treatment that features vitamin C and (when it has an
ingredient list) contains a vitamin C form. ``judge(listing)`` returns the verdict with the product
kind, the rule that decided, a reason naming its words and evidence pointing at them. Pure and total:
never raises, never reads anything but the listing and the data files (data/vocab/relevance.toml, the
ingredient vocabulary for vitamin C names).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache
from typing import Any

from evaluator.actives import find_mentions
from evaluator.inci import canonicalise, find_list, parse_ingredients
from evaluator.kind_terms import KindTerms
from evaluator.text import MAX_FIELD_CHARS, evidence, text_of
from evaluator.vocab import VOCAB_DIR, ingredients, lookup_key, read_toml

MAX_TITLE_CHARS = 2_000
MAX_LIST_ITEMS = 50
# A run of names in running text is an ingredient list, not marketing, when it has this many items
# and at least this share of them are known INCI names ("Powered by vitamin C, peptides, ..." is not).
MIN_MASKED_ITEMS = 3
MIN_KNOWN_SHARE = 0.6
_SEGMENT = re.compile(r"\s*[>›»|]\s*|\s+/\s+")


@dataclass(frozen=True)
class _Term:
    kind: str
    area: bool


@dataclass(frozen=True)
class Rules:
    candidate_kinds: frozenset[str]
    kind_terms: KindTerms
    terms: tuple[_Term, ...]  # by regex group index - 1
    area_order: tuple[str, ...]
    name_pattern: re.Pattern[str]
    title_pattern: re.Pattern[str]
    negation: re.Pattern[str]
    first_positions: int
    above_one_percent_within: int
    trace_forms: frozenset[str]
    version: str


@cache
def rules() -> Rules:
    data = read_toml(VOCAB_DIR / "relevance.toml")
    entries = []
    for entry in data["kind"]:
        area = entry.get("role") == "area"
        entries.extend((term, _Term(entry["kind"], area)) for term in entry["terms"])
    unordered = {t.kind for _, t in entries if t.area} - set(data["area_order"])
    if unordered:
        raise ValueError(f"relevance.toml: area kinds missing from area_order: {sorted(unordered)}")
    # longest first, so "cleansing oil" is tried before "oil" at the same place
    entries.sort(key=lambda e: len(e[0]), reverse=True)
    featured = data["featured"]
    return Rules(
        candidate_kinds=frozenset(data["candidate_kinds"]),
        kind_terms=KindTerms.of([term for term, _ in entries]),
        terms=tuple(t for _, t in entries),
        area_order=tuple(data["area_order"]),
        name_pattern=re.compile("|".join(featured["name_patterns"]), re.IGNORECASE),
        title_pattern=re.compile("|".join(featured["title_patterns"]), re.IGNORECASE),
        negation=re.compile("|".join(featured["negations"]), re.IGNORECASE),
        first_positions=int(featured["first_positions"]),
        above_one_percent_within=int(featured["above_one_percent_within"]),
        trace_forms=frozenset(lookup_key(f) for f in featured["trace_forms"]),
        version=f"{data['version']}+vocab-{ingredients().version}",
    )


@dataclass(frozen=True)
class _Kind:
    kind: str
    area: bool
    evidence: dict
    field: str


def _kinds_in(field: str, text: str) -> list[_Kind]:
    rule_set = rules()
    found = []
    for match in rule_set.kind_terms.finditer(text):
        term = rule_set.terms[match.lastindex - 1]
        found.append(_Kind(term.kind, term.area, evidence(field, text, *match.span()), field))
    return found


def _area(found: list[_Kind]) -> _Kind | None:
    areas = [k for k in found if k.area]
    if not areas:
        return None
    order = rules().area_order
    return min(areas, key=lambda k: order.index(k.kind))


def _title_kind(title: str) -> _Kind | None:
    """The area named anywhere in the title, else the last form named (the head noun)."""
    found = _kinds_in("title", title)
    area = _area(found)
    if area is not None:
        return area
    forms = [k for k in found if k.kind != "none"]
    return forms[-1] if forms else None


def _list_items(listing: dict, field: str) -> list[tuple[str, str]]:
    value = listing.get(field)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [
        (f"{field}[{i}]", item[:MAX_TITLE_CHARS])
        for i, item in enumerate(value[:MAX_LIST_ITEMS])
        if isinstance(item, str) and item
    ]


def _path_kind(field: str, text: str) -> _Kind | None:
    """One category path (general to specific, "Skincare > Treatments > Face Serums"): the most
    specific segment naming exactly one kind (areas before forms); a segment naming several ("Creams,
    Oils & Mists", "Lips & Eyes") decides nothing."""
    ends = [m.start() for m in _SEGMENT.finditer(text)] + [len(text)]
    by_end: dict[int, list[_Kind]] = {}
    for found in _kinds_in(field, text):
        end = ends[bisect_right(ends, found.evidence["start"])]  # the segment it sits in
        by_end.setdefault(end, []).append(found)
    segments = [by_end[end] for end in sorted(by_end)]
    for wanted_area in (True, False):
        for segment in reversed(segments):
            named = [k for k in segment if k.kind != "none" and k.area == wanted_area]
            kinds = {k.kind for k in named}
            if len(kinds) == 1:
                return named[0]
            if kinds:
                return None
    return None


def _structured_kind(items: list[tuple[str, str]]) -> _Kind | None:
    """The kind category paths (or tags) agree on. Items may be one breadcrumb trail ("Treatments",
    "Face Serums": the last is the most specific) or unrelated categories ("Serums", "Moisturisers"):
    an area wins, candidate kinds alone give the last one, any other disagreement gives none."""
    found = [k for k in (_path_kind(field, text) for field, text in items) if k is not None]
    areas = [k for k in found if k.area]
    chosen = areas or found
    kinds = {k.kind for k in chosen}
    if len(kinds) == 1 or (not areas and kinds <= rules().candidate_kinds):
        return chosen[-1] if chosen else None
    return None


def _decide_kind(listing: dict) -> _Kind | None:
    """An area (eye, mask, kit, ...) in the title or a category wins; then the title's head noun, then
    the categories' most specific form (shops file serums under "Moisturizer": the title names the
    form more precisely; measured on the labelled tuning rows); tags only when neither names a kind."""
    title = _title_kind(text_of(listing.get("title"))[:MAX_TITLE_CHARS])
    category = _structured_kind(_list_items(listing, "categories"))
    for found in (title, category):
        if found is not None and found.area:
            return found
    return title or category or _structured_kind(_list_items(listing, "tags"))


@dataclass(frozen=True)
class _Featured:
    words: str  # for the reason: "title says 'Vita C'"
    evidence: dict


def _vitamin_c_named(
    field: str,
    text: str,
    masked: list[tuple[int, int]] = (),
    patterns: tuple = (),
    words_only: bool = False,
) -> dict | None:
    """Evidence of the first vitamin C name in ``text`` outside ``masked`` spans, unless the same
    phrase says it is not vitamin C ("Vitamin C Alternative"). ``words_only``: names saying "vitamin"
    ("Vitamin C", "Vitamin C Ester") count, INCI names of its forms do not."""
    rule_set = rules()
    hits = [
        evidence(field, text, m.start, m.end)
        for m in find_mentions(text)
        if m.ingredient.active == "vitamin_c"
        and (not words_only or "vit" in text[m.start : m.end].lower())
    ]
    for pattern in (rule_set.name_pattern, *patterns):
        hits += [evidence(field, text, *m.span()) for m in pattern.finditer(text)]
    masked = [*masked, *(m.span() for m in rule_set.negation.finditer(text))]
    hits = [h for h in hits if not any(s <= h["start"] < e for s, e in masked)]
    return min(hits, key=lambda h: h["start"]) if hits else None


def _marketing_text(listing: dict) -> list[tuple[str, str, list[tuple[int, int]]]]:
    """The description and the ingredients field's words around the INCI list (highlight bullets),
    each with the spans of ingredient lists inside it, which are not marketing."""
    found = []
    for field in ("description", "ingredients_text"):
        text = text_of(listing.get(field))[:MAX_FIELD_CHARS]
        if not text:
            continue
        masked = [(s, e) for s, e, items in find_list(text) if _is_ingredient_list(text, items)]
        if field == "ingredients_text" and not masked:
            continue  # the whole field is (a badly split) list: none of it is marketing
        found.append((field, text, masked))
    return found


def _is_ingredient_list(text: str, items: list[tuple[int, int]]) -> bool:
    if len(items) < MIN_MASKED_ITEMS:
        return False
    known = sum(canonicalise(text[s:e]) is not None for s, e in items)
    return known >= MIN_KNOWN_SHARE * len(items)


def _featured_by_words(listing: dict) -> _Featured | None:
    title = text_of(listing.get("title"))[:MAX_TITLE_CHARS]
    if title:
        hit = _vitamin_c_named("title", title, patterns=(rules().title_pattern,))
        if hit:
            return _Featured(f"title says {_quote(hit)}", hit)
    for field in ("categories", "tags"):
        for name, text in _list_items(listing, field):
            hit = _vitamin_c_named(name, text)
            if hit:
                return _Featured(f"{field} say {_quote(hit)}", hit)
    for field, text, masked in _marketing_text(listing):
        # around an INCI list, a form's INCI name is most likely a piece of the list the reader cut off
        hit = _vitamin_c_named(field, text, masked, words_only=field == "ingredients_text")
        if hit:
            return _Featured(f"{field} says {_quote(hit)}", hit)
    return None


def _forms_in_list(inci: dict) -> list[dict]:
    """The INCI list's vitamin C forms (not "may contain"), as its items."""
    return [
        item
        for item in inci["items"]
        if item.get("ingredient") is not None
        and item["ingredient"].vitamin_c_form is not None
        and not item.get("may_contain")
    ]


def _featured_by_position(inci: dict, forms: list[dict]) -> _Featured | None:
    """A non-trace vitamin C form among the first few ingredients, or above the 1% line."""
    rule_set = rules()
    one_percent_line = next(
        (
            i["position"]
            for i in inci["items"]
            if i.get("ingredient") is not None and i["ingredient"].at_most_one_percent
        ),
        None,
    )
    for item in forms:
        if _is_trace(item):
            continue
        position = item["position"]
        high = position <= rule_set.first_positions or (
            one_percent_line is not None
            and position < one_percent_line
            and position <= rule_set.above_one_percent_within
        )
        if high:
            found = _item_evidence(inci, item)
            where = f"#{position} of {len(inci['items'])} in the ingredient list"
            return _Featured(f"vitamin C {_quote(found)} is {where}", found)
    return None


def _is_trace(item: dict) -> bool:
    return item["ingredient"].canonical in rules().trace_forms


def _form_named(listing: dict, field: str | None) -> bool:
    """A specific vitamin C form named anywhere in the ingredients field (kits and two-part products
    list several formulas; the INCI reader takes one)."""
    text = text_of(listing.get(field or "ingredients_text"))[:MAX_FIELD_CHARS]
    return any(
        m.ingredient.vitamin_c_form not in (None, "unspecified") for m in find_mentions(text)
    )


def _item_evidence(inci: dict, item: dict) -> dict:
    return {"field": inci["field"], "text": item["raw"], "start": item["start"], "end": item["end"]}


def _quote(found: dict) -> str:
    return f"'{found['text'][:60]}'"


def judge(listing: Any) -> dict:
    """``{"candidate", "kind", "rule", "reason", "evidence"}`` for one listing dict.

    ``rule`` names what decided (for counts per shop): "candidate", "kind", "unknown kind",
    "not featured" or "no vitamin C form".
    """
    if not isinstance(listing, dict):
        listing = {}
    try:
        return _judge(listing)
    except Exception as error:  # the judgement must never take a crawl or an evaluation down
        return _verdict(False, None, "error", f"could not judge: {type(error).__name__}", [])


def is_candidate(listing: dict, judgement: dict) -> tuple[bool, str]:
    """The vitamin C serum category's rule (data/categories.toml): the judgement's candidacy."""
    return bool(judgement.get("candidate")), judgement.get("reason", "")


def _verdict(candidate: bool, kind: str | None, rule: str, reason: str, ev: list) -> dict:
    return {"candidate": candidate, "kind": kind, "rule": rule, "reason": reason, "evidence": ev}


def _judge(listing: dict) -> dict:
    rule_set = rules()
    kind = _decide_kind(listing)
    kind_name = kind.kind if kind else None
    kind_words = f"kind {kind_name} from {kind.field} {_quote(kind.evidence)}" if kind else ""
    inci = parse_ingredients(listing)
    forms = _forms_in_list(inci)
    featured = _featured_by_words(listing) or _featured_by_position(inci, forms)
    featured_words = featured.words if featured else ""
    ev = [e for e in (kind.evidence if kind else None, featured and featured.evidence) if e]
    if kind is None:
        what = f"{featured_words}; " if featured else ""
        return _verdict(False, None, "unknown kind", f"{what}product kind unknown", ev)
    if kind_name not in rule_set.candidate_kinds:
        vitamin_c = "vitamin C " if featured else ""
        return _verdict(False, kind_name, "kind", f"{vitamin_c}{kind_name}: {kind_words}", ev)
    if featured is None:
        trace = forms[0] if forms else None
        detail = (
            f"only {_quote(_item_evidence(inci, trace))} at #{trace['position']} in the ingredient list"
            if trace
            else "vitamin C not named"
        )
        ev += [_item_evidence(inci, trace)] if trace else []
        return _verdict(
            False, kind_name, "not featured", f"vitamin C not featured ({detail}); {kind_words}", ev
        )
    if inci["status"] == "found" and not forms and not _form_named(listing, inci["field"]):
        return _verdict(
            False,
            kind_name,
            "no vitamin C form",
            f"{featured_words} but no vitamin C form is in its ingredient list; {kind_words}",
            ev,
        )
    return _verdict(True, kind_name, "candidate", f"{featured_words}; {kind_words}", ev)
