"""What the site's own pages show (the listing page, compare), read from the database Datasette
serves; datasette/plugins/serumscope_site.py renders them.

A listing reads top-down: verdict and why, red flags, the facts a shopper compares, one rubric's
breakdown with its evidence (one snippet per field, every highlight in it), then sizes, prices and the
ingredient list with what each ingredient does.
"""

from __future__ import annotations

import json
from itertools import groupby

from evaluator.rubrics import scored_rubric, scored_rubrics
from evaluator.vocab import ingredient_roles
from serumscope.site import field_label, field_text, highlighted_spans, safe_http_url
from serumscope.store.site import CATEGORY_VERDICTS_TABLE

# One row per product (a listing of no product is its own): its best-scored listing, and the
# product's cheapest offer per 30 mL at any shop. Read in score order from an index, stopping at the
# tenth product: a listing is its product's pick when no other recommended listing of the product
# comes before it (higher score, then lower price per 30 mL, no price first, then listing id).
TOP_PICKS_SQL = """
select s.listing_id, s.name, s.brand, s.shop, s.score, s.verdict, s.verdict_reason,
  s.price_per_30ml, s.vitamin_c_percent, s.light, e.red_flags, s.product_id,
  p.shops, p.best_shop, p.best_price_per_30ml
from scores as s
left join evaluations as e on e.listing_id = s.listing_id and e.rubric = s.rubric
left join products as p on p.id = s.product_id
where s.verdict = 'recommend' and s.gone_since is null and s.category = :category
  and (s.product_id is null or not exists (
    -- the product's listings only, whatever ANALYZE last saw of product ids
    select 1 from scores as b indexed by idx_scores_product_id
    where b.product_id = s.product_id and b.verdict = 'recommend' and b.gone_since is null
      and b.category = :category
      and (b.score > s.score or b.score = s.score and (
        b.price_per_30ml < s.price_per_30ml
        or b.price_per_30ml is null and s.price_per_30ml is not null
        or b.price_per_30ml is s.price_per_30ml and b.listing_id < s.listing_id))))
order by s.score desc, s.price_per_30ml, s.listing_id
limit 10
"""
# Counted ahead by the store (scores_category_verdicts), in the order the home page shows them.
VERDICT_COUNTS_SQL = f"""
select verdict, listings from {CATEGORY_VERDICTS_TABLE}
where category = :category and listings > 0
order by case verdict when 'recommend' then 0 when 'consider' then 1 when 'avoid' then 2 else 3 end
"""

# A listing page shows this many variants (a shop listing 100,000 made a 28 MB page), and links to
# the variants table for the rest; the price history shows its latest changes only.
VARIANTS_SHOWN = 100
PRICE_CHANGES_SHOWN = 500
COMPARE_MAX = 4

LISTING_SQL = "select * from listings where id = ?"
VARIANTS_SQL = (
    "select * from variants where listing_id = ? and gone_since is null order by position"
    f" limit {VARIANTS_SHOWN}"
)
VARIANT_COUNT_SQL = "select count(*) as n from variants where listing_id = ? and gone_since is null"
EVALUATIONS_SQL = "select * from evaluations where listing_id = ? order by rubric = ? desc, rubric"
INGREDIENTS_SQL = "select * from ingredients where listing_id = ? order by position"
PRICE_HISTORY_SQL = f"""
select h.changed_at, h.price, h.currency, coalesce(v.title, v.size_text, 'price') as variant
from variant_history as h left join variants as v on v.id = h.variant_id
where h.listing_id = ? and h.price is not null
order by h.id desc
limit {PRICE_CHANGES_SHOWN}
"""


async def rows(db, sql: str, params=()) -> list[dict]:
    try:
        return [dict(row) for row in (await db.execute(sql, params)).rows]
    except Exception as error:  # a table another stage creates may not exist yet
        if "no such table" in str(error):
            return []
        raise


def decoded(value):
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def red_flags(stored) -> list[dict]:
    """The stored red flags (evaluator/red_flags.py), or none when unreadable."""
    flags = decoded(stored)
    return [f for f in flags if isinstance(f, dict)] if isinstance(flags, list) else []


def is_number(text) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def quotes(listing: dict, variants: list[dict], evidence: list) -> list[dict]:
    """One snippet per field with every highlight of ``evidence`` in it, fields in words."""
    items = [item for item in evidence or [] if isinstance(item, dict)]
    order = list(dict.fromkeys(str(item.get("field")) for item in items))
    items.sort(key=lambda item: order.index(str(item.get("field"))))
    return [
        {
            "field": field_label(field),
            "segments": highlighted_spans(field_text(listing, variants, field), list(group)),
        }
        for field, group in groupby(items, key=lambda item: str(item.get("field")))
    ]


def stated_size(facts: dict) -> str | None:
    """The size in the shop's own words ("1 fl oz (30 ml)"), from the evaluator's size evidence."""
    size = facts.get("size") if isinstance(facts, dict) else None
    evidence = size.get("evidence") if isinstance(size, dict) else None
    first = evidence[0] if isinstance(evidence, list) and evidence else None
    return first.get("text") if isinstance(first, dict) else None


