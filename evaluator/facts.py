"""Read every fact the rubrics need from one listing, each with its evidence.

Each reader runs on its own: if one fails on strange text, its fact is "unknown" with the reason (the
error is listed in ``problems``) and the others still run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evaluator import concentration
from evaluator.actives import ph_facts
from evaluator.inci import parse_ingredients
from evaluator.money import no_price, per_30ml, per_gram_of_active
from evaluator.offers import choose_offer, offer_summary, read_offers, shared_size
from evaluator.packaging import packaging_facts
from evaluator.stated import read_stated, tie_vitamin_c_forms, vitamin_c_facts
from evaluator.text import MAX_FIELD_CHARS, marketing_fields, text_of, variant_fields

TRACKED_ACTIVES = ("vitamin_c", "ferulic_acid", "vitamin_e", "hyaluronic_acid")


def _guard(problems: list[str], name: str, fallback: Any, reader: Callable[[], Any]) -> Any:
    try:
        return reader()
    except Exception as error:  # a parser must never take the evaluation down with it
        problems.append(f"{name}: {type(error).__name__}: {str(error)[:200]}")
        return fallback


def _unknown(reason: str, **fields: Any) -> dict:
    return {"status": "unknown", "reason": reason, "evidence": [], **fields}


def _contradictions(actives: list[dict], bounds: dict[str, dict]) -> list[dict]:
    found = []
    for stated in actives:
        value = stated["percent"] if stated["percent"] is not None else stated["percent_min"]
        why = concentration.stated_vs_order(value, bounds.get(stated["active"]))
        if why:
            found.append(
                {"active": stated["active"], "reason": why, "evidence": stated["evidence"][:1]}
            )
    return found


def _per_gram_of_vitamin_c(price_30: float | None, actives: list[dict]) -> tuple[float | None, str]:
    """USD per gram of vitamin C, only from an exactly stated percentage (a range's lower end or an
    "at least" would make the vitamin C look cheaper than the shop ever said), and why."""
    stated = [a for a in actives if a["active"] == "vitamin_c"]
    exact = next((a for a in stated if a["percent"] is not None and a["percent"] > 0), None)
    if exact is None:
        if stated:
            return None, "vitamin C is stated only as a range or a bound, not an exact percentage"
        return None, "no vitamin C percentage is stated"
    if price_30 is None:
        return None, "no price per 30 mL"
    return (
        per_gram_of_active(price_30, exact["percent"]),
        f"{price_30:.2f} USD per 30 mL at {exact['percent']:g}% vitamin C",
    )


def _fragrance(items: list[dict], field: str | None) -> list[dict]:
    return [
        {
            "kind": "fragrance" if i["ingredient"].fragrance else "essential oil",
            "raw": i["raw"],
            "evidence": [{"field": field, "text": i["raw"], "start": i["start"], "end": i["end"]}],
        }
        for i in items
        if i.get("ingredient") is not None
        and (i["ingredient"].fragrance or i["ingredient"].essential_oil)
    ]


def read_facts(listing: dict) -> dict:
    """Every fact of docs/evaluator.md ("facts") for one listing."""
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
        problems, "ingredients", _unknown("could not be read", field=None, items=[]),
        lambda: parse_ingredients(listing, all_entries=False),
    )  # fmt: skip
    items = inci["items"]
    # the items whose vocabulary entry a fact is read from (the others have none here)
    notable = inci.get("notable", [])
    actives, mentioned, ignored = _guard(
        problems, "percentages", ([], {}, []),
        lambda: read_stated(
            fields,
            len(marketing),
            ingredients_text,
            [(e["start"], e["end"]) for e in inci["evidence"] if e["field"] == "ingredients_text"],
        ),
    )  # fmt: skip
    actives = _guard(
        problems, "vitamin C forms", actives, lambda: tie_vitamin_c_forms(actives, notable)
    )
    vitamin_c = _guard(
        problems, "vitamin C", {"forms": [], "mentioned": False, "percent": None, "reason": "could not be read"},
        lambda: vitamin_c_facts(notable, inci["field"], actives, mentioned, ingredients_text),
    )  # fmt: skip
    packaging = _guard(
        problems, "packaging",
        {"light": _unknown("could not be read", value="unknown"),
         "dispenser": _unknown("could not be read", value="unknown", found=[])},
        lambda: packaging_facts(marketing + variant_texts),
    )  # fmt: skip

    offers = _guard(problems, "price", [], lambda: read_offers(listing))
    headline = choose_offer(offers)
    price = headline["price"] if headline else no_price()
    size = headline["size"] if headline else None
    if size is None:
        size = _guard(
            problems, "size", _unknown("could not be read", ml=None, grams=None, kind="unknown"),
            lambda: shared_size(listing),
        )  # fmt: skip
    price_30 = per_30ml(price.get("usd"), size.get("ml"))
    per_gram, per_gram_reason = _guard(
        problems, "price per gram", (None, "could not be worked out"),
        lambda: _per_gram_of_vitamin_c(price_30, actives),
    )  # fmt: skip

    bounds = _guard(
        problems, "concentration", {},
        lambda: concentration.all_bounds(items, TRACKED_ACTIVES, among=notable),
    )  # fmt: skip
    contradictions = _guard(problems, "concentration", [], lambda: _contradictions(actives, bounds))
    fragrance = _guard(problems, "fragrance", [], lambda: _fragrance(notable, inci["field"]))
    ph = _guard(
        problems, "ph", _unknown("could not be read", min=None, max=None), lambda: ph_facts(fields)
    )

    known = sum(1 for item in items if item["known"])
    for item in notable:
        item.pop("ingredient", None)  # the vocabulary entry stays internal (its facts are above)
    return {
        "ingredients": {
            "status": inci["status"],
            "reason": inci["reason"],
            "field": inci["field"],
            "count": len(items),
            "known": known,
            "items": items,
            "evidence": inci["evidence"],
        },
        "vitamin_c": vitamin_c,
        "actives": actives,
        "mentioned_actives": mentioned,
        "ignored_percentages": ignored,
        "light": packaging["light"],
        "dispenser": packaging["dispenser"],
        "size": size,
        "price": price,
        "offers": [offer_summary(o) for o in offers],
        "price_per_30ml": price_30,
        "price_per_gram_vitamin_c": per_gram,
        "price_per_gram_vitamin_c_reason": per_gram_reason,
        "concentration_bounds": bounds,
        "order_contradictions": contradictions,
        "fragrance": fragrance,
        "ph": ph,
        "problems": problems,
    }
