"""What the product page and the listing page's "also sold at" show: one product's offers at every
shop (serumscope/store/products.py writes them), cheapest per 30 mL first, and each offer's price
history; datasette/plugins/serumscope_site.py renders them."""

from __future__ import annotations

import json

from serumscope.site import listing_path, safe_http_url
from serumscope.site_pages import PRICE_CHANGES_SHOWN, is_number, rows

PRODUCT_SQL = "select * from products where id = ?"
OFFERS_SQL = "select * from offers where product_id = ? order by rank limit 200"
MEMBERS_SQL = """
select l.id, l.shop, l.title, l.url, l.product_match, l.product_match_reason, l.gone_since,
  s.score, s.verdict
from listings as l left join scores as s on s.listing_id = l.id
where l.product_id = ? order by l.gone_since is not null, l.shop, l.id
"""
OFFER_HISTORY_SQL = f"""
select h.variant_id, h.changed_at, h.price, h.currency
from variant_history as h join offers as o on o.variant_id = h.variant_id
where o.product_id = ? and h.price is not null
order by h.id desc
limit {PRICE_CHANGES_SHOWN}
"""
EVENTS_SQL = "select * from product_events where product_id = ? order by id desc limit 50"
# The listing page: the same product's best offer at each other shop.
ALSO_SOLD_AT_SQL = """
select o.listing_id, o.shop, o.name, o.variant, o.price, o.currency, o.price_per_30ml, o.available,
  o.rank, o.is_best
from offers as o
where o.product_id = (select product_id from listings where id = :listing_id)
  and o.listing_id != :listing_id
order by o.rank
"""


def _with_links(offers: list[dict]) -> list[dict]:
    for offer in offers:
        offer["listing_path"] = listing_path(offer["listing_id"])
        offer["shop_url"] = safe_http_url(offer.get("url"))
    return offers


async def product_context(db, product_id: int) -> dict | None:
    """Everything the product page shows, or None when there is no such product."""
    products = await rows(db, PRODUCT_SQL, [product_id])
    if not products:
        return None
    product = products[0]
    for column in ("vitamin_c_forms", "ingredients", "formula_checks"):
        product[column] = json.loads(product[column]) if product.get(column) else []
    if product.get("formula_listing_id"):
        product["formula_listing_path"] = listing_path(product["formula_listing_id"])
    offers = _with_links(await rows(db, OFFERS_SQL, [product_id]))
    history = list(reversed(await rows(db, OFFER_HISTORY_SQL, [product_id])))
    by_variant: dict[str, list[dict]] = {}
    for change in history:
        by_variant.setdefault(change["variant_id"], []).append(change)
    for offer in offers:
        offer["history"] = by_variant.get(offer["variant_id"], [])
    labels = {o["variant_id"]: f"{o['shop']} {o['variant'] or ''}".strip() for o in offers}
    points = [
        {
            "changed_at": c["changed_at"],
            "price": float(c["price"]),
            "variant": labels[c["variant_id"]],
        }
        for c in history
        if is_number(c["price"]) and c["variant_id"] in labels
    ]
    members = await rows(db, MEMBERS_SQL, [product_id])
    for member in members:
        member["listing_path"] = listing_path(member["id"])
    return {
        "product": product,
        "offers": offers,
        "best": next((o for o in offers if o["is_best"]), None),
        "listings": members,
        "events": await rows(db, EVENTS_SQL, [product_id]),
        "price_history_json": json.dumps(points) if len(points) >= 2 else None,
    }


async def also_sold_at(db, listing_id: str) -> list[dict]:
    """The same product's offers at other shops' listings, cheapest per 30 mL first."""
    seen, offers = set(), []
    for offer in await rows(db, ALSO_SOLD_AT_SQL, {"listing_id": listing_id}):
        if offer["listing_id"] not in seen:  # the listing's best offer only
            seen.add(offer["listing_id"])
            offers.append(offer)
    return _with_links(offers)
