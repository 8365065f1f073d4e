"""Packaging, as two separate findings: light protection and the dispenser.

Light is ``protective``, ``clear``, ``conflicting`` (the listing says both) or ``unknown`` (it says
nothing). A finding that touches a false friend ("dark spot serum", "goes on clear", "store in a cool,
dark place") is dropped; an airless pump says nothing about light unless the text does.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from itertools import accumulate

from evaluator.field_words import field_words
from evaluator.text import evidence
from evaluator.vocab import lowered, toml_file


@dataclass(frozen=True)
class PackagingRules:
    false_friends: re.Pattern[str]
    light: re.Pattern[str]  # groups "protective" and "clear"
    dispenser: re.Pattern[str]  # one group per dispenser, d0, d1, ... in order of preference
    dispenser_values: list[str]


def _any(patterns: list[str], name: str | None = None) -> str:
    body = "|".join(f"(?:{p})" for p in patterns)
    return f"(?P<{name}>{body})" if name else body


@cache
def rules(case_sensitive: bool = False) -> PackagingRules:
    """The patterns of data/vocab/packaging.toml. They are written in lower case, so on text that is
    already lower-cased the case-sensitive build gives the same matches at about half the cost."""
    data = toml_file("packaging")
    flags = 0 if case_sensitive else re.I
    light = (
        _any(data["light"]["protective"], "protective")
        + "|"
        + _any(data["light"]["clear"], "clear")
    )
    # Dispenser patterns start at a word boundary; checking it after the match (below) is faster
    # than asking the regex engine to test it at every position.
    dispensers = "|".join(_any(d["patterns"], f"d{i}") for i, d in enumerate(data["dispenser"]))
    dispensers = dispensers.replace("(?:\\b", "(?:")
    return PackagingRules(
        re.compile(_any(data["false_friends"]), flags),
        re.compile(light, flags),
        re.compile(dispensers, flags),
        [d["value"] for d in data["dispenser"]],
    )


WINDOW = 120  # characters around a packaging word that its phrase (and false friends) can span
_WORD_END = re.compile(r"\s|$")


def _windows(lowered: str) -> list[tuple[int, int]]:
    """Spans around the packaging words of a text (``screen_words``: a field without one says
    nothing about packaging), merged, ending at a word boundary. Long descriptions say little about
    packaging; scanning only near its words keeps the cost down."""
    words = field_words(lowered).packaging_words
    if len(lowered) <= 2 * WINDOW:
        return [(0, len(lowered))] if words else []
    windows: list[tuple[int, int]] = []
    for word_start, word_end in words:
        start = max(0, word_start - WINDOW)
        # The word boundary is looked for within one more WINDOW only: text without whitespace
        # would otherwise be searched to its end for every packaging word (quadratic).
        reach = min(len(lowered), word_end + WINDOW)
        end = _WORD_END.search(lowered, reach, reach + WINDOW).start()
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(end, windows[-1][1]))
        else:
            windows.append((start, end))
    return windows


def _overlap_test(spans: list[tuple[int, int]]) -> Callable[[int, int], bool]:
    """A test "does [start, end) overlap one of ``spans``" (spans in order of start) in log time:
    a text full of findings and false friends must not compare every pair."""
    starts = [s for s, _ in spans]
    furthest_end = list(accumulate((e for _, e in spans), max))

    def touches(start: int, end: int) -> bool:
        before = bisect_left(starts, end)  # spans starting before ``end``
        return before > 0 and furthest_end[before - 1] > start

    return touches


def packaging_facts(fields: list[tuple[str, str]]) -> dict:
    """``{"light": {...}, "dispenser": {...}}`` from (field, text) pairs, each with value + evidence."""
    fast, exact = rules(case_sensitive=True), rules()
    protective: list[dict] = []
    clear: list[dict] = []
    dispensers: dict[str, list[dict]] = {}
    for field, text in fields:
        lower = lowered(text)
        r, subject = (fast, lower) if len(lower) == len(text) else (exact, text)
        for window_start, window_end in _windows(lower):
            found = list(r.light.finditer(subject, window_start, window_end))
            found += r.dispenser.finditer(subject, window_start, window_end)
            if not found:
                continue
            # A finding that touches a false friend ("dark spot", "pump up", "store in a dark
            # place") says nothing about the bottle.
            touches_friend = _overlap_test(
                [m.span() for m in r.false_friends.finditer(subject, window_start, window_end)]
            )
            for m in found:
                start, end = m.span()
                if start and (subject[start - 1].isalnum() or subject[start - 1] == "_"):
                    continue  # inside a word ("spots" is not "pots")
                if touches_friend(start, end):
                    continue
                if m.lastgroup == "protective":
                    protective.append(evidence(field, text, start, end))
                elif m.lastgroup == "clear":
                    clear.append(evidence(field, text, start, end))
                else:
                    value = r.dispenser_values[int(m.lastgroup[1:])]
                    dispensers.setdefault(value, []).append(evidence(field, text, start, end))
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
    order = exact.dispenser_values
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
