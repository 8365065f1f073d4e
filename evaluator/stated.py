"""Actives across a whole listing: which ones it highlights, what percentages it states for them, and
which vitamin C forms it contains."""

from __future__ import annotations

import re

from evaluator.actives import find_mentions, percent_facts
from evaluator.labels import INGREDIENTS_WORDS
from evaluator.text import evidence
from evaluator.vocab import lowered, matches_at, occurrences

_INGREDIENTS_HEADING = re.compile(
    rf"(?im)^[ \t]*{INGREDIENTS_WORDS}[ \t]*:?[ \t]*(?:\n[^\n]*|[^\n]*)"
)
MAX_EVIDENCE = 3


def _ingredient_list_spans(description: str, ingredients_text: str) -> list[tuple[int, int]]:
    """Where the description repeats the ingredient list (after a heading, or verbatim)."""
    spans = []
    if "ngredient" in description or "NGREDIENT" in description or "INCI" in description:
        # the heading starts a line: tried at line starts only, not at every character
        line_starts = [0, *occurrences(description, ("\n",), (-1,))]
        spans = [m.span() for m in matches_at(_INGREDIENTS_HEADING, description, line_starts)]
    head = ingredients_text.strip()[:60]
    if head:
        at = description.find(head)
        if at >= 0:
            spans.append((at, at + len(ingredients_text)))
    return spans


def _may_state_percent(text: str) -> bool:
    if "%" in text:
        return True
    lower = lowered(text)
    return "percent" in lower or "per cent" in lower or "mg" in lower


def read_stated(
    fields: list[tuple[str, str]],
    marketing_count: int,
    ingredients_text: str,
    inci_spans: list[tuple[int, int]] = (),
) -> tuple[list[dict], dict[str, list[dict]], list[dict]]:
    """(stated percentages, highlighted actives, ignored percentages) over all fields.

    The first ``marketing_count`` fields are the shop's own words (title, description, tags, alts):
    an active named there is "highlighted", and so is one named in the ingredients field outside the
    INCI list itself (``inci_spans``: "Key ingredients" bullets above the list). Variant titles only
    count for the percentages they state. The same percentage stated twice is one fact with both
    quotes.
    """
    stated: dict[tuple, dict] = {}
    mentioned: dict[str, list[dict]] = {}
    ignored: list[dict] = []
    covered = sum(end - start for start, end in inci_spans)
    extra_ingredient_words = len(ingredients_text.strip()) > covered + 10
    for index, (field, text) in enumerate(fields):
        is_ingredients = field == "ingredients_text"
        is_marketing = index < marketing_count or (is_ingredients and extra_ingredient_words)
        has_hint = _may_state_percent(text)
        if not is_marketing and not has_hint:
            continue
        mentions = find_mentions(text)
        if is_marketing:
            if field == "description":
                listed = _ingredient_list_spans(text, ingredients_text)
            elif is_ingredients:
                listed = list(inci_spans)
            else:
                listed = []
            for m in mentions:
                if not m.ingredient.active or any(s <= m.start < e for s, e in listed):
                    continue  # an ingredient list copied into the description highlights nothing
                quotes = mentioned.setdefault(m.ingredient.active, [])
                if len(quotes) < MAX_EVIDENCE:
                    quotes.append(evidence(field, text, m.start, m.end))
        if not has_hint:
            continue
        found = percent_facts(field, text, mentions)
        ignored.extend(found["ignored"][:10])
        for item in found["bound"]:
            key = (
                item["active"],
                item["ingredient"],
                item["percent"],
                item["percent_min"],
                item["percent_max"],
            )
            if key in stated:
                if len(stated[key]["evidence"]) < MAX_EVIDENCE:
                    stated[key]["evidence"].append(item["evidence"])
            else:
                stated[key] = {**item, "evidence": [item["evidence"]]}
    return list(stated.values()), mentioned, ignored[:20]


