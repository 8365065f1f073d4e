"""One ingredient name as a shop writes it -> the vocabulary entry it stands for.

Shops write the same INCI name many ways: with a common name in parentheses ("Helianthus Annuus
(Sunflower) Seed Oil"), with alternatives after slashes ("Aqua/Water/Eau"), in French ("Ascorbate de
sodium"), with markers and percentages. Each spelling is reduced to lookup keys tried in turn against
data/vocab/ingredients.toml.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache

from evaluator.vocab import Ingredient, alternation, ingredients, lookup_key, toml_file

MAX_NAME_CHARS = 200  # longer "ingredients" are sentences or junk, not names: never looked up

_INLINE_PERCENT = re.compile(r"\(?(?<![\d.,])\d{1,3}(?:[.,]\d{1,3})?[ \t]{0,3}%\)?")
_PAREN = re.compile(r"\s*[(\[][^()\[\]]*[)\]]\s*")
_PAREN_CONTENT = re.compile(r"[(\[]([^)\]]*)[)\]]")
_PREFIX = re.compile(
    r"^(?:organic|certified organic|natural|pure|cold[- ]pressed|bio|wildcrafted)\s+", re.I
)
_PREFIX_FIRST = frozenset(
    "ocnpbwOCNPBW"
)  # what _PREFIX can start with (no other letter folds to them)
_SUFFIX = re.compile(r"\s+(?:\(?organic\)?|\(?bio\)?|\(?vegan\)?|\(?natural\)?)$", re.I)
_SUFFIX_ENDS = tuple(w + p for w in ("organic", "bio", "vegan", "natural") for p in ("", ")"))
_COLOUR_INDEX = re.compile(
    r"(?:ci|c\.i\.)\s*\d{5}"
    r"|(?:(?:ext\.\s*)?(?:fd\s*&\s*c|d\s*&\s*c)\s+|ext\.\s+)?"
    r"(?:red|yellow|blue|green|orange|violet|brown)\s+(?:no\.?\s*)?\d{1,2}(?:\s+\w+)?(?:\s+lake)?"
)
_DIGIT = re.compile(r"\d")
_SLASH = re.compile(r"\s*[/\\]\s*")


def _slash_parts(name: str) -> list[str]:
    """``_SLASH.split(name)``; most names have no slash, and ``in`` finds that faster."""
    return _SLASH.split(name) if "/" in name or "\\" in name else [name]


_SPACED_DASH = re.compile(r"\s+-\s+|(?<=\w)\s+-(?=\d)")
_BROKEN_WORD = re.compile(r"(?<=[a-z]{3})-\s+(?=[a-z]{3})")
_HYPHEN_IN_WORD = re.compile(r"(?<=[a-z]{2})-(?=[a-z]{3})")  # "Mag-nesium", "Tetraisopal-mitate"
_TRAILING_CI = re.compile(r"\s*\(?\bci\s*\d{5}\)?$")
_AND = re.compile(r"\s*\(and\)\s*|\s+&\s+", re.I)
# The position digit written as a letter or the letter O as a zero: "3-0-Ethyl", "3 O Ethyl".
_O_POSITION = re.compile(r"\b([23])\s*-?\s*[o0]\s*-?\s*(?=ethyl)")
_ASCORB = re.compile(r"\bascorb(?:yl|ate|ic)\b")
_NOT_A_FORM = re.compile(
    r"\b(?:extract|juice|oil|powder|water|ferment|filtrate|complex|blend|concentrate|oxidase)\b"
)
_L_PREFIX = re.compile(r"^l-(?=ascorb)")
_FILLER = frozenset(["as", "and", "&", "with", "+", "of", "(as"])
_CODE = re.compile(r"#?\d[\d.-]*")  # "#15567": a supplier's code


@cache
def _french() -> tuple[dict[str, str], re.Pattern[str], re.Pattern[str]]:
    data = toml_file("inci")
    heads = "|".join(re.escape(h) for h in data.get("french_heads", []))
    return (
        data.get("translate", {}),
        re.compile(r"^(.+?)\s+(?:de|du|des|d')\s*(.+)$"),
        re.compile(rf"^({heads})\s+(?!de\b|du\b|des\b|d')(.+)$"),
    )


@dataclass(frozen=True)
class _Families:
    genera: frozenset[str]  # a botanical name's first word is one of them
    botanical: re.Pattern[str]
    numbered: re.Pattern[str]
    esters: frozenset[str]
    peptide: re.Pattern[str]


@cache
def _families() -> _Families:
    data = toml_file("inci")
    # tries, not plain alternations: only whether a whole name matches is asked of them
    genera = alternation(data["botanical"]["genera"])
    ends = alternation(data["botanical"]["ends"])
    numbered = "|".join(re.escape(f) for f in data["numbered"]["families"])
    acyls = alternation(data["peptides"]["acyls"])
    suffixes = alternation(data["peptides"]["suffixes"])
    return _Families(
        genera=frozenset(data["botanical"]["genera"]),
        botanical=re.compile(
            rf"(?:{genera})(?:/[a-z][a-z ]*?)?(?: [a-z][a-z'./\\-]*)+?(?: (?:{ends}))?"
        ),
        numbered=re.compile(
            rf"(?:(?:bis-|[a-z]+ ))?(?:{numbered})[- ]\d+(?:/\d+)?((?: [a-z0-9/,-]+)*)"
        ),
        esters=frozenset(data["numbered"]["esters"]),
        peptide=re.compile(
            rf"(?:(?:{acyls}) )?(?:di|tri|tetra|penta|hexa|hepta|octa|nona|deca|oligo|poly)?"
            rf"peptide(?:-\d+)?(?: (?:{suffixes}))?"
        ),
    )


_FIRST_WORD = re.compile(r"[^ /]*")


def _family_member(key: str) -> bool:
    """Whether a name is a member of an INCI family built by rule (botanicals of a listed genus,
    numbered ethoxylates and polymers, peptides): see [botanical], [numbered], [peptides] in
    data/vocab/inci.toml."""
    if len(key) > 100 or key[:1].isdigit():
        return False
    families = _families()
    # each pattern is tried only on names with what it needs: a genus first, a number, "peptide"
    if (
        _FIRST_WORD.match(key).group() in families.genera  # type: ignore[union-attr]
        and families.botanical.fullmatch(key)
        and len(key.split()) <= 9
    ):
        return True
    match = families.numbered.fullmatch(key) if _DIGIT.search(key) else None
    if match:
        rest = match.group(1).split()
        return not rest or rest[-1] in families.esters
    return "peptide" in key and families.peptide.fullmatch(key) is not None


def fold_accents(text: str) -> str:
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _turned_round(name: str) -> str:
    """French word order made English: "huile de graines de X" -> "X graines huile"."""
    _, of, head_first = _french()
    match = of.match(name)
    if match:
        return f"{_turned_round(match.group(2))} {match.group(1)}"
    match = head_first.match(name)
    return f"{match.group(2)} {match.group(1)}" if match else name


def _from_french(key: str) -> str | None:
    """An English INCI key for a French name ("ascorbate de sodium" -> "sodium ascorbate"), or None."""
    words = _french()[0]
    translated = " ".join([words.get(w, w) for w in _turned_round(fold_accents(key)).split()])
    return translated if translated != key else None


def _literal(raw: str) -> tuple[str, str]:
    """The name's key as written, and without its parentheses."""
    # each pattern is applied only to names with the character it needs: most names have none
    key = lookup_key(_INLINE_PERCENT.sub("", raw) if "%" in raw else raw).rstrip("+ ")
    if "ethyl" in key:
        key = _O_POSITION.sub(r"\1-o-", key)
    without_parens = key
    if "(" in key or "[" in key:
        for _ in range(3):  # "Shea Butter (Butyrospermum Parkii (Shea) Butter)": innermost first
            without_parens = _PAREN.sub(" ", without_parens)
            if "(" not in without_parens and "[" not in without_parens:
                break
    return key, lookup_key(without_parens)


