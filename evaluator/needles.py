"""Needle lengths in mm ("0,5 mm", "0.25MM", "0.2-3.0mm", "0.5mm/1.0mm/1.5mm", "0.02 inch") and needle
counts ("540", "192 needles", "12-pin cartridges") of a micro-needling device listing.

A length needs a length unit and must fit a needle (data/vocab/devices.toml ``max_needle_mm``): pack
sizes, "0.5 oz" of serum, handle lengths and head widths are set aside with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from evaluator.text import evidence
from evaluator.units import factor
from evaluator.vocab import toml_file

RESTATED_MM = 0.02  # an inch length this close to a stated mm length is the same length restated
MAX_STATEMENTS = 200  # per field: a real listing states a handful of lengths
_NUM = r"(?<![\d.,])(?:\d{1,2}(?:[.,]\d{1,3})?|[.,]\d{1,3})(?![\d])"
_RANGE = r"\s*(?:-|–|—|~|\bto\b)\s*"
_LIST = r"\s*(?:/|,|\||&|\band\b|\bor\b)\s*"
_SQUASH = re.compile(r"[\s.]+")


@dataclass(frozen=True)
class NeedleRules:
    statement: re.Pattern[str]  # numbers joined by ranges or lists, with length units
    item: re.Pattern[str]  # one number, its unit and the connector after it
    units: dict[str, str]
    max_mm: float
    not_a_length: list[tuple[re.Pattern[str] | None, re.Pattern[str] | None, str]]
    in_is_a_word: re.Pattern[str]
    count: re.Pattern[str]
    count_not_after: re.Pattern[str]
    count_label: re.Pattern[str]
    count_after: list[re.Pattern[str]]
    bare_count_head: re.Pattern[str]
    bare_count: re.Pattern[str]
    max_needles: int


@cache
def rules() -> NeedleRules:
    data = toml_file("devices")
    length, count = data["length"], data["count"]
    unit = f"(?:{length['unit_pattern']})"
    item = rf"{_NUM}(?:\s*{unit})?"
    # numbers joined by ranges or lists, ending in a unit: "0.25 / 0.5 / 1.0 mm", "0.2mm to 2.5mm"
    statement = rf"(?:{item}(?:{_RANGE}|{_LIST})){{0,8}}{_NUM}\s*{unit}"
    not_a_length = []
    in_is_a_word = None
    for rule in length["not_a_length"]:
        if "after_unit_in" in rule:
            in_is_a_word = re.compile(rule["after_unit_in"], re.I)
            continue
        before, after = rule.get("before"), rule.get("after")
        not_a_length.append(
            (
                re.compile(before, re.I) if before else None,
                re.compile(after, re.I) if after else None,
                rule["reason"],
            )
        )
    fillers = "|".join(re.escape(word) for word in count["count_fillers"])
    needle = f"(?:{count['needle_words']})"
    bare = "|".join(str(n) for n in count["bare_counts"])
    return NeedleRules(
        statement=re.compile(statement, re.I),
        item=re.compile(
            rf"(?P<num>{_NUM})(?:\s*(?P<unit>{unit}))?(?P<link>{_RANGE}|{_LIST})?", re.I
        ),
        units=length["units"],
        max_mm=float(length["max_needle_mm"]),
        not_a_length=not_a_length,
        in_is_a_word=in_is_a_word or re.compile(r"(?!x)x"),
        count=re.compile(
            rf"(?<![\d.,])(?P<n>\d{{1,4}})(?![\d])(?:\s*|-)(?:(?:{fillers})[\s-]+){{0,4}}{needle}\b",
            re.I,
        ),
        count_not_after=re.compile(count["count_not_after"], re.I),
        count_label=re.compile(
            rf"(?:{count['count_labels']})(?P<n>\d{{1,4}})(?![\d]|[.,]\d)", re.I
        ),
        count_after=[re.compile(p, re.I) for p in count["count_after"]],
        bare_count_head=re.compile(count["bare_count_head"], re.I),
        bare_count=re.compile(
            rf"(?<![\d.,])(?P<n>{bare})(?![\d]|[.,]\d|\s*(?:mm|ml|%|oz|g\b|x\b|in\b|cm))", re.I
        ),
        max_needles=int(count["max_needles"]),
    )


def _unit_name(r: NeedleRules, written: str | None) -> str | None:
    if not written:
        return None
    return r.units.get(_SQUASH.sub("", written.lower())) or r.units.get(written.strip())


def _why_not(r: NeedleRules, text: str, start: int, end: int) -> str | None:
    """Why the length written at ``text[start:end]`` is not the needles' length, or None."""
    before, after = text[max(0, start - 40) : start], text[end : end + 40]
    for before_rule, after_rule, reason in r.not_a_length:
        if before_rule is not None and before_rule.search(before):
            return reason
        if after_rule is not None and after_rule.search(after):
            return reason
    return None


