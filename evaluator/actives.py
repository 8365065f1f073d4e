"""Actives named in a listing and the percentages stated for them.

A percentage is bound to the active written right next to it ("20% vitamin C", "Vitamin C (15%)",
"ferulic acid 0.5%"); percentages that belong to something else ("20% off", "98% natural",
"reduces wrinkles by 45%") are set aside with the reason (data/vocab/percent_context.toml).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import cache

from evaluator.text import evidence
from evaluator.units import factor
from evaluator.vocab import Ingredient, ingredients, lookup_key, toml_file

_NUM = r"(?:\d{1,3}(?:[.,]\d{1,3})?|[.,]\d{1,3})"
_PERCENT = re.compile(
    r"(?P<prefix>\b(?:up\s+to|upto|as\s+much\s+as|at\s+least|over|more\s+than|max(?:imum)?\.?|min(?:imum)?\.?)\s+)?"
    rf"(?<![\d.,])(?P<a>{_NUM})\s*(?:%\s*)?(?:(?:-|–|—|to)\s*(?P<b>{_NUM})\s*)?"
    r"(?P<unit>%|percent\b|per\s?cent\b|pct\b)(?P<basis>\s*\(?(?:w/w|w/v|wt\.?)\)?)?",
    re.I,
)
_MG_PER_ML = re.compile(rf"(?<![\d.,])(?P<a>{_NUM})\s*mg\s*/\s*ml\b", re.I)
_AFTER_GAP = re.compile(
    r"\s*(?:(?:of|pure|stabili[sz]ed|active|potent|concentrated|encapsulated|the|clinical(?:[- ]strength)?|"
    r"stable|highly|total|micro-?encapsulated|liposomal|premium|real|bioavailable|plant-based|vegan)[\s-]+){0,3}",
    re.I,
)
_BEFORE_GAP = re.compile(
    r"\s*(?:[:=(\[\-–—]\s*)?(?:(?:serum|concentration|content|level|strength|at|is|of|in|dose|formula|"
    r"complex|conc\.?|booster|suspension|solution|drops|oil|cream|gel|powder)\s*[:=(\[\-–—]?\s*){0,3}",
    re.I,
)
_FORM_LINK = re.compile(r"\s*(?:\(\s*|,\s*|\s(?:as|from|in the form of|:)\s+)", re.I)
_DELIMITER_AFTER = re.compile(r"\s*\)?\s*(?:$|[,;.)\n/+&]|and\b|\|)", re.I)
MAX_GAP = 40


@dataclass(frozen=True, slots=True)
class Mention:
    start: int
    end: int
    ingredient: Ingredient


@cache
def _contexts() -> list[tuple[str, re.Pattern | None, re.Pattern | None, float | None]]:
    rules = []
    for rule in toml_file("percent_context").get("context", []):
        after = re.compile(rule["after"], re.I) if rule.get("after") else None
        before = re.compile(rule["before"], re.I) if rule.get("before") else None
        rules.append((rule["reason"], after, before, rule.get("value_at_least")))
    return rules


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def find_mentions(text: str) -> list[Mention]:
    """Every active (by any alias or acronym) named in ``text``, in order, longest name first."""
    vocab = ingredients()
    found: list[Mention] = []
    for match in vocab.mention_pattern.finditer(text):
        ingredient = vocab.by_key.get(lookup_key(match.group()))
        if ingredient is not None:
            found.append(Mention(match.start(), match.end(), ingredient))
    if vocab.acronym_pattern is not None:
        taken = [(m.start, m.end) for m in found]
        for match in vocab.acronym_pattern.finditer(text):
            s, e = match.span()
            if not any(s < te and ts < e for ts, te in taken):
                found.append(Mention(s, e, vocab.acronyms[match.group()]))
        found.sort(key=lambda m: m.start)
    return found


def _rejected(text: str, start: int, end: int, value: float) -> str | None:
    after = text[end : end + 60]
    before = text[max(0, start - 60) : start]
    for reason, after_pattern, before_pattern, at_least in _contexts():
        if at_least is not None and value >= at_least:
            return reason
        if after_pattern is not None and after_pattern.search(after):
            return reason
        if before_pattern is not None and before_pattern.search(before):
            return reason
    return None


def _bind(text: str, mentions: list[Mention], starts: list[int], ps: int, pe: int):
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
    lowered = text.lower()
    if (
        "%" not in text
        and "percent" not in lowered
        and "per cent" not in lowered
        and "mg" not in lowered
    ):
        return {"bound": bound, "ignored": ignored}
    if mentions is None:
        mentions = find_mentions(text)
    starts = [m.start for m in mentions]
    found = []
    for match in _PERCENT.finditer(text):
        a = _number(match.group("a"))
        b = _number(match.group("b")) if match.group("b") else None
        prefix = (match.group("prefix") or "").strip().lower()
        if b is not None:
            low, high, kind, value = min(a, b), max(a, b), "range", None
        elif prefix.startswith(("up", "as", "max")):
            low, high, kind, value = None, a, "up_to", None
        elif prefix:
            low, high, kind, value = a, None, "at_least", None
        else:
            low, high, kind, value = a, a, "exact", a
        found.append((match.start(), match.start("a"), match.end(), value, low, high, kind))
    for match in _MG_PER_ML.finditer(text):
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