def _spaced(without_parens: str) -> str:
    # "Caprylic / Capric", "PEG - 100", "Cyclopenta- siloxane" (a line broken inside a word)
    spaced = (
        _SLASH.sub("/", without_parens)
        if "/" in without_parens or "\\" in without_parens
        else without_parens
    )
    return _BROKEN_WORD.sub("", _SPACED_DASH.sub("-", spaced)) if "-" in spaced else spaced


def _all_keys(key: str, without_parens: str) -> Iterator[str]:
    """Lookup keys for one name, most literal first; the fourth is the name without parentheses.
    Made one at a time: most names are found by the first."""
    yield key
    yield _PREFIX.sub("", key) if key[:1] in _PREFIX_FIRST else key
    yield _SUFFIX.sub("", key) if key.endswith(_SUFFIX_ENDS) or not key.isascii() else key
    yield without_parens
    yield _PREFIX.sub("", without_parens) if without_parens[:1] in _PREFIX_FIRST else without_parens
    spaced = _spaced(without_parens)
    yield spaced
    yield _TRAILING_CI.sub("", spaced) if "ci" in spaced else spaced
    yield _HYPHEN_IN_WORD.sub("", spaced) if "-" in spaced else spaced
    for part in (key, without_parens):
        if "/" in part or "\\" in part:
            yield from (lookup_key(p) for p in _slash_parts(part))
    folded = fold_accents(without_parens)
    if folded != without_parens:
        yield folded
    french = _from_french(without_parens)
    if french:
        yield french


def name_key(raw: str) -> str:
    """The key a name is looked up by, without its parentheses (common names, notes)."""
    return _literal(raw)[1]