def prepared_evaluation(evaluation: dict, listing: dict, variants: list[dict]) -> dict:
    evaluation["vitamin_c_forms"] = decoded(evaluation.get("vitamin_c_forms")) or []
    evaluation["red_flags"] = red_flags(evaluation.get("red_flags"))
    facts = decoded(evaluation.get("facts"))
    evaluation["stated_size"] = stated_size(facts if isinstance(facts, dict) else {})
    breakdown = decoded(evaluation.get("breakdown"))
    breakdown = [c for c in breakdown if isinstance(c, dict)] if isinstance(breakdown, list) else []
    for criterion in breakdown:
        criterion["quotes"] = quotes(listing, variants, criterion.get("evidence"))
    evaluation["breakdown"] = breakdown
    return evaluation


def in_stock(variants: list[dict]) -> bool | None:
    known = [v["available"] for v in variants if v.get("available") in (0, 1)]
    return any(known) if known else None


def shown_rubric(listing: dict) -> str:
    """The rubric whose evaluation a listing shows first: its category's scored rubric (another
    category's: the first category's)."""
    return scored_rubrics().get(listing.get("category") or "", scored_rubric())


async def listing_and_variants(db, listing_id: str) -> tuple[dict | None, list[dict]]:
    """The listing's row (None when there is no such listing) and the variants its page shows."""
    listings = await rows(db, LISTING_SQL, [listing_id])
    if not listings:
        return None, []
    return listings[0], await rows(db, VARIANTS_SQL, [listing_id])


async def listing_context(db, listing_id: str) -> dict | None:
    """Everything the listing page shows, or None when there is no such listing."""
    listing, variants = await listing_and_variants(db, listing_id)
    if listing is None:
        return None
    evaluations = [
        prepared_evaluation(evaluation, listing, variants)
        for evaluation in await rows(db, EVALUATIONS_SQL, [listing_id, shown_rubric(listing)])
    ]
    roles = ingredient_roles()
    ingredients = await rows(db, INGREDIENTS_SQL, [listing_id])
    for ingredient in ingredients:
        ingredient["role"] = roles.get(ingredient.get("canonical") or "")
    price_history = list(reversed(await rows(db, PRICE_HISTORY_SQL, [listing_id])))
    chart_points = [
        {"changed_at": row["changed_at"], "price": float(row["price"]), "variant": row["variant"]}
        for row in price_history
        if is_number(row["price"])
    ]
    return {
        "listing": listing,
        "shop_url": safe_http_url(listing.get("url")),
        "variants": variants,
        "in_stock": in_stock(variants),
        "variant_count": (await rows(db, VARIANT_COUNT_SQL, [listing_id]))[0]["n"],
        "evaluations": evaluations,
        "ingredients": ingredients,
        "price_history": price_history,
        # A line needs two points: one price is a fact in the table, not a chart.
        "price_history_json": json.dumps(chart_points) if len(chart_points) >= 2 else None,
    }


async def compare_column(db, listing_id: str) -> dict | None:
    """What compare shows of one listing (None when there is no such listing): its facts, whether
    it is in stock, and its evaluation under the scored rubric with each criterion's result. Only
    what the page shows is read: the listing page's context (ingredients, price history, every
    rubric's evaluation) was half of its SQL trips and the ingredient roles were read for nothing."""
    listing, variants = await listing_and_variants(db, listing_id)
    if listing is None:
        return None
    # the listing page's first evaluation, when it is under the rubric compare lines up
    first = await rows(db, EVALUATIONS_SQL + " limit 1", [listing_id, shown_rubric(listing)])
    evaluation = None
    if first and first[0].get("rubric") == scored_rubric():
        evaluation = prepared_evaluation(first[0], listing, variants)
    return {
        "listing": listing,
        "shop_url": safe_http_url(listing.get("url")),
        "in_stock": in_stock(variants),
        "evaluation": evaluation,
        "criteria": {c.get("id"): c for c in (evaluation or {}).get("breakdown", [])},
    }


async def compare_context(db, listing_ids: list[str]) -> dict:
    """Up to COMPARE_MAX listings side by side: their facts, and per criterion of the scored rubric
    each one's result; ids that name no listing are reported, not guessed."""
    wanted = list(dict.fromkeys(i for i in listing_ids if i))
    columns, missing = [], []
    for listing_id in wanted[:COMPARE_MAX]:
        column = await compare_column(db, listing_id)
        if column is None:
            missing.append(listing_id)
        else:
            columns.append(column)
    criteria: list[tuple[str, str]] = []
    for column in columns:
        for criterion_id, criterion in column["criteria"].items():
            if criterion_id not in [c[0] for c in criteria]:
                criteria.append((criterion_id, criterion.get("title") or str(criterion_id)))
    return {
        "columns": columns,
        "criteria": criteria,
        "missing": missing,
        "dropped": wanted[COMPARE_MAX:],
        "compare_max": COMPARE_MAX,
    }
