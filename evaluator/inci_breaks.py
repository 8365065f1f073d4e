"""Where an ingredients text breaks into parts: line and tag breaks, sentence ends, labels
("Ingredients:"), other sections ("Directions:") and retailer boilerplate.

One pattern says what a break is (``breaks``). Trying it at every character of a 1,000-character
list costs more than the rest of the list's reading, so ``break_matches`` tries it only where a break
can start: a new line, a space after a sentence end, or the first letters of a phrase (found by one
scan of the lower-cased text that the regex engine runs at C speed). The matches are the same as
``breaks().finditer(view)``.
"""

from __future__ import annotations

import re
from functools import cache

from evaluator.vocab import alternation, toml_file

PREFIX_CHARS = 4  # a phrase is looked for where the lower-cased text starts with its first letters
# Letters that match an ASCII letter case-insensitively but do not lower-case to it.
_ODD_CASE = re.compile("[ıſ]")
_FIXED_LABEL_STARTS = ("full ", "other ", "active", "inactive")  # the drug-facts label below


@cache
def breaks() -> re.Pattern[str]:
    data = toml_file("inci")
    # tries, not plain alternations: each position of a long text is tried against every phrase
    words, boiler, others = (
        alternation(data[key]) for key in ("labels", "boilerplate", "other_sections")
    )
    short = "".join(rf"(?<!(?i:\b{re.escape(a)})\.)" for a in data["abbreviations"])
    return re.compile(
        r"\n(?:[ \t]*\n)*"
        rf"|(?<=[A-Za-z0-9)\]%][.!?]){short}[ \t]+(?![(\[]?\s*(?i:may contain|\+/-))(?=[-•*A-Z(])"
        # every phrase starts a word: one look behind spares trying them inside words
        rf"|(?<!\w)(?:(?P<other>(?i:(?<!-)(?:{others})[ \t]*:))"
        rf"|(?P<boiler>(?i:{boiler}))"
        r"|(?P<label>(?i:(?:full |other )?(?P<drug>(?:in)?active )ingredients?\s*:|"
        r"(?:in)?active\s*:|"
        rf"(?<!-)(?:{words})[ \t]*(?::|(?=\n)|$))))"
    )


@cache
def _starts() -> tuple[str, ...]:
    """What a break can start with, in the lower-cased text: a new line, a sentence end (its break
    is the space after it), or the first letters of a phrase."""
    data = toml_file("inci")
    phrases = [*_FIXED_LABEL_STARTS]
    for key in ("labels", "boilerplate", "other_sections"):
        phrases += data[key]
    prefixes = sorted({p.lower()[:PREFIX_CHARS] for p in phrases})
    if any(not p[:1].isalpha() for p in prefixes):
        raise ValueError("every label, section and boilerplate phrase must start with a letter")
    return ("\n", ".", "!", "?", *prefixes)


def break_matches(view: str) -> list[re.Match[str]]:
    """``breaks().finditer(view)``, tried only where a break can start (found with ``str.find``,
    which is far faster than the regex engine trying every position)."""
    pattern = breaks()
    lowered = view.lower()
    if len(lowered) != len(view) or _ODD_CASE.search(view):
        return list(pattern.finditer(view))
    positions = []
    for start in _starts():
        at = lowered.find(start)
        shift = 1 if start in ".!?" else 0
        while at >= 0:
            positions.append(at + shift)
            at = lowered.find(start, at + 1)
    matches, end = [], 0
    for position in sorted(positions):
        if position >= end:
            match = pattern.match(view, position)
            if match is not None:
                matches.append(match)
                end = match.end()
    return matches
