"""What the site shows of micro-needling devices: the devices page (top picks, the filters, the post's
needle length chart) and, on a device's listing page, its facts and its home kits. Read from the
database Datasette serves; datasette/plugins/serumscope_site.py renders them."""

from __future__ import annotations

from evaluator.categories import category
from evaluator.rubrics import scored_rubric
from evaluator.score import rubric_rules
from serumscope.site_pages import decoded, red_flags, rows

DEVICE_CATEGORY = "micro-needling-device"

DEVICE_TOP_PICKS_SQL = """
select s.listing_id, s.name, s.brand, s.shop, s.score, s.verdict, s.verdict_reason, s.device_type,
  s.needle_lengths_mm, s.needle_material, s.price, s.currency, s.price_per_use, e.red_flags
from scores as s
left join evaluations as e on e.listing_id = s.listing_id and e.rubric = s.rubric
where unlikely(s.category = :category) and s.gone_since is null and s.score is not null
order by s.score desc, s.price_per_use is null, s.price_per_use, s.name
limit 10
"""
DEVICE_CHOICES_SQL = {
    "material": "select distinct needle_material as value from scores"
    " where unlikely(category = :category) and needle_material is not null and gone_since is null"
    " order by 1",
    "device_type": "select distinct device_type as value from scores"
    " where unlikely(category = :category) and device_type is not null and gone_since is null"
    " order by 1",
}
KITS_SQL = "select * from home_kits where device_id = ? order by serum_rank"


def device_rubric() -> dict:
    return rubric_rules(scored_rubric(DEVICE_CATEGORY))


def length_criterion() -> dict:
    """The devices rubric's criterion that carries the post's needle length chart (criteria.chart)."""
    return next(c for c in device_rubric()["criteria"] if c.get("chart"))


def home_kit_assumption() -> dict:
    return device_rubric().get("home_kit", {})


def lengths_text(stored) -> str:
    lengths = decoded(stored)
    if not isinstance(lengths, list) or not lengths:
        return "not stated"
    return " / ".join(f"{value:g} mm" for value in lengths if isinstance(value, int | float))


async def devices_context(db) -> dict:
    params = {"category": DEVICE_CATEGORY}
    picks = await rows(db, DEVICE_TOP_PICKS_SQL, params)
    for pick in picks:
        pick["red_flags"] = red_flags(pick["red_flags"])
        pick["lengths"] = lengths_text(pick["needle_lengths_mm"])
    return {
        "category": category(DEVICE_CATEGORY),
        "top_picks": picks,
        "choices": {
            name: [row["value"] for row in await rows(db, sql, params)]
            for name, sql in DEVICE_CHOICES_SQL.items()
        },
        "chart": length_criterion()["chart"],
        "home_max_mm": length_criterion()["home_max_mm"],
        "rubric": device_rubric(),
        "home_kit": home_kit_assumption(),
    }


def _fact(facts: dict, name: str) -> dict:
    fact = facts.get(name)
    return fact if isinstance(fact, dict) else {}


def device_facts_shown(evaluation: dict) -> dict:
    """The device facts the listing page shows, from the evaluation's stored facts."""
    facts = decoded(evaluation.get("facts"))
    facts = facts if isinstance(facts, dict) else {}
    length = _fact(facts, "needle_length")
    lengths = [*(length.get("value") or [])]
    ranges = [f"{low:g}–{high:g} mm adjustable" for low, high in length.get("ranges_mm") or []]
    uses = _fact(facts, "uses")
    replaceable = _fact(facts, "replaceable_heads")
    price = replaceable.get("price") or {}
    return {
        "type": _fact(facts, "device_type").get("value"),
        "lengths": ", ".join([f"{v:g} mm" for v in lengths] + ranges) or None,
        "length_reason": length.get("reason"),
        "material": _fact(facts, "needle_material").get("value"),
        "count": ", ".join(str(n) for n in _fact(facts, "needle_count").get("value") or []) or None,
        "sterile": _fact(facts, "sterile").get("value"),
        "uses": uses.get("value"),
        "uses_max": uses.get("max"),
        "replaceable": replaceable.get("value"),
        "replaceable_price": " ".join(filter(None, [price.get("amount"), price.get("currency")])),
        "purpose": ", ".join(_fact(facts, "purpose").get("value") or []) or None,
        "price_per_use": facts.get("price_per_use"),
        "price_per_use_reason": facts.get("price_per_use_reason"),
    }


async def device_listing_extras(db, listing_id: str, evaluation: dict | None) -> dict:
    """What a device's listing page adds: its facts and its home kits."""
    return {
        "device": device_facts_shown(evaluation or {}),
        "kits": await rows(db, KITS_SQL, [listing_id]),
        "home_kit": home_kit_assumption(),
    }
