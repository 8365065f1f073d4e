"""The evaluator's data files (data/vocab, data/rubrics, data/exchange_rates.toml), read once."""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import ahocorasick

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
VOCAB_DIR = DATA_DIR / "vocab"
RUBRIC_DIR = DATA_DIR / "rubrics"


def read_toml(path: Path) -> dict:
    with path.open("rb") as handle:
        return tomllib.load(handle)


@cache
def data_version(*names: str) -> str:
    """A fingerprint of data files named relative to ``data/`` (every vocabulary when none is named):
    stored with each evaluation and relevance judgement, so editing a file re-scores and re-judges
    what was made with the old one, whether or not its ``version`` was bumped."""
    paths = [DATA_DIR / name for name in names] or sorted(VOCAB_DIR.glob("*.toml"))
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.relative_to(DATA_DIR).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def vocabulary_version() -> str:
    """The fingerprint of what an evaluation reads besides the listing and its rubric: every
    vocabulary and the exchange rates."""
    return data_version(*_vocabulary_files(VOCAB_DIR, DATA_DIR), "exchange_rates.toml")


@cache
def _vocabulary_files(vocab_dir: Path, data_dir: Path) -> tuple[str, ...]:
    # listed once: every stored evaluation asks for the fingerprint
    return tuple(sorted(path.relative_to(data_dir).as_posix() for path in vocab_dir.glob("*.toml")))


@dataclass(frozen=True, slots=True)
class Ingredient:
    canonical: str
    active: str | None = None
    vitamin_c_form: str | None = None
    at_most_one_percent: bool = False
    max_percent: float | None = None
    fragrance: bool = False
    essential_oil: bool = False


_KEY_CHARS = str.maketrans({**dict.fromkeys("*†‡^°¹²³•✝#"), "’": "'", "–": "-"})
_KEY_CHAR = re.compile("[*†‡^°¹²³•✝#’–]")  # finding one is faster than translating


def lookup_key(name: str) -> str:
    """The form names are compared in: lower case, markers and trailing dots gone, spaces single."""
    if name.isascii():  # the ASCII markers, looked for with ``in``: faster than a regex call
        marked = "*" in name or "#" in name or "^" in name
    else:
        marked = _KEY_CHAR.search(name) is not None
    key = (name.translate(_KEY_CHARS) if marked else name).lower()
    return " ".join(key.split()).strip(" .:")  # runs of whitespace made one space


class PhraseStarts:
    """Where any of a set of phrases starts in a text, found in one pass (an Aho-Corasick automaton).

    A regex tried at every position of a long text costs far more than this scan; the callers then
    try their exact pattern only at these positions, which gives the same matches."""

    def __init__(self, phrases: Iterable[str]) -> None:
        self._automaton = ahocorasick.Automaton(ahocorasick.STORE_LENGTH)
        for phrase in set(phrases):
            if phrase:
                self._automaton.add_word(phrase)
        self._empty = len(self._automaton) == 0
        if not self._empty:
            self._automaton.make_automaton()

    def starts(self, text: str) -> list[int]:
        """Every position of ``text`` where a phrase starts, in order (a position once)."""
        if self._empty:
            return []
        return sorted({end - length + 1 for end, length in self._automaton.iter(text)})


@lru_cache(maxsize=64)
def lowered(text: str) -> str:
    """``text.lower()``, kept for the last few texts: the readers of a listing each lower the same
    fields (costly for a text with one non-ASCII character)."""
    return text.lower()


# Letters that match an ASCII letter case-insensitively but do not lower-case to it.
_ODD_CASE = "ıſ"


def lowered_alike(text: str) -> str | None:
    """``text.lower()`` when its offsets are those of ``text`` and a case-insensitive pattern of
    ASCII words matches ``text`` where the lower-case words start in it; else None."""
    lower = lowered(text)
    if len(lower) != len(text) or (not text.isascii() and any(c in text for c in _ODD_CASE)):
        return None
    return lower


def matches_at(pattern: re.Pattern[str], text: str, positions: list[int]) -> list[re.Match[str]]:
    """``pattern.finditer(text)`` for a pattern that matches only at ``positions`` (in order) and
    never matches empty text: it is tried there alone, as finditer would, left to right."""
    matches: list[re.Match[str]] = []
    end = 0
    for position in positions:
        if position >= end:
            match = pattern.match(text, position)
            if match is not None:
                matches.append(match)
                end = match.end()
    return matches


def occurrences(lower: str, words: Iterable[str], back: tuple[int, ...] = (0,)) -> list[int]:
    """Every position where one of ``words`` starts in ``lower``, moved back by each of ``back``,
    in order, a position once: where a pattern that holds one of them may match (str.find runs
    far faster than the regex engine trying every position)."""
    found = set()
    for word in words:
        at = lower.find(word)
        while at >= 0:
            found.update(at - b for b in back if at - b >= 0)
            at = lower.find(word, at + 1)
    return sorted(found)