def _specific_form(ingredient: object) -> str | None:
    form = getattr(ingredient, "vitamin_c_form", None)
    return form if form and form != "unspecified" else None


def _inci_forms(items: list[dict]) -> dict[str, object]:
    """The specific vitamin C forms of an ingredient list -> the entry of the last item naming each."""
    forms: dict[str, object] = {}
    for item in items:
        ingredient = item.get("ingredient")
        if ingredient is not None:
            form = ingredient.vitamin_c_form
            if form and form != "unspecified":
                forms[form] = ingredient
    return forms


def tie_vitamin_c_forms(actives: list[dict], items: list[dict]) -> list[dict]:
    """Tie a plain "20% vitamin C" to its form: the same percentage stated for a named form, or the
    only vitamin C form in the ingredient list (marked ``form_from = "ingredients"``)."""
    if not any(a["active"] == "vitamin_c" and a["form"] == "unspecified" for a in actives):
        return list(actives)  # nothing to tie: the list is read only for a plain "vitamin C"
    specific = [a for a in actives if a["active"] == "vitamin_c" and a["form"] != "unspecified"]
    inci_forms = _inci_forms(items)
    tied = []
    for active in actives:
        if active["active"] == "vitamin_c" and active["form"] == "unspecified":
            same = next(
                (
                    a
                    for a in specific
                    if a["percent"] == active["percent"]
                    and a["percent_max"] == active["percent_max"]
                ),
                None,
            )
            if same is not None:
                same["evidence"].extend(active["evidence"][: MAX_EVIDENCE - len(same["evidence"])])
                continue
            if len(inci_forms) == 1:
                ingredient = next(iter(inci_forms.values()))
                active = {
                    **active,
                    "form": ingredient.vitamin_c_form,
                    "ingredient": ingredient.canonical,
                    "form_from": "ingredients",
                }
        tied.append(active)
    return tied


def vitamin_c_facts(
    items: list[dict],
    inci_field: str | None,
    actives: list[dict],
    mentioned: dict[str, list[dict]],
    ingredients_text: str,
) -> dict:
    """The vitamin C forms (INCI list first, then stated percentages, then anywhere in the
    ingredients text, as kits and highlight bullets name them), whether vitamin C is named at all,
    and the first stated vitamin C percentage."""
    forms: dict[str, dict] = {}
    for item in items:
        ingredient = item.get("ingredient")
        form = ingredient.vitamin_c_form if ingredient is not None else None
        if form and form != "unspecified":
            entry = forms.setdefault(
                form, {"form": form, "position": item["position"], "evidence": []}
            )
            if len(entry["evidence"]) < 2:
                entry["evidence"].append(
                    {
                        "field": inci_field,
                        "text": item["raw"],
                        "start": item["start"],
                        "end": item["end"],
                    }
                )
    for active in actives:
        form = active["form"]
        if form and form != "unspecified" and form not in forms:
            forms[form] = {"form": form, "position": None, "evidence": active["evidence"][:2]}
    if not forms and ingredients_text:
        for m in find_mentions(ingredients_text):
            form = _specific_form(m.ingredient)
            if form and form not in forms:
                forms[form] = {
                    "form": form,
                    "position": None,
                    "evidence": [evidence("ingredients_text", ingredients_text, m.start, m.end)],
                }
    amounts = (
        a["percent"] if a["percent"] is not None else a["percent_min"]
        for a in actives
        if a["active"] == "vitamin_c"
    )
    percent = next((p for p in amounts if p is not None), None)
    if forms:
        reason = ", ".join(forms)
    elif "vitamin_c" in mentioned:
        reason = "vitamin C is named but its form is not"
    else:
        reason = "no vitamin C form found"
    return {
        "forms": list(forms.values()),
        "mentioned": "vitamin_c" in mentioned or bool(forms),
        "percent": percent,
        "reason": reason,
    }
