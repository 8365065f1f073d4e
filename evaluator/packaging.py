"""Packaging, as two separate findings: light protection and the dispenser.

Light is ``protective``, ``clear``, ``conflicting`` (the listing says both) or ``unknown`` (it says
nothing). False friends ("dark spot serum", "goes on clear", "store in a cool, dark place") are blanked
out before searching; an airless pump says nothing about light unless the text does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from evaluator.text import evidence
from evaluator.vocab import toml_file


@dataclass(frozen=True)
class PackagingRules:
    false_friends: re.Pattern[str]
    protective: re.Pattern[str]
    clear: re.Pattern[str]
    dispensers: list[tuple[str, re.Pattern[str]]]
    quick: re.Pattern[str]


def _any(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.I)


@cache
def rules() -> PackagingRules:
    data = toml_file("packaging")
    dispensers = [(d["value"], _any(d["patterns"])) for d in data["dispenser"]]
    # A cheap screen: fields without any of these words cannot say anything about packaging.
    quick = re.compile(
        r"bottle|vial|jar|packag|container|glass|tube|pump|dropper|pipette|ampoule|ampule|capsule|"
        r"airless|miron|alumin|light|opaque|dose|pot|tub|squeeze",
        re.I,
    )
    return PackagingRules(
        _any(data["false_friends"]),
        _any(data["light"]["protective"]),
        _any(data["light"]["clear"]),
        dispensers,
        quick,
    )


def _blank(match: re.Match[str]) -> str:
    return " " * (match.end() - match.start())


def packaging_facts(fields: list[tuple[str, str]]) -> dict:
    """``{"light": {...}, "dispenser": {...}}`` from (field, text) pairs, each with value + evidence."""
    r = rules()
    protective: list[dict] = []
    clear: list[dict] = []
    dispensers: dict[str, list[dict]] = {}
    for field, text in fields:
        if not r.quick.search(text):
            continue
        masked = r.false_friends.sub(_blank, text)
        protective.extend(evidence(field, text, *m.span()) for m in r.protective.finditer(masked))
        clear.extend(evidence(field, text, *m.span()) for m in r.clear.finditer(masked))
        for value, pattern in r.dispensers:
            for m in pattern.finditer(masked):
                dispensers.setdefault(value, []).append(evidence(field, text, *m.span()))
    if protective and clear:
        light = {
            "value": "conflicting",
            "reason": "the listing names both protective and clear packaging",
        }
    elif protective:
        light = {
            "value": "protective",
            "reason": "dark, opaque or light-blocking packaging is named",
        }
    elif clear:
        light = {"value": "clear", "reason": "clear or transparent packaging is named"}
    else:
        light = {
            "value": "unknown",
            "reason": "the listing says nothing about the bottle's colour or opacity",
        }
    light["evidence"] = protective[:5] + clear[:5]
    order = [value for value, _ in r.dispensers]
    named = [value for value in order if value in dispensers]
    if named:
        value = named[0]
        dispenser = {
            "value": value,
            "reason": f"{value} named"
            + (f" (also named: {', '.join(named[1:])})" if len(named) > 1 else ""),
            "found": named,
            "evidence": [e for v in named for e in dispensers[v][:3]],
        }
    else:
        dispenser = {
            "value": "unknown",
            "reason": "no dispenser named",
            "found": [],
            "evidence": [],
        }
    return {"light": light, "dispenser": dispenser}
