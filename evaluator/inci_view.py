"""The text an INCI list is read in: its *view*, and where the view breaks into parts.

The view (``view_of``) is the text with markup, entities and list residue blanked out and separators
made commas, the same length, so every span found in the view is the same span of the original text.
Breaks are line and tag breaks, sentence ends, labels ("Ingredients:"), other sections ("Directions:")
and retailer boilerplate. One pattern says what a break is (``breaks``). Trying it at every character
of a 1,000-character list costs more than the rest of the list's reading, so ``break_matches`` tries
it only where a break can start: a new line, a space after a sentence end, or the first letters of a
phrase (found in one pass with an automaton). The matches are the same as ``breaks().finditer(view)``.
The "may contain" marker (``may_contain``) is found the same way: by its words first.
"""

from __future__ import annotations

import html
import re
from functools import cache

from evaluator.vocab import (
    PhraseStarts,
    alternation,
    lowered_alike,
    matches_at,
    occurrences,
    toml_file,
)

GLUE = "\x00"  # stands for markup inside a name in the view
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]{0,10})?[^<>]{0,2000}>")
_INLINE_TAGS = frozenset(
    ["b", "strong", "i", "em", "span", "a", "sup", "sub", "u", "font", "small", "mark", "abbr"]
)
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")
_RESIDUE_EDGE = re.compile(r"""^\s*\[\s*(['"])|(['"])\s*\]\s*$""")
_RESIDUE_JOIN = re.compile(r"""(['"]),[ \t]*(['"])""")
_ESCAPES = re.compile(r"\\(?:n|r|t|xa0|u00a0)")
_SPACES = "\xa0\u2009\u200b\u202f\ufeff\t\r"
_SPACE_CHARS = str.maketrans({c: " " for c in _SPACES})
_SPACE_AND_SEPARATOR_CHARS = str.maketrans({**{c: "," for c in "•|·●▪◆♦"}, **_SPACE_CHARS})
_TRANSLATED = re.compile(f"[{re.escape(_SPACES)}•|·●▪◆♦]")  # finding one is faster than translating
# the ones an ASCII text can hold: looking for each with ``in`` is faster still
_ASCII_TRANSLATED = tuple(c for c in _SPACES + "•|·●▪◆♦" if c.isascii())

# The "may contain" line of a list ("May contain (+/-): CI 77891"): the names after it may not be in
# the product.
MAY_CONTAIN = re.compile(
    r"(?i)[(\[]?\s*(?:\b(?:may contain|peut contenir)\b(?:\s*[(\[]\s*\+/-\s*[)\]])?|\+/-)"
    r"\s*[)\]]?\s*:?"
)
# What every MAY_CONTAIN match holds (the rest of it is optional), and its words in lower case.
_MARKER_CORE = re.compile(r"(?i)\b(?:may contain|peut contenir)\b|\+/-")
_MARKER_WORDS = ("may contain", "peut contenir", "+/-")

PREFIX_CHARS = 4  # a phrase is looked for where the lower-cased text starts with its first letters
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
def _starts() -> PhraseStarts:
    """What a break can start with, in the lower-cased text: a new line, a sentence end (its break
    is the space after it, one further on), or the first letters of a phrase."""
    data = toml_file("inci")
    phrases = [*_FIXED_LABEL_STARTS]
    for key in ("labels", "boilerplate", "other_sections"):
        phrases += data[key]
    prefixes = sorted({p.lower()[:PREFIX_CHARS] for p in phrases})
    if any(not p[:1].isalpha() for p in prefixes):
        raise ValueError("every label, section and boilerplate phrase must start with a letter")
    return PhraseStarts(["\n", *prefixes])


_SENTENCE_ENDS = (".", "!", "?")


def break_matches(view: str) -> list[re.Match[str]]:
    """``breaks().finditer(view)``, tried only where a break can start (found in one pass, which is
    far faster than the regex engine trying every position)."""
    pattern = breaks()
    lowered = lowered_alike(view)
    if lowered is None:
        return list(pattern.finditer(view))
    positions = _starts().starts(lowered)
    ends = occurrences(view, _SENTENCE_ENDS, (-1,))  # the places just after them
    if ends:
        positions = sorted(positions + ends)
    return matches_at(pattern, view, positions)


