"""The product categories of data/categories.toml: which listings each takes, which facts it reads,
which checks and rubrics score it. Everything category-specific is reached from here, so a new category
needs its data and one reader module, not changes across the code."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from evaluator.relevance import judge
from evaluator.relevance import rules as relevance_rules
from evaluator.vocab import DATA_DIR, RUBRIC_DIR, data_version, read_toml

OTHER = "other"
DEFAULT_CATEGORY = "vitamin-c-serum"  # of a rubric that names none (the first category)


@cache  # looked up for every listing evaluated: the import machinery once per path
def _function(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Category:
    id: str
    title: str
    noun: str
    accepts_path: str
    facts_path: str
    checks_path: str

    @property
    def accepts(self) -> Callable[[dict, dict], tuple[bool, str]]:
        """(belongs, reason) for a listing dict and its relevance judgement."""
        return _function(self.accepts_path)

    @property
    def read_facts(self) -> Callable[[dict], dict]:
        return _function(self.facts_path)

    @property
    def checks(self) -> dict[str, Callable]:
        return _function(self.checks_path)

    @property
    def rubrics(self) -> list[str]:
        return rubrics_by_category().get(self.id, [])

    @property
    def scored_rubric(self) -> str | None:
        scored = [
            name for name in self.rubrics if read_toml(RUBRIC_DIR / f"{name}.toml").get("scored")
        ]
        return scored[0] if len(scored) == 1 else None


@cache
def categories() -> tuple[Category, ...]:
    entries = read_toml(DATA_DIR / "categories.toml")["category"]
    return tuple(
        Category(e["id"], e["title"], e["noun"], e["accepts"], e["facts"], e["checks"])
        for e in entries
    )


def category(category_id: str) -> Category:
    for candidate in categories():
        if candidate.id == category_id:
            return candidate
    raise ValueError(
        f"no category {category_id!r} (known: {', '.join(c.id for c in categories())})"
    )


@cache
def rubrics_by_category() -> dict[str, list[str]]:
    """Rubric names per category id, from the ``category`` each rubric file names."""
    found: dict[str, list[str]] = {}
    for path in sorted(RUBRIC_DIR.glob("*.toml")):
        found.setdefault(read_toml(path).get("category", DEFAULT_CATEGORY), []).append(path.stem)
    return found


def category_of(listing: dict, judgement: dict) -> tuple[str, str]:
    """(category id, reason) for a listing dict and its relevance judgement: the first category that
    accepts it, else "other" with the reasons each gave."""
    reasons = []
    for candidate in categories():
        try:
            accepted, reason = candidate.accepts(listing, judgement)
        except Exception as error:  # one category's rule must not take the judgement down
            accepted, reason = False, f"could not judge: {type(error).__name__}"
        if accepted:
            return candidate.id, reason
        reasons.append(f"not a {candidate.noun}: {reason}")
    return OTHER, "; ".join(reasons)


def relevance_version() -> str:
    """The version of the rules and vocabulary a judgement was made with (stored per listing): the
    relevance rules' own version and a fingerprint of the vocabularies (it reads ingredient lists
    too) and of the categories."""
    return f"{relevance_rules().version}:{data_version()}:{data_version('categories.toml')}"


def relevance_columns(listing: Any) -> dict:
    """The listing columns the relevance judgement and the categories set (docs/schema.md), for the
    crawler and the evaluator alike."""
    verdict = judge(listing)
    found, _ = category_of(listing if isinstance(listing, dict) else {}, verdict)
    return {
        "is_candidate": int(verdict["candidate"]),
        "category": found,
        "relevance_reason": verdict["reason"],
        "relevance_rule": verdict["rule"],
        "product_kind": verdict["kind"],
        "relevance_version": relevance_version(),
    }
