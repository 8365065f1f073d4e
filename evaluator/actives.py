"""Actives named in a listing and the percentages stated for them.

A percentage is bound to the active written right next to it ("20% vitamin C", "Vitamin C (15%)",
"ferulic acid 0.5%"); percentages that belong to something else ("20% off", "98% natural",
"reduces wrinkles by 45%") are set aside with the reason (data/vocab/percent_context.toml).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import islice
from typing import NamedTuple

from evaluator.field_words import field_words
from evaluator.text import evidence
from evaluator.units import factor
from evaluator.vocab import (
    Ingredient,
    ingredients,
    lookup_key,
    lowered,
    lowered_alike,
    matches_at,
    occurrences,
    toml_file,
)

_NUM = r"(?:\d{1,3}(?:[.,]\d{1,3})?|[.,]\d{1,3})"
_PERCENT = re.compile(
    rf"(?P<a>{_NUM})\s*(?:%\s*)?(?:(?:-|–|—|to)\s*(?P<b>{_NUM})\s*)?"
    r"(?P<unit>%|percent\b|per\s?cent\b|pct\b)(?P<basis>\s*\(?(?:w/w|w/v|wt\.?)\)?)?",
    re.I,
)
# Words before a number that make it a bound ("up to 20%"); matched backwards from the number.
_PREFIX = re.compile(
    r"\b(?P<word>up\s+to|upto|as\s+much\s+as|at\s+least|over|more\s+than|max(?:imum)?\.?|min(?:imum)?\.?)\s+$",
    re.I,
)
_MG_PER_ML = re.compile(rf"(?P<a>{_NUM})\s*mg\s*/\s*ml\b", re.I)
_AFTER_GAP = re.compile(
    r"\s*(?:(?:of|pure|stabili[sz]ed|active|potent|concentrated|encapsulated|the|clinical(?:[- ]strength)?|"
    r"stable|highly|total|micro-?encapsulated|liposomal|premium|real|bioavailable|plant-based|vegan|"
    r"waterless|anhydrous|clean|fresh|true|powerful|super|ultra|advanced|brightening|bright|strength|"
    r"potency)[\s-]+){0,3}",
    re.I,
)
_BEFORE_GAP = re.compile(
    r"\)?\s*(?:[:=(\[\-–—]\s*)?(?:(?:serum|concentration|content|level|strength|at|is|of|in|dose|formula|"
    r"complex|conc\.?|booster|suspension|solution|drops|oil|cream|gel|powder)\s*[:=(\[\-–—]?\s*){0,3}",
    re.I,
)
_FORM_LINK = re.compile(r"\)?(?:\s*\(\s*|\s*,\s*|\s+(?:as|from|in the form of)\s+|\s*:\s*)", re.I)
_DELIMITER_AFTER = re.compile(r"\s*\)?\s*(?:$|[,;.)\n/+&]|and\b|\|)", re.I)
MAX_GAP = 40
# What may come between a percentage's first number and its unit ("20", "10 - 15 ", "5% to 10"),
# besides whitespace and digits; an amount in mg/mL has only digits, separators and spaces.
_BEFORE_PERCENT_UNIT = frozenset(".,%-–—to")
_BEFORE_MG = frozenset(".,")
MAX_PERCENTAGES = 200  # per field; a real listing states a handful


class Mention(NamedTuple):  # a NamedTuple: built thousands of times per second
    start: int
    end: int
    ingredient: Ingredient


@dataclass(frozen=True)
class _Contexts:
    after: re.Pattern[str]
    before: re.Pattern[str]
    reasons: dict[str, str]  # regex group name -> reason
    at_least: list[tuple[float, str]]


@cache
def _contexts() -> _Contexts:
    """data/vocab/percent_context.toml as two regexes (text after / before a number), one group per rule."""
    after, before, reasons, at_least = [], [], {}, []
    for i, rule in enumerate(toml_file("percent_context").get("context", [])):
        reasons[f"a{i}"] = reasons[f"b{i}"] = rule["reason"]
        if rule.get("after"):
            after.append(f"(?P<a{i}>{rule['after']})")
        if rule.get("before"):
            before.append(f"(?P<b{i}>{rule['before']})")
        if rule.get("value_at_least") is not None:
            at_least.append((float(rule["value_at_least"]), rule["reason"]))
    never = "(?!x)x"
    return _Contexts(
        re.compile("|".join(after) or never, re.I),
        re.compile("|".join(before) or never, re.I),
        reasons,
        at_least,
    )


def _number(text: str) -> float:
    return float(text.replace(",", "."))


@lru_cache(maxsize=4096)
def _named(name: str) -> Ingredient | None:
    return ingredients().by_key.get(lookup_key(name))


def find_mentions(text: str) -> list[Mention]:
    """Every active (by any alias or acronym) named in ``text``, in order, longest name first."""
    vocab = ingredients()
    found: list[Mention] = []
    lower = lowered(text)
    if len(lower) == len(text):  # offsets in the lower-cased text are offsets in ``text``
        # the pattern is a name between look-arounds: it can match only where a name starts
        starts = field_words(lower).mention_starts
        matches = matches_at(vocab.lowercase_mention_pattern, lower, starts)
    else:
        matches = vocab.mention_pattern.finditer(text)
    for match in matches:
        ingredient = _named(match.group())
        if ingredient is not None:
            found.append(Mention(match.start(), match.end(), ingredient))
    if vocab.acronym_screen is not None and vocab.acronym_screen.search(text):
        taken = [(m.start, m.end) for m in found]
        for match in vocab.acronym_pattern.finditer(text):
            s, e = match.span()
            if not any(s < te and ts < e for ts, te in taken):
                found.append(Mention(s, e, vocab.acronyms[match.group()]))
        found.sort(key=lambda m: m.start)
    return found


def _number_starts(lower: str, anchors: list[int], between: frozenset[str]) -> list[int]:
    """Where a number can start that runs up to one of ``anchors`` (in order) over digits, spaces
    and ``between``: the only places a pattern of a number then its unit can match. Each character
    is looked at once, however many anchors share a run."""
    starts: list[int] = []
    floor = 0
    for anchor in anchors:
        at = anchor
        while at > floor and (
            (char := lower[at - 1]) in between or char.isspace() or char.isdecimal()
        ):
            at -= 1
        starts += [i for i in range(at, anchor) if lower[i] in ".," or lower[i].isdecimal()]
        floor = anchor
    return starts


def _percent_matches(text: str) -> list[re.Match[str]]:
    """``_PERCENT.finditer(text)``. The regex engine would try it at every character; a match ends
    in its unit, so it is tried only at the numbers right before a unit ("%", "pct", the "per" of
    "percent" or "per cent")."""
    lower = lowered_alike(text)
    if lower is None:
        return list(islice(_PERCENT.finditer(text), MAX_PERCENTAGES))
    units = occurrences(lower, ("%", "pct")) + occurrences(lower, ("cent",), (3, 4))
    starts = _number_starts(lower, sorted(set(units)), _BEFORE_PERCENT_UNIT)
    return matches_at(_PERCENT, text, starts)[:MAX_PERCENTAGES]


def _mg_matches(text: str) -> list[re.Match[str]]:
    """``_MG_PER_ML.finditer(text)``, tried only at the numbers right before an "mg"."""
    lower = lowered_alike(text)
    if lower is None:
        return list(_MG_PER_ML.finditer(text))
    return matches_at(
        _MG_PER_ML, text, _number_starts(lower, occurrences(lower, ("mg",)), _BEFORE_MG)
    )


def _rejected(text: str, start: int, end: int, value: float) -> str | None:
    contexts = _contexts()
    for at_least, reason in contexts.at_least:
        if value >= at_least:
            return reason
    match = contexts.after.match(text, end, end + 60)
    if match is None:
        match = contexts.before.search(text, max(0, start - 60), start)
    return contexts.reasons[match.lastgroup] if match is not None and match.lastgroup else None


def _bind(
    text: str, mentions: list[Mention], starts: list[int], ps: int, pe: int
) -> Mention | None:
    """The mention a percentage at [ps, pe) belongs to, or None."""
    after = before = None
    i = bisect_left(starts, pe)
    if i < len(mentions):
        candidate = mentions[i]
        gap = text[pe : candidate.start]
        if len(gap) <= MAX_GAP and _AFTER_GAP.fullmatch(gap):
            after = (candidate, len(gap.split()))
    j = bisect_left(starts, ps) - 1
    while j >= 0 and mentions[j].end > ps:
        j -= 1
    if j >= 0:
        candidate = mentions[j]
        gap = text[candidate.end : ps]
        if len(gap) <= MAX_GAP and _BEFORE_GAP.fullmatch(gap):
            before = (candidate, len(gap.split()))
    if after and before:
        if after[1] != before[1]:
            return after[0] if after[1] < before[1] else before[0]
        return before[0] if _DELIMITER_AFTER.match(text, pe) else after[0]
    return (after or before or (None,))[0]


def percent_facts(field: str, text: str, mentions: list[Mention] | None = None) -> dict:
    """Stated percentages in one field: ``{"bound": [...], "ignored": [...]}``."""
    bound: list[dict] = []
    ignored: list[dict] = []
    lower = lowered(text)
    has_percent = "%" in text or "percent" in lower or "per cent" in lower or "pct" in lower
    has_mg = "mg" in lower
    if not has_percent and not has_mg:
        return {"bound": bound, "ignored": ignored}
    if mentions is None:
        mentions = find_mentions(text)
    starts = [m.start for m in mentions]
    found = []
    for match in _percent_matches(text) if has_percent else ():
        number_start = match.start()
        if number_start and text[number_start - 1] in "0123456789.,":
            continue  # the tail of a longer number
        a = _number(match.group("a"))
        b = _number(match.group("b")) if match.group("b") else None
        bound_word = _PREFIX.search(text, max(0, number_start - 20), number_start)
        prefix = bound_word.group("word").lower() if bound_word else ""
        start = bound_word.start() if bound_word else number_start
        if b is not None:
            low, high, kind, value = min(a, b), max(a, b), "range", None
        elif prefix.startswith(("up", "as", "max")):
            low, high, kind, value = None, a, "up_to", None
        elif prefix:
            low, high, kind, value = a, None, "at_least", None
        else:
            low, high, kind, value = a, a, "exact", a
        found.append((start, number_start, match.end(), value, low, high, kind))
    for match in _mg_matches(text) if has_mg else ():
        if match.start() and text[match.start() - 1] in "0123456789.,":
            continue
        percent = round(
            _number(match.group("a")) * factor("milligram / milliliter", "gram / deciliter"), 4
        )
        found.append(
            (match.start(), match.start(), match.end(), percent, percent, percent, "mg_per_ml")
        )
    for start, number_start, end, value, low, high, kind in found:
        largest = max(v for v in (value, low, high) if v is not None)
        reason = _rejected(text, number_start, end, largest)
        if reason is None and largest > 100:
            reason = "more than 100%"
        if reason is not None:
            ignored.append({"reason": reason, "evidence": evidence(field, text, start, end)})
            continue
        mention = _bind(text, mentions, starts, start, end)
        if mention is None:
            ignored.append(
                {
                    "reason": "no active named next to it",
                    "evidence": evidence(field, text, start, end),
                }
            )
            continue
        ingredient = mention.ingredient
        span_start, span_end = min(start, mention.start), max(end, mention.end)
        if ingredient.vitamin_c_form == "unspecified":
            # "Vitamin C (15%) as tetrahexyldecyl ascorbate", "20% vitamin C (sodium ascorbyl phosphate)"
            k = bisect_left(starts, span_end)
            link = _FORM_LINK.match(text, span_end) if k < len(mentions) else None
            if (
                link
                and link.end() == mentions[k].start
                and mentions[k].ingredient.active == "vitamin_c"
            ):
                ingredient, span_end = mentions[k].ingredient, mentions[k].end
        bound.append(
            {
                "active": ingredient.active,
                "ingredient": ingredient.canonical,
                "form": ingredient.vitamin_c_form,
                "percent": value,
                "percent_min": low,
                "percent_max": high,
                "kind": kind,
                "evidence": evidence(field, text, span_start, span_end),
            }
        )
    bound.sort(key=lambda item: item["evidence"]["start"])
    return {"bound": bound, "ignored": ignored}


_PH = re.compile(
    r"(?<![\w])p[Hh]\s*(?:level|value|of)?\s*(?:is\s*)?[:=~]?\s*(?:around|about|approx\.?|approximately|between|of)?\s*"
    r"(?P<a>\d{1,2}(?:[.,]\d{1,2})?)(?:\s*(?:-|–|to|and)\s*(?P<b>\d{1,2}(?:[.,]\d{1,2})?))?(?![\d%])"
)


def ph_facts(fields: list[tuple[str, str]]) -> dict:
    """A stated pH ("pH 3.2", "pH of 3-3.5"), the first one found, or unknown."""
    for field, text in fields:
        if "pH" not in text and "PH" not in text:
            continue
        for match in _PH.finditer(text):
            low = _number(match.group("a"))
            high = _number(match.group("b")) if match.group("b") else low
            if 0 < low <= high <= 14:
                return {
                    "status": "found",
                    "min": low,
                    "max": high,
                    "reason": f"pH {low:g}" + (f"–{high:g}" if high != low else ""),
                    "evidence": [evidence(field, text, *match.span())],
                }
    return {"status": "unknown", "min": None, "max": None, "reason": "no pH stated", "evidence": []}
