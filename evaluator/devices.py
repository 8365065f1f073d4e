"""The facts of a micro-needling device listing (a derma roller, stamp or electric pen), each with the
words it came from or "unknown" with the reason: device type, needle lengths and count
(evaluator/needles.py), needle material, replaceable heads and their price, sterile packaging, the
stated number of uses and what the device is for. The words are data (data/vocab/devices.toml).

A product that only looks like a device (a jade or ice roller, a micro-needle patch) has no device
type, with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

from evaluator.money import currency_from_text, decimal_text, parse_amount
from evaluator.needles import read_counts, read_lengths
from evaluator.text import evidence, marketing_fields, text_of, variant_fields
from evaluator.vocab import toml_file

Fields = list[tuple[str, str]]


def _any(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.I)


class NearMiss(NamedTuple):
    reason: str
    pattern: re.Pattern[str]
    anywhere: bool  # searched in every field, not only the title
    unless_title_has_needles: bool


class Material(NamedTuple):
    value: str
    named: re.Pattern[str]
    with_needles: re.Pattern[str]
    false_friends: re.Pattern[str]
    coating: bool  # a plating: the base metal named anywhere is the needles' core


@dataclass(frozen=True)
class DeviceRules:
    kinds: list[tuple[str, re.Pattern[str]]]
    bare_kinds: list[tuple[str, re.Pattern[str]]]
    needle_context: re.Pattern[str]
    near_misses: list[NearMiss]
    materials: list[Material]
    replaceable: re.Pattern[str]
    price: re.Pattern[str]
    price_window: int
    sterile: re.Pattern[str]
    not_sterile: re.Pattern[str]
    sterile_false_friends: re.Pattern[str]
    uses: list[re.Pattern[str]]
    single_use: re.Pattern[str]
    purposes: list[tuple[str, re.Pattern[str]]]
    purpose_negation: re.Pattern[str]


@cache
def rules() -> DeviceRules:
    data = toml_file("devices")
    types, material = data["device_type"], data["material_rules"]
    materials = []
    for entry in data["material"]:
        named = "|".join(f"(?:{p})" for p in entry["patterns"])
        with_needles = [p.replace("{material}", named) for p in material["material_with_needles"]]
        friends = [p.replace("{material}", named) for p in material["material_false_friends"]]
        materials.append(
            Material(
                entry["value"],
                re.compile(named, re.I),
                _any(with_needles),
                _any(friends),
                bool(entry.get("coating")),
            )
        )
    return DeviceRules(
        kinds=[(k["value"], _any(k["patterns"])) for k in types["kind"]],
        bare_kinds=[(value, re.compile(p, re.I)) for value, p in types["bare"]],
        needle_context=re.compile(types["needle_context"], re.I),
        near_misses=[
            NearMiss(
                n["reason"],
                _any(n["patterns"]),
                bool(n.get("anywhere")),
                bool(n.get("unless_title_has_needles")),
            )
            for n in data["near_miss"]
        ],
        materials=materials,
        replaceable=_any(data["replaceable"]["patterns"]),
        price=re.compile(data["replaceable"]["price"], re.I),
        price_window=int(data["replaceable"]["price_window"]),
        sterile=_any(data["sterile"]["patterns"]),
        not_sterile=_any(data["sterile"]["negative"]),
        sterile_false_friends=_any(data["sterile"]["false_friends"]),
        uses=[re.compile(p, re.I) for p in data["uses"]["patterns"]],
        single_use=re.compile(data["uses"]["single_use"], re.I),
        purposes=[(p["value"], _any(p["patterns"])) for p in data["purpose"]],
        purpose_negation=re.compile(data["purpose_rules"]["negations"], re.I),
    )


def _unknown(reason: str, **fields: Any) -> dict:
    return {"status": "unknown", "reason": reason, "evidence": [], **fields}


def _first(pattern: re.Pattern[str], fields: Fields) -> tuple[str, str, re.Match] | None:
    for field, text in fields:
        match = pattern.search(text)
        if match:
            return field, text, match
    return None


def _earliest_kind(r: DeviceRules, fields: Fields) -> dict | None:
    """The device type named first, field by field."""
    for field, text in fields:
        hits = [(m.start(), value, m) for value, p in r.kinds if (m := p.search(text))]
        if hits:
            _, value, m = min(hits, key=lambda hit: hit[0])
            return {
                "status": "found",
                "value": value,
                "reason": f"the listing names a {value}",
                "evidence": [evidence(field, text, *m.span())],
            }
    return None


def read_type(fields: Fields, title: Fields) -> dict:
    """Roller, stamp or electric pen: the title first; then a near miss (jade roller, micro-needle
    patch, "no needles") says it is no needling device; then the other fields; then a bare
    "roller"/"stamp"/"pen" in the title of a listing that speaks of needles."""
    r = rules()
    named = _earliest_kind(r, title)
    if named:
        return named
    for near in r.near_misses:
        if near.unless_title_has_needles and _first(r.needle_context, title):
            continue
        hit = _first(near.pattern, fields if near.anywhere else title)
        if hit:
            field, text, m = hit
            return _unknown(near.reason, value=None, evidence=[evidence(field, text, *m.span())])
    named = _earliest_kind(r, [f for f in fields if f not in title])
    if named:
        return named
    if _first(r.needle_context, fields):
        for value, pattern in r.bare_kinds:
            hit = _first(pattern, title)
            if hit:
                field, text, m = hit
                return {
                    "status": "found",
                    "value": value,
                    "reason": f"the title names a {value} and the listing speaks of needles",
                    "evidence": [evidence(field, text, *m.span())],
                }
    return _unknown("the listing names no roller, stamp or pen", value=None)


def read_material(fields: Fields, near_miss: bool) -> dict:
    """Needle material: one named with the needles ("titanium needles") beats one named alone; a
    material of the handle or a colour ("titanium-coloured handle") is not the needles'."""
    r = rules()
    with_needles: dict[str, list[dict]] = {}
    alone: dict[str, list[dict]] = {}
    for field, text in fields:
        for material in r.materials:
            friend_spans = [m.span() for m in material.false_friends.finditer(text)]
            for m in material.with_needles.finditer(text):
                ev = evidence(field, text, *m.span())
                with_needles.setdefault(material.value, []).append(ev)
            for m in material.named.finditer(text):
                if not any(s <= m.start() < e for s, e in friend_spans):
                    ev = evidence(field, text, *m.span())
                    alone.setdefault(material.value, []).append(ev)
    found = with_needles or ({} if near_miss else alone)
    coatings = {m.value for m in r.materials if m.coating}
    if found and set(found) <= coatings and not near_miss:
        # "needles coated in 24K gold over a stainless steel core": the plating's base metal
        found = {**found, **{v: e for v, e in alone.items() if v not in coatings}}
    order = [m.value for m in r.materials if m.value in found]
    if not order:
        return _unknown("no needle material is named", value=None, found=[])
    how = "named with the needles" if with_needles else "named in the listing"
    also = f" (also named: {', '.join(order[1:])})" if len(order) > 1 else ""
    return {
        "status": "found",
        "value": order[0],
        "reason": f"{order[0]} {how}{also}",
        "found": order,
        "evidence": [e for value in order for e in found[value][:2]],
    }