def view_of(text: str) -> str:
    """``text`` with markup, entities and list residue blanked out and separators made commas; the
    same length, so offsets in the view are offsets in ``text``. Inline tags and entities become
    GLUE, which names drop when they are looked up ("Glyc<b>erin</b>" is glycerin)."""
    if text.isascii():
        to_translate = any(c in text for c in _ASCII_TRANSLATED)
    else:
        to_translate = _TRANSLATED.search(text) is not None
    translated = text.translate(_SPACE_AND_SEPARATOR_CHARS) if to_translate else text
    blanks: list[tuple[int, int, str, str]] = []  # (start, end, first, fill), applied in order
    if "<" in text:
        for m in _TAG.finditer(text):
            if (m.group(2) or "").lower() in _INLINE_TAGS:
                blanks.append((m.start(), m.end(), GLUE, GLUE))
            else:
                blanks.append((m.start(), m.end(), "\n", " "))
    if "&" in text:
        for m in _ENTITY.finditer(text):
            char = html.unescape(m.group())
            char = char if len(char) == 1 and char.isprintable() else " "
            blanks.append((m.start(), m.end(), char.translate(_SPACE_CHARS), GLUE))
    if "\\" in text:
        for m in _ESCAPES.finditer(text):
            blanks.append((m.start(), m.end(), "\n" if m.group() in ("\\n", "\\r") else " ", " "))
    stripped = text.strip()
    # the residue's edges are "['" at the start and "']" at the end: both, or nothing to blank
    if stripped[:1] == "[" and stripped[-1:] == "]":
        edges = list(_RESIDUE_EDGE.finditer(text))
        if len(edges) == 2:
            blanks += [(*m.span(), " ", " ") for m in edges]
            for m in _RESIDUE_JOIN.finditer(text, edges[0].end(), edges[1].start()):
                before = m.start() - 1
                while before > 0 and text[before].isspace() and m.start() - before < 20:
                    before -= 1
                # a part ending in ":" names the next product of a kit, one ending in "." ends a
                # list; other parts continue one list cut in the middle of a name
                blanks.append((*m.span(), "\n" if text[before] in ":." else " ", " "))
    if not blanks:
        return translated
    ordered = sorted(blanks, key=lambda blank: blank[0])
    if any(ordered[i][0] < ordered[i - 1][1] for i in range(1, len(ordered))):
        # overlapping blanks ("&amp;" inside a tag) are applied in the order they were found
        chars = list(translated)
        for start, end, first, fill in blanks:
            chars[start:end] = [first] + [fill] * (end - start - 1)
        return "".join(chars)
    pieces, at = [], 0
    for start, end, first, fill in ordered:
        pieces += (translated[at:start], first, fill * (end - start - 1))
        at = end
    pieces.append(translated[at:])
    return "".join(pieces)


def may_contain(text: str, start: int, end: int) -> re.Match[str] | None:
    """The "may contain" / "+/-" marker in text[start:end], if any (cheap test on the span first)."""
    if (
        text.find("ontain", start, end) < 0
        and text.find("+/-", start, end) < 0
        and text.find("ONTAIN", start, end) < 0
        and text.find("ontenir", start, end) < 0
    ):
        return None
    return next_marker(text, start, end)


def next_marker(text: str, start: int, end: int) -> re.Match[str] | None:
    """``MAY_CONTAIN.search(text, start, end)``. The regex can start at any bracket or space, so the
    engine tries it at every character; the marker's words are found with str.find in the
    lower-cased text instead, and the regex is tried from the brackets and spaces just before them."""
    lowered = lowered_alike(text)
    if lowered is None:
        return MAY_CONTAIN.search(text, start, end)
    words_at = None  # where the first marker's words start
    for words in _MARKER_WORDS:
        at = lowered.find(words, start, end)
        while at >= 0 and (words_at is None or at < words_at):
            if _MARKER_CORE.match(text, at, end):
                words_at = at
                break
            at = lowered.find(words, at + 1, end)
    if words_at is None:
        return None
    at = words_at
    while at > start and text[at - 1].isspace():
        at -= 1
    if at > start and text[at - 1] in "([":
        at -= 1
    return MAY_CONTAIN.search(text, at, end)
