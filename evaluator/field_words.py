"""The words several readers look for in one field, found in one pass over its lower-cased text.

The stated-percentage reader wants where an active's name can start (data/vocab/ingredients.toml),
the packaging reader where its screen words are (data/vocab/packaging.toml ``screen_words``). Both
read the same title, description, tags and alt texts: one Aho-Corasick automaton of both
vocabularies, each word tagged with the vocabularies it belongs to, scans each field once for both.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import NamedTuple

import ahocorasick

from evaluator.vocab import ingredients, toml_file

_MENTION = 1
_PACKAGING = 2


class FieldWords(NamedTuple):
    mention_starts: tuple[int, ...]  # where an active's name starts, in order, a position once
    # the packaging screen words as a regex alternation of them finds them: left to right, the
    # longest word at each position, none overlapping the one before
    packaging_words: tuple[tuple[int, int], ...]


@cache
def _automaton() -> ahocorasick.Automaton | None:
    kinds: dict[str, int] = {}
    for name in ingredients().mention_names:
        kinds[name] = kinds.get(name, 0) | _MENTION
    for word in toml_file("packaging")["screen_words"]:
        kinds[word] = kinds.get(word, 0) | _PACKAGING
    automaton = ahocorasick.Automaton()
    for word, kind in kinds.items():
        if word:
            automaton.add_word(word, (len(word), kind))
    if len(automaton) == 0:
        return None
    automaton.make_automaton()
    return automaton


# A listing's fields are read by both readers one after the other: the scans of the last few
# fields are kept so the second reader finds them done.
@lru_cache(maxsize=16)
def field_words(lowered: str) -> FieldWords:
    """The words of both vocabularies in ``lowered`` (a field's text, already in lower case)."""
    automaton = _automaton()
    if automaton is None:
        return FieldWords((), ())
    mention_starts: set[int] = set()
    longest: dict[int, int] = {}  # start -> the longest packaging word there
    for end, (length, kind) in automaton.iter(lowered):
        start = end - length + 1
        if kind & _MENTION:
            mention_starts.add(start)
        if kind & _PACKAGING and longest.get(start, 0) < length:
            longest[start] = length
    packaging_words = []
    taken_up_to = 0
    for start in sorted(longest):
        if start >= taken_up_to:
            taken_up_to = start + longest[start]
            packaging_words.append((start, taken_up_to))
    return FieldWords(tuple(sorted(mention_starts)), tuple(packaging_words))
