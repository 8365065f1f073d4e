"""Read every fact the rubrics need from one listing, each with its evidence.

Each reader runs on its own: if one fails on strange text, its fact is "unknown" with the reason and
the others still run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from evaluator import concentration
from evaluator.actives import find_mentions, percent_facts, ph_facts
from evaluator.inci import parse_ingredients
from evaluator.money import no_price, per_30ml, per_gram_of_active, variant_price
from evaluator.packaging import packaging_facts
from evaluator.size import size_facts
from evaluator.text import (
    MAX_FIELD_CHARS,
    evidence,
    marketing_fields,
    text_of,
    variant_fields,
    variants_of,
)

TRACKED_ACTIVES = ("vitamin_c", "ferulic_acid", "vitamin_e", "hyaluronic_acid")


def _guard(problems: list[str], name: str, fallback: Any, reader: Callable[[], Any]) -> Any:
    try:
        return reader()
    except Exception as error:  # a parser must never take the evaluation down with it
        problems.append(f"{name}: {type(error).__name__}: {str(error)[:200]}")
        return fallback


def _unknown(reason: str) -> dict:
    return {"status": "unknown", "reason": reason, "evidence": []}


def _merge_vitamin_c(actives: list[dict], items: list[dict]) -> list[dict]:
    """Tie a plain "20% vitamin C" to its form: the same percentage stated for a named form, or the
    only vitamin C form in the ingredient list."""
    specific = [a for a in actives if a["active"] == "vitamin_c" and a["form"] != "unspecified"]
    inci_forms = {
        i["ingredient"].vitamin_c_form: i["ingredient"]
        for i in items
        if i.get("ingredient") is not None
        and i["ingredient"].vitamin_c_form not in (None, "unspecified")
    }
    merged = []
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
                same["evidence"].extend(active["evidence"][: 3 - len(same["evidence"])])
                continue
            if len(inci_forms) == 1:
                ingredient = next(iter(inci_forms.values()))
                active = {
                    **active,
                    "form": ingredient.vitamin_c_form,
                    "ingredient": ingredient.canonical,
                    "form_from": "ingredients",
                }
        merged.append(active)
    return merged


STANDARD_ML = 30.0


_INGREDIENTS_HEADING = re.compile(
    r"(?im)^[ \t]*(?:full |complete )?(?:ingredients?|inci)(?: list)?[ \t]*:?[ \t]*(?:\n[^\n]*|[^\n]*)"
)


def _ingredient_list_spans(description: str, ingredients_text: str) -> list[tuple[int, int]]:
    """Where the description repeats the ingredient list (after a heading, or verbatim)."""
    spans = []
    if "ngredient" in description or "NGREDIENT" in description or "INCI" in description:
        spans = [m.span() for m in _INGREDIENTS_HEADING.finditer(description)]
    head = ingredients_text.strip()[:60]
    if head:
        at = description.find(head)
        if at >= 0:
            spans.append((at, at + len(ingredients_text)))
    return spans


def _may_state_percent(text: str) -> bool:
    if "%" in text:
        return True
    lowered = text.lower()
    return "percent" in lowered or "per cent" in lowered or "mg" in lowered


def _shared_size(listing: dict) -> dict:
    """The size stated for the whole listing (see ``size_facts`` for the order of places)."""
    title = text_of(listing.get("title"))
    description = text_of(listing.get("description"))[:MAX_FIELD_CHARS]
    alts = [(f, t) for f, t in marketing_fields(listing) if f.startswith("image_alts[")]
    return size_facts(
        [("title", title)] if title else [],
        ("description", description) if description else None,
        alts,
    )


def read_offers(listing: dict) -> list[dict]:
    """Per variant: its price and its size (the variant's own words first, else the listing's)."""
    offers = []
    shared = None
    for index, variant in enumerate(variants_of(listing)[:30]):
        sources = [
            (f"variants[{index}].{key}", text_of(variant.get(key)))
            for key in ("size_text", "title")
            if text_of(variant.get(key))
        ]
        size = size_facts(sources)
        if size["kind"] == "unknown" and not size["evidence"]:
            shared = shared or _shared_size(listing)
            size = shared
        offers.append(
            {
                "variant": index,
                "available": variant.get("available") != 0,
                "price": variant_price(variant, index),
                "size": size,
            }
        )
    return offers


def choose_offer(offers: list[dict]) -> dict | None:
    """The offer the rubric judges: priced, in stock if possible, its size closest to 30 mL."""
    priced = [o for o in offers if o["price"] is not None and o["price"]["status"] == "found"]
    if not priced:
        return next((o for o in offers if o["price"] is not None), None)

    def rank(offer: dict) -> tuple:
        ml = offer["size"]["ml"]
        return (not offer["available"], ml is None, abs((ml or 0) - STANDARD_ML), offer["variant"])

    return min(priced, key=rank)


def read_facts(listing: dict) -> dict:
    problems: list[str] = []
    marketing = list(marketing_fields(listing))
    variant_texts = list(variant_fields(listing))
    ingredients_text = text_of(listing.get("ingredients_text"))[:MAX_FIELD_CHARS]
    fields = (
        marketing
        + ([("ingredients_text", ingredients_text)] if ingredients_text else [])
        + variant_texts
    )

    inci = _guard(
        problems,
        "ingredients",
        {
            "status": "unknown",
            "reason": "could not be read",
            "field": None,
            "items": [],
            "evidence": [],
        },
        lambda: parse_ingredients(listing),
    )
    items = inci["items"]

    def read_actives() -> tuple[list[dict], dict[str, list[dict]], list[dict]]:
        stated: dict[tuple, dict] = {}
        mentioned: dict[str, list[dict]] = {}
        ignored: list[dict] = []
        for index, (field, text) in enumerate(fields):
            is_marketing = index < len(marketing)
            has_hint = _may_state_percent(text)
            if not is_marketing and not has_hint:
                continue  # ingredient lists and variant titles only matter for stated percentages
            mentions = find_mentions(text)
            if is_marketing:
                listed = (
                    _ingredient_list_spans(text, ingredients_text) if field == "description" else []
                )
                for m in mentions:
                    if any(s <= m.start < e for s, e in listed):
                        continue  # an ingredient list copied into the description highlights nothing
                    if m.ingredient.active:
                        mentioned.setdefault(m.ingredient.active, [])
                        if len(mentioned[m.ingredient.active]) < 3:
                            mentioned[m.ingredient.active].append(
                                {
                                    "field": field,
                                    "text": text[m.start : m.end],
                                    "start": m.start,
                                    "end": m.end,
                                }
                            )
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
                    if len(stated[key]["evidence"]) < 3:
                        stated[key]["evidence"].append(item["evidence"])
                else:
                    stated[key] = {**item, "evidence": [item["evidence"]]}
        return list(stated.values()), mentioned, ignored[:20]

    actives, mentioned, ignored = _guard(problems, "percentages", ([], {}, []), read_actives)

    actives = _merge_vitamin_c(actives, items)
    forms: dict[str, dict] = {}
    for item in items:
        ingredient = item.get("ingredient")
        if (
            ingredient is not None
            and ingredient.vitamin_c_form
            and ingredient.vitamin_c_form != "unspecified"
        ):
            entry = forms.setdefault(
                ingredient.vitamin_c_form,
                {"form": ingredient.vitamin_c_form, "position": item["position"], "evidence": []},
            )
            if len(entry["evidence"]) < 2:
                entry["evidence"].append(
                    {
                        "field": inci["field"],
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
        # Kits list one INCI block per product; highlights name the form above the list.
        for m in find_mentions(ingredients_text):
            form = m.ingredient.vitamin_c_form
            if form and form != "unspecified" and form not in forms:
                forms[form] = {
                    "form": form,
                    "position": None,
                    "evidence": [evidence("ingredients_text", ingredients_text, m.start, m.end)],
                }
    vitamin_c_stated = [a for a in actives if a["active"] == "vitamin_c"]
    vitamin_c_percent = next(
        (
            a["percent"] if a["percent"] is not None else a["percent_min"]
            for a in vitamin_c_stated
            if (a["percent"] if a["percent"] is not None else a["percent_min"]) is not None
        ),
        None,
    )
    vitamin_c = {
        "forms": list(forms.values()),
        "mentioned": "vitamin_c" in mentioned or bool(forms),
        "percent": vitamin_c_percent,
        "reason": (
            ", ".join(forms)
            if forms
            else "vitamin C is named but its form is not"
            if "vitamin_c" in mentioned
            else "no vitamin C form found"
        ),
    }

    pack = _guard(
        problems,
        "packaging",
        {
            "light": {**_unknown("could not be read"), "value": "unknown"},
            "dispenser": {**_unknown("could not be read"), "value": "unknown", "found": []},
        },
        lambda: packaging_facts(marketing + variant_texts),
    )
    offers = _guard(problems, "price", [], lambda: read_offers(listing))
    headline = choose_offer(offers)
    price = headline["price"] if headline else no_price()
    size = (
        headline["size"]
        if headline
        else _guard(problems, "size", None, lambda: _shared_size(listing))
    )
    if size is None:
        size = {**_unknown("could not be read"), "ml": None, "grams": None, "kind": "unknown"}
    price_30 = per_30ml(price.get("usd"), size.get("ml"))

    contradictions = []
    bounds = _guard(
        problems, "concentration", {}, lambda: concentration.all_bounds(items, TRACKED_ACTIVES)
    )
    for stated in actives:
        bound = bounds.get(stated["active"])
        value = stated["percent"] if stated["percent"] is not None else stated["percent_min"]
        why = concentration.stated_vs_order(value, bound)
        if why:
            contradictions.append(
                {"active": stated["active"], "reason": why, "evidence": stated["evidence"][:1]}
            )

    flagged = [
        {
            "kind": "fragrance" if i["ingredient"].fragrance else "essential oil",
            "raw": i["raw"],
            "evidence": [
                {"field": inci["field"], "text": i["raw"], "start": i["start"], "end": i["end"]}
            ],
        }
        for i in items
        if i.get("ingredient") is not None
        and (i["ingredient"].fragrance or i["ingredient"].essential_oil)
    ]
    ph = _guard(
        problems,
        "ph",
        {**_unknown("could not be read"), "min": None, "max": None},
        lambda: ph_facts(fields),
    )

    for item in items:
        item.pop("ingredient", None)  # the vocabulary entry stays internal; its facts are above
    return {
        "ingredients": {
            "status": inci["status"],
            "reason": inci["reason"],
            "field": inci["field"],
            "count": len(items),
            "known": sum(1 for i in items if i["known"]),
            "items": items,
            "evidence": inci["evidence"],
        },
        "vitamin_c": vitamin_c,
        "actives": actives,
        "mentioned_actives": mentioned,
        "ignored_percentages": ignored,
        "light": pack["light"],
        "dispenser": pack["dispenser"],
        "size": size,
        "price": price,
        "offers": [
            {
                "variant": o["variant"],
                "available": o["available"],
                "amount": o["price"]["amount"] if o["price"] else None,
                "currency": o["price"]["currency"] if o["price"] else None,
                "usd": o["price"]["usd"] if o["price"] else None,
                "on_sale": bool(o["price"] and o["price"]["on_sale"]),
                "size_ml": o["size"]["ml"],
                "price_per_30ml": per_30ml(
                    o["price"]["usd"] if o["price"] else None, o["size"]["ml"]
                ),
            }
            for o in offers
        ],
        "price_per_30ml": price_30,
        "price_per_gram_vitamin_c": per_gram_of_active(price_30, vitamin_c_percent),
        "concentration_bounds": bounds,
        "order_contradictions": contradictions,
        "fragrance": flagged,
        "ph": ph,
        "problems": problems,
    }