def _items(r: NeedleRules, text: str, match: re.Match) -> list[dict]:
    """The numbers of one statement, each with its unit (a bare number takes the unit written after
    it: "0.25 / 0.5 / 1.0 mm"), and the link to the next ("range" or "list")."""
    items = []
    for m in r.item.finditer(text, match.start(), match.end()):
        unit = m.group("unit")
        if unit and unit.strip().lower() == "in" and r.in_is_a_word.search(text, m.end("unit")):
            unit = None  # "0.5 in length": a word, not inches
        link = m.group("link") or ""
        items.append(
            {
                "number": float(m.group("num").replace(",", ".")),
                "unit": _unit_name(r, unit),
                "span": (m.start("num"), m.end("unit") if unit else m.end("num")),
                "link": "range" if re.fullmatch(_RANGE, link, re.I) else "list",
            }
        )
    while items and items[-1]["unit"] is None:
        items.pop()  # "0.5mm, 540": the trailing number is not a length
    following = None
    for item in reversed(items):
        if item["unit"] is None:
            item["unit"], item["borrowed"] = following, True
        following = item["unit"]
    return items


def read_lengths(fields: list[tuple[str, str]]) -> dict:
    """Needle lengths: ``value`` (fixed lengths in mm), ``ranges_mm`` (adjustable), min/max, kind."""
    r = rules()
    fixed: dict[float, list[dict]] = {}
    ranges: dict[tuple[float, float], list[dict]] = {}
    converted: dict[float, list[dict]] = {}  # from inches or cm
    ignored: list[dict] = []
    for field, text in fields:
        for read, match in enumerate(r.statement.finditer(text)):
            if read >= MAX_STATEMENTS:
                break
            items = _items(r, text, match)
            i = 0
            while i < len(items):
                item = items[i]
                pair = item["link"] == "range" and i + 1 < len(items)
                last = items[i + 1] if pair else item
                i += 2 if pair else 1
                start, end = item["span"][0], last["span"][1]
                ev = evidence(field, text, start, end)
                low = item["number"] * factor(item["unit"], "millimeter")
                high = last["number"] * factor(last["unit"], "millimeter")
                reason = _why_not(r, text, start, end)
                if reason is None and high > r.max_mm + 1e-9:
                    reason = f"longer than any needle ({high:g} mm > {r.max_mm:g} mm)"
                if reason is None and (high <= 0 or low > high):
                    reason = "not a needle length"
                if reason is not None:
                    if len(ignored) < 20:
                        ignored.append({"text": ev["text"], "reason": reason})
                    continue
                low, high = round(low, 2), round(high, 2)
                if pair and low != high:
                    ranges.setdefault((low, high), []).append(ev)
                elif last["unit"] != "millimeter":
                    converted.setdefault(high, []).append(ev)
                else:
                    fixed.setdefault(high, []).append(ev)
    for mm, evs in converted.items():  # "0.02 inches (0.5 mm)": one length, said twice
        near = [f for f in fixed if abs(f - mm) <= RESTATED_MM]
        fixed.setdefault(near[0] if near else mm, []).extend(evs)
    if not fixed and not ranges:
        reason = "no needle length in mm or inches is stated"
        if ignored:
            reason += f" (set aside: {ignored[0]['text']!r}, {ignored[0]['reason']})"
        return {
            "status": "unknown",
            "reason": reason,
            "value": [],
            "ranges_mm": [],
            "min_mm": None,
            "max_mm": None,
            "kind": None,
            "ignored": ignored,
            "evidence": [],
        }
    lengths = sorted(fixed)
    spans = sorted(ranges)
    ends = lengths + [end for span in spans for end in span]
    if spans:
        kind, reason = "adjustable", "an adjustable needle depth is stated"
    elif len(lengths) > 1:
        kind, reason = "several", "several needle lengths are stated (heads, a kit or options)"
    else:
        kind, reason = "single", "the needle length is stated"
    return {
        "status": "found",
        "reason": reason,
        "value": lengths,
        "ranges_mm": [list(span) for span in spans],
        "min_mm": min(ends),
        "max_mm": max(ends),
        "kind": kind,
        "ignored": ignored,
        "evidence": [e for key in lengths for e in fixed[key][:2]]
        + [e for key in spans for e in ranges[key][:2]],
    }


def read_counts(fields: list[tuple[str, str]], title: tuple[str, str] | None) -> dict:
    """Needle counts stated ("540 needles", "12-pin", "Needle count: 192"; a usual count alone in
    the title, "540 Derma Roller"): ``value`` is the sorted distinct counts."""
    r = rules()
    counts: dict[int, list[dict]] = {}

    def add(field: str, text: str, match: re.Match) -> None:
        n = int(match.group("n"))
        if 0 < n <= r.max_needles and len(counts.get(n, ())) < 3:
            counts.setdefault(n, []).append(evidence(field, text, *match.span()))

    for field, text in fields:
        for match in r.count.finditer(text):
            if not r.count_not_after.search(text[match.end() : match.end() + 20]):
                add(field, text, match)
        for pattern in (r.count_label, *r.count_after):
            for match in pattern.finditer(text):
                add(field, text, match)
        for match in r.bare_count.finditer(text):  # "one 540 face head"
            if r.bare_count_head.match(text, match.end()):
                add(field, text, match)
    if not counts and title is not None:
        for match in r.bare_count.finditer(title[1]):
            add(title[0], title[1], match)
    if not counts:
        return {
            "status": "unknown",
            "reason": "no needle count is stated",
            "value": [],
            "evidence": [],
        }
    value = sorted(counts)
    return {
        "status": "found",
        "reason": "needle count stated" if len(value) == 1 else "several needle counts stated",
        "value": value,
        "evidence": [e for n in value for e in counts[n][:2]],
    }