def read_replaceable(fields: Fields, device_type: str | None) -> dict:
    """Replaceable heads or cartridges, and their price when one follows the words."""
    r = rules()
    hit = _first(r.replaceable, fields)
    if hit is None:
        return _unknown("no replaceable heads or cartridges are named", value=None, price=None)
    field, text, m = hit
    price = None
    after = r.price.search(text, m.end(), m.end() + r.price_window)
    if after:
        amount = parse_amount(after.group())
        if amount is not None and amount > 0:
            price = {
                "amount": decimal_text(amount),
                "currency": currency_from_text(after.group()),
                "evidence": [evidence(field, text, *after.span())],
            }
    what = "cartridges" if device_type == "electric pen" else "heads or cartridges"
    return {
        "status": "found",
        "value": True,
        "reason": f"replaceable {what} are named" + (" with a price" if price else ""),
        "price": price,
        "evidence": [evidence(field, text, *m.span())],
    }


def read_sterile(fields: Fields) -> dict:
    """Sterile packaging (gamma sterilised, individually sealed); "non-sterile" says the opposite;
    "sterilise before use" says nothing."""
    r = rules()
    hit = _first(r.not_sterile, fields)
    if hit:
        field, text, m = hit
        return {
            "status": "found",
            "value": False,
            "reason": "the listing says it is not sterile",
            "evidence": [evidence(field, text, *m.span())],
        }
    found = []
    for field, text in fields:
        friends = [m.span() for m in r.sterile_false_friends.finditer(text)]
        for m in r.sterile.finditer(text):
            if not any(s < m.end() and m.start() < e for s, e in friends):
                found.append(evidence(field, text, *m.span()))
    if not found:
        return _unknown("no sterile or sealed packaging is named", value=None)
    return {
        "status": "found",
        "value": True,
        "reason": "sterile or sealed packaging is named",
        "evidence": found[:3],
    }