@dataclass(frozen=True)
class IngredientVocabulary:
    by_key: dict[str, Ingredient]
    mention_pattern: re.Pattern[str]  # active names in running text, case-insensitive
    lowercase_mention_pattern: re.Pattern[str]  # the same, for text already in lower case
    mention_names: frozenset[
        str
    ]  # active names in lower case (evaluator/field_words.py finds them)
    acronym_pattern: re.Pattern[str] | None  # acronyms ("SAP", "HA"), case-sensitive
    # any acronym anywhere (no word boundaries): one C scan says whether acronym_pattern can match
    acronym_screen: re.Pattern[str] | None
    acronyms: dict[str, Ingredient]
    essential_oil_pattern: re.Pattern[str]
    version: str


def alternation(names: list[str]) -> str:
    """A regex matching any of ``names``, built as a trie so the scan stays fast with many names."""
    trie: dict = {}
    for name in set(names):
        node = trie
        for char in name:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict) -> str:
        ends = "" in node
        branches = [re.escape(c) + build(child) for c, child in sorted(node.items()) if c]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:
            return "(?:" + body + ")?"
        return body

    return build(trie)


@cache
def ingredients() -> IngredientVocabulary:
    data = read_toml(VOCAB_DIR / "ingredients.toml")
    by_key: dict[str, Ingredient] = {}
    acronyms: dict[str, Ingredient] = {}
    active_names: list[str] = []
    for entry in data.get("ingredient", []):
        ingredient = Ingredient(
            canonical=entry["canonical"],
            active=entry.get("active"),
            vitamin_c_form=entry.get("vitamin_c_form"),
            at_most_one_percent=bool(entry.get("at_most_one_percent", False)),
            max_percent=entry.get("max_percent"),
            fragrance=bool(entry.get("fragrance", False)),
            essential_oil=bool(entry.get("essential_oil", False)),
        )
        names = [entry["canonical"], *entry.get("aliases", [])]
        for name in names:
            by_key[lookup_key(name)] = ingredient
        if ingredient.active:
            active_names.extend(lookup_key(n) for n in names)
        for acronym in entry.get("acronyms", []):
            acronyms[acronym] = ingredient
            by_key.setdefault(lookup_key(acronym), ingredient)
    common = data.get("common", {})
    for name in (
        common.get("known", []) + common.get("known_more", []) + common.get("known_listings", [])
    ):
        by_key.setdefault(lookup_key(name), Ingredient(canonical=name))
    for alias, target in data.get("aliases", {}).items():
        by_key[lookup_key(alias)] = by_key.get(lookup_key(target)) or Ingredient(canonical=target)
    mention_source = r"(?<!\w)(?<!\w-)(?:" + alternation(active_names) + r")(?![\w-])"
    mention = re.compile(mention_source, re.I)
    acronym_pattern = (
        re.compile(r"(?<!\w)(?<!\w-)(?:" + alternation(list(acronyms)) + r")(?![\w-])")
        if acronyms
        else None
    )
    acronym_screen = re.compile(alternation(list(acronyms))) if acronyms else None
    genera = data["essential_oil_genera"]
    essential = re.compile(
        r"\b(?:"
        + "|".join(genera)
        + r")\b.*\b(?:peel|leaf|flower|herb|bark|fruit|rind|wood)?\s*oil\b",
        re.I,
    )
    return IngredientVocabulary(
        by_key,
        mention,
        re.compile(mention_source),
        frozenset(active_names),
        acronym_pattern,
        acronym_screen,
        acronyms,
        essential,
        str(data.get("version", "")),
    )


@cache
def toml_file(name: str) -> dict:
    """A data file under data/vocab (``"packaging"``) or data/ (``"exchange_rates"``), parsed once."""
    for folder in (VOCAB_DIR, DATA_DIR):
        path = folder / f"{name}.toml"
        if path.exists():
            return read_toml(path)
    raise FileNotFoundError(f"no data file {name}.toml in {VOCAB_DIR} or {DATA_DIR}")


@cache
def ingredient_roles() -> dict[str, str]:
    """Canonical ingredient name -> what it does in a formula ("humectant", "preservative", ...):
    the vocabulary's [roles], else what its flags say (a vitamin C form, fragrance, essential oil)."""
    data = read_toml(VOCAB_DIR / "ingredients.toml")
    roles = {name: role for role, names in data.get("roles", {}).items() for name in names}
    for entry in data.get("ingredient", []):
        flagged = (
            "vitamin C" if entry.get("vitamin_c_form") else
            "fragrance" if entry.get("fragrance") else
            "essential oil (fragrance)" if entry.get("essential_oil") else None
        )  # fmt: skip
        if flagged:
            roles.setdefault(entry["canonical"], flagged)
    return roles