def _vitamin_c_form(key: str) -> Ingredient | None:
    """A vitamin C form in a name the vocabulary does not have: a known form run together with known
    neighbours ("Ascorbyl Palmitate Tocopherol", a comma missing), else any other ascorbyl/ascorbate
    as a form of its own, named by its INCI name. Plant extracts, ferments and blends that merely
    contain vitamin C are not forms, nor is a bare "Ascorbate" left by a comma typed inside a name."""
    if (
        len(key) > MAX_NAME_CHARS
        or "ascorb" not in key
        or not _ASCORB.search(key)
        or _NOT_A_FORM.search(key)
    ):
        return None
    vocab = ingredients()
    if _L_PREFIX.match(key):  # "L-Ascorbic Acid 2-Glucoside": the prefix hides the known name
        found = vocab.by_key.get(_L_PREFIX.sub("", key))
        if found is not None:
            return found
    for match in vocab.lowercase_mention_pattern.finditer(key):
        found = vocab.by_key.get(lookup_key(match.group()))
        if (
            found is not None
            and found.vitamin_c_form not in (None, "unspecified")
            and _known_words(key[: match.start()])
            and _known_words(key[match.end() :])
        ):
            return found
    words = key.split()
    if not 2 <= len(words) <= 5 or len(key) > 60 or any(w.isdigit() for w in words):
        return None
    return Ingredient(canonical=key, active="vitamin_c", vitamin_c_form=key)


def _known_words(text: str) -> bool:
    """Whether what is left beside a run-together form is known names (or nothing): "Ascorbyl
    Palmitate Tocopherol" is two names, "Ascorbic Acid Sodium Salt" is not ascorbic acid."""
    words = [w for w in text.strip(" ,-").split() if w not in _FILLER and not _CODE.fullmatch(w)]
    if len(words) > 8:
        return False
    # can the words be cut into known names? ("betaine tocopheryl acetate")
    known_up_to = [True] + [False] * len(words)
    for end in range(1, len(words) + 1):
        known_up_to[end] = any(
            known_up_to[start] and canonicalise(" ".join(words[start:end])) is not None
            for start in range(end)
        )
    return known_up_to[-1]


KNOWN_ENTRIES: dict[str, tuple[Ingredient | None, str, bool]] = {}  # see name_entry
MAX_ENTRIES = 50_000


def name_entry(raw: str) -> tuple[Ingredient | None, str, bool]:
    """(``canonicalise(raw)``, the canonical name or the unknown name's key, whether the entry says
    anything a fact is read from: an active, a vitamin C form, a <= 1% marker, fragrance), kept per
    raw name across listings: a list's names are mostly names other lists have."""
    entry = KNOWN_ENTRIES.get(raw)
    if entry is None:
        if len(raw) > MAX_NAME_CHARS:  # never a name: not kept
            return None, lookup_key(raw[:MAX_NAME_CHARS]), False
        if len(KNOWN_ENTRIES) >= MAX_ENTRIES:
            KNOWN_ENTRIES.clear()
        found = canonicalise(raw)
        notable = found is not None and bool(
            found.active
            or found.vitamin_c_form
            or found.at_most_one_percent
            or found.fragrance
            or found.essential_oil
        )
        canonical = found.canonical if found else lookup_key(raw)
        entry = KNOWN_ENTRIES[raw] = (found, canonical, notable)
    return entry


@lru_cache(maxsize=50_000)
def canonicalise(raw: str) -> Ingredient | None:
    """The vocabulary entry a raw ingredient name stands for, or None when it is unknown."""
    if len(raw) > MAX_NAME_CHARS:
        return None
    return _canonical(*_literal(raw))


# Shops write one name many ways that reduce to the same keys ("GLYCERIN", "Glycerin*"): the
# rules below run once per key, not once per spelling.
@lru_cache(maxsize=50_000)
def _canonical(literal: str, without_parens: str) -> Ingredient | None:
    vocab = ingredients().by_key
    if _DIGIT.search(literal):  # every colour index has a number
        for key in (without_parens, literal, *_slash_parts(without_parens)):
            if _COLOUR_INDEX.fullmatch(key):
                return Ingredient(canonical=without_parens or literal)
    for key in _all_keys(literal, without_parens):
        found = vocab.get(key)
        if found is not None:
            return found
    for content in _PAREN_CONTENT.findall(literal):
        found = vocab.get(lookup_key(content))
        # "(Vitamin C)" after a name explains it: it does not make the name plain vitamin C, nor
        # a plant extract a vitamin C form
        if found is None or found.vitamin_c_form == "unspecified":
            continue
        if not (found.vitamin_c_form and _NOT_A_FORM.search(without_parens)):
            return found
    if "(and)" in literal or " & " in literal:
        parts = [canonicalise(p) for p in _AND.split(literal) if p]
        if parts and all(parts):
            return next((p for p in parts if p.vitamin_c_form), parts[0])
    if (
        ("oil" in literal or not literal.isascii())  # what the pattern needs, found first
        and "extract" not in literal
        and ingredients().essential_oil_pattern.search(literal)
    ):
        return Ingredient(canonical=without_parens, essential_oil=True)
    form = _vitamin_c_form(without_parens)
    if form is not None:
        return form
    # each spelling once: most names are the same with their spaces and slashes read
    for key in dict.fromkeys(
        (without_parens, _spaced(without_parens), *_slash_parts(without_parens))
    ):
        folded = fold_accents(key)
        if _family_member(key) or (folded != key and _family_member(folded)):
            return Ingredient(canonical=without_parens)
    return None