def read_uses(fields: Fields) -> dict:
    """The number of uses the listing states ("replace after 10-15 uses", "single use")."""
    r = rules()
    for pattern in r.uses:
        hit = _first(pattern, fields)
        if hit:
            field, text, m = hit
            low = int(m.group("a"))
            high = int(m.group("b")) if m.group("b") else low
            if 0 < low <= high:
                return {
                    "status": "found",
                    "value": low,
                    "max": high,
                    "reason": "a number of uses is stated",
                    "evidence": [evidence(field, text, *m.span())],
                }
    hit = _first(r.single_use, fields)
    if hit:
        field, text, m = hit
        return {
            "status": "found",
            "value": 1,
            "max": 1,
            "reason": "single use",
            "evidence": [evidence(field, text, *m.span())],
        }
    return _unknown("no number of uses is stated", value=None, max=None)


def read_purpose(fields: Fields) -> dict:
    """What the listing says the device is for: face, scalp/hair, body, eyes (a warning such as
    "not for the face" is not a use)."""
    r = rules()
    found: dict[str, list[dict]] = {}
    for field, text in fields:
        for value, pattern in r.purposes:
            for m in pattern.finditer(text):
                if r.purpose_negation.search(text[max(0, m.start() - 40) : m.start()]):
                    continue
                if len(found.setdefault(value, [])) < 2:
                    found[value].append(evidence(field, text, *m.span()))
    value = [v for v, _ in r.purposes if v in found]
    if not value:
        return _unknown("the listing does not say what the device is for", value=[])
    return {
        "status": "found",
        "value": value,
        "reason": "the listing says it is for: " + ", ".join(value),
        "evidence": [e for v in value for e in found[v]],
    }


def _guard(name: str, reader: Callable[[], dict], fallback: dict) -> dict:
    try:
        return reader()
    except Exception as error:  # a reader must never take the others down with it
        return {**fallback, "reason": f"{name} could not be read ({type(error).__name__})"}


def device_facts(listing: Any) -> dict:
    """Every device fact of a listing dict; a fact that cannot be read is "unknown" with a reason."""
    if not isinstance(listing, dict):
        listing = {}
    fields = list(marketing_fields(listing)) + list(variant_fields(listing))
    title = [("title", text_of(listing.get("title")))] if text_of(listing.get("title")) else []
    device_type = _guard("device type", lambda: read_type(fields, title), _unknown("", value=None))
    near_miss = device_type["status"] == "unknown" and bool(device_type["evidence"])
    return {
        "device_type": device_type,
        "needle_length": _guard(
            "needle length",
            lambda: read_lengths(fields),
            _unknown("", value=[], ranges_mm=[], min_mm=None, max_mm=None, kind=None, ignored=[]),
        ),
        "needle_count": _guard(
            "needle count",
            lambda: read_counts(fields, title[0] if title else None),
            _unknown("", value=[]),
        ),
        "needle_material": _guard(
            "needle material",
            lambda: read_material(fields, near_miss),
            _unknown("", value=None, found=[]),
        ),
        "replaceable_heads": _guard(
            "replaceable heads",
            lambda: read_replaceable(fields, device_type.get("value")),
            _unknown("", value=None, price=None),
        ),
        "sterile": _guard(
            "sterile packaging", lambda: read_sterile(fields), _unknown("", value=None)
        ),
        "uses": _guard("uses", lambda: read_uses(fields), _unknown("", value=None, max=None)),
        "purpose": _guard("purpose", lambda: read_purpose(fields), _unknown("", value=[])),
    }
