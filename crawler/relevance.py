"""Is a listing a vitamin C serum candidate? Vocabulary in data/relevance.toml.

``judge(listing) -> (is_candidate, reason)``; never raises, never drops: every listing gets a reason.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from serumscope.paths import DATA_DIR

RELEVANCE_FILE = DATA_DIR / "relevance.toml"


def _pattern(terms: list[str]) -> re.Pattern[str]:
    parts = []
    for term in sorted(terms, key=len, reverse=True):
        prefix = term.endswith("*")
        body = re.escape(term.rstrip("*")).replace(r"\ ", r"[\s-]+")
        parts.append(rf"(?<![\w]){body}" + (r"\w*" if prefix else r"(?![\w])"))
    return re.compile("|".join(parts), re.IGNORECASE)


@dataclass(frozen=True)
class Vocabulary:
    vitamin_c: re.Pattern[str]
    ingredient_vitamin_c: re.Pattern[str]
    first_ingredients: int
    serum: re.Pattern[str]
    exclude: tuple[tuple[str, re.Pattern[str]], ...]
    exclude_after_serum: tuple[tuple[str, re.Pattern[str]], ...]
    version: str


@lru_cache(maxsize=4)
def load_vocabulary(path: Path = RELEVANCE_FILE) -> Vocabulary:
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    return Vocabulary(
        vitamin_c=_pattern(data["vitamin_c"]["terms"]),
        ingredient_vitamin_c=_pattern(data["vitamin_c"]["ingredient_terms"]),
        first_ingredients=int(data["vitamin_c"].get("first_ingredients", 6)),
        serum=_pattern(data["serum"]["terms"]),
        exclude=tuple((r["reason"], _pattern(r["terms"])) for r in data.get("exclude", [])),
        exclude_after_serum=tuple(
            (r["reason"], _pattern(r["terms"])) for r in data.get("exclude_after_serum", [])
        ),
        version=str(data.get("version", "1")),
    )


def _joined(value: Any) -> str:
    if not value:
        return ""
    if isinstance(value, list):
        return " | ".join(str(v) for v in value if v)
    return str(value)


def _first_ingredients(ingredients: str, count: int) -> str:
    text = re.sub(r"^[^:]{0,40}:", "", ingredients.strip())
    return ", ".join(re.split(r"[,;\n]", text)[:count])


def vitamin_c_featured(listing: dict[str, Any], vocabulary: Vocabulary) -> str | None:
    """Where vitamin C is featured ("title", "tags", ...), or None."""
    for field in ("title", "tags", "categories"):
        if vocabulary.vitamin_c.search(_joined(listing.get(field))):
            return field
    description = listing.get("description") or ""
    if vocabulary.vitamin_c.search(description[:600]):
        return "description"
    ingredients = listing.get("ingredients_text") or ""
    if ingredients and vocabulary.ingredient_vitamin_c.search(
        _first_ingredients(ingredients, vocabulary.first_ingredients)
    ):
        return "ingredients"
    return None


def _product_kind(listing: dict[str, Any], vocabulary: Vocabulary) -> tuple[str, str] | None:
    """("serum"|"exclude", reason or form word) from the title, then type/categories/tags."""
    for text in (
        _joined(listing.get("title")),
        _joined(listing.get("categories")),
        _joined(listing.get("tags")),
    ):
        if not text:
            continue
        for reason, pattern in vocabulary.exclude:
            if pattern.search(text):
                return "exclude", reason
        form = vocabulary.serum.search(text)
        if form:
            return "serum", form.group(0).lower()
        for reason, pattern in vocabulary.exclude_after_serum:
            if pattern.search(text):
                return "exclude", reason
    return None


def judge(listing: dict[str, Any], vocabulary: Vocabulary | None = None) -> tuple[int, str]:
    """(is_candidate 0/1, reason) for a listing dict."""
    vocabulary = vocabulary or load_vocabulary()
    try:
        featured = vitamin_c_featured(listing, vocabulary)
        kind = _product_kind(listing, vocabulary)
    except Exception as error:
        return 0, f"could not judge: {error}"
    if kind and kind[0] == "exclude":
        return 0, f"vitamin C {kind[1]}" if featured else f"{kind[1]} without vitamin C"
    if not featured:
        mentioned = vocabulary.vitamin_c.search(
            " ".join(_joined(listing.get(f)) for f in ("description", "ingredients_text"))
        )
        what = f"{kind[1]} " if kind else ""
        if mentioned:
            return 0, f"{what}with vitamin C only as a minor ingredient".strip()
        return 0, f"{what}without vitamin C" if what else "no vitamin C"
    if kind is None:
        return 0, "vitamin C product of unknown form (not a serum, oil, ampoule or treatment)"
    return 1, f"vitamin C {kind[1]}"
