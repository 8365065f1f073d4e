"""The ``home_kits`` view: each micro-needling device with the best-scoring serums it pairs with and
what one treatment costs (issue 14 item 4). Every number it uses is data: the ``[home_kit]`` table of
the device category's scored rubric (data/rubrics/devices.toml) says which category pairs, how much
serum a session uses (an assumption the site states), how many serums to show, and the needle length
criterion's ``home_max_mm`` which devices are for home use at all."""

from __future__ import annotations

from evaluator.rubrics import scored_rubrics
from evaluator.score import rubric_rules


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def home_kit_rules() -> list[tuple[str, dict, float]]:
    """(device category, its rubric's [home_kit] table, home_max_mm) for each category that has one."""
    found = []
    for category, rubric in scored_rubrics().items():
        rules = rubric_rules(rubric)
        kit = rules.get("home_kit")
        if not kit:
            continue
        home_max = next(
            (c["home_max_mm"] for c in rules["criteria"] if "home_max_mm" in c), float("inf")
        )
        found.append((category, kit, home_max))
    return found


def _kit_select(category: str, kit: dict, home_max: float) -> str:
    # unlikely(): devices are few among the listings, so SQLite reads them through the category index
    # (its statistics spread the rows evenly over the categories and chose to scan every row)
    ml = float(kit["serum_ml_per_session"])
    return f"""SELECT
  d.listing_id AS device_id, d.name AS device, d.shop AS device_shop, d.score AS device_score,
  d.verdict AS device_verdict, d.device_type, d.needle_lengths_mm, d.needle_material,
  d.price_per_use AS device_price_per_use,
  s.rank AS serum_rank, s.listing_id AS serum_id, s.name AS serum, s.shop AS serum_shop,
  s.score AS serum_score, s.price_per_30ml AS serum_price_per_30ml,
  {ml!r} AS serum_ml_per_session,
  round(s.price_per_30ml / 30.0 * {ml!r}, 2) AS serum_cost_per_session,
  round(d.price_per_use + s.price_per_30ml / 30.0 * {ml!r}, 2) AS cost_per_treatment
FROM scores AS d
JOIN (
  SELECT *, row_number() OVER (ORDER BY score DESC, price_per_30ml, listing_id) AS rank
  FROM (  -- the best few read in score order from an index, not every recommended serum ranked
    SELECT listing_id, name, shop, score, price_per_30ml FROM scores
    WHERE category = {_sql_text(kit["pairs_with"])} AND verdict = {_sql_text(kit["serum_verdict"])}
      AND gone_since IS NULL AND price_per_30ml IS NOT NULL
    ORDER BY score DESC, price_per_30ml, listing_id
    LIMIT {int(kit["serums_per_device"])}
  )
) AS s
WHERE unlikely(d.category = {_sql_text(category)}) AND d.gone_since IS NULL AND d.price_per_use IS NOT NULL
  AND (SELECT min(value) FROM json_each(d.needle_lengths_mm)) <= {home_max!r}"""


def home_kits_view() -> str:
    """The view's SQL: one row per device and paired serum, cheapest treatment first per device."""
    selects = [_kit_select(*rules) for rules in home_kit_rules()]
    if not selects:  # no category pairs: an empty view with the same columns keeps the site's query
        return "SELECT NULL AS device_id WHERE 0"
    return "\nUNION ALL\n".join(selects)
