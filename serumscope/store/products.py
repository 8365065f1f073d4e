"""The writer of products and offers: which listings of different shops sell one product
(evaluator/product_match.py decides), each product's offers cheapest per 30 mL first, and the
events a shopper follows (a product at a new shop, another offer now the cheapest).

Runs after evaluation (``serumscope.evaluation_store.evaluate_db`` calls it). Idempotent and cheap on
re-runs: each listing keeps a fingerprint of what matching read (``listings.product_input``); when no
fingerprint changed, grouping is skipped and only the offers are refreshed. Product ids are stable: a
group keeps the id most of its listings had; a listing moves to another product only when its facts
(or another listing's) changed, and the move is recorded in ``product_events`` with the new evidence.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from typing import Any

import sqlite_utils

from evaluator.categories import categories
from evaluator.product_match import match_products
from evaluator.rubrics import scored_rubric
from serumscope.store.clock import utc_now
from serumscope.store.database import transaction
from serumscope.store.product_formula import (
    formula_checks,
    formula_listing,
    offer_evaluation,
    price_criteria,
)
from serumscope.store.rows import storable_values
from serumscope.store.writers import bound_rows, insert_rows

PRODUCT_CATEGORY = categories()[0].id  # vitamin C serums: the category products are grouped in

MATCH_INPUT_SQL = """
SELECT l.id, l.shop, l.brand, l.title, l.first_seen, l.input_hash, l.product_id, l.product_input,
  e.vitamin_c_forms, e.vitamin_c_percent, e.vocabulary_version,
  (SELECT json_group_array(json_array(v.gtin, v.mpn)) FROM variants AS v
    WHERE v.listing_id = l.id AND (v.gtin IS NOT NULL OR v.mpn IS NOT NULL)) AS codes
FROM listings AS l
JOIN evaluations AS e ON e.listing_id = l.id AND e.rubric = :rubric
WHERE l.category = :category AND l.is_candidate = 1 AND l.gone_since IS NULL
ORDER BY l.first_seen, l.id
"""

OFFER_INPUT_SQL = """
SELECT l.id AS listing_id, l.product_id, l.shop, l.title, l.url, l.last_seen,
  json_extract(e.facts, '$.offers') AS offers, e.score, e.verdict, e.breakdown
FROM listings AS l
JOIN evaluations AS e ON e.listing_id = l.id AND e.rubric = :rubric
WHERE l.product_id IS NOT NULL AND l.gone_since IS NULL
"""


def _fingerprint(row: dict) -> str:
    parts = [row[k] for k in ("brand", "input_hash", "vitamin_c_forms", "vocabulary_version")]
    parts += [repr(row["vitamin_c_percent"]), row["codes"] or "", row["shop"]]
    return hashlib.sha1("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:16]


def _ingredients(db: sqlite_utils.Database, ids: list[str]) -> dict[str, list[str]]:
    lists: dict[str, list[str]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for listing_id, canonical in db.execute(
            f"SELECT listing_id, canonical FROM ingredients WHERE listing_id IN ({marks})"
            " ORDER BY listing_id, position",
            chunk,
        ):
            lists[listing_id].append(canonical or "")
    return lists


def _records(db: sqlite_utils.Database, rows: list[dict]) -> list[dict]:
    lists = _ingredients(db, [r["id"] for r in rows])
    records = []
    for row in rows:
        codes = json.loads(row["codes"]) if row["codes"] else []
        records.append(
            {
                "listing_id": row["id"],
                "shop": row["shop"],
                "brand": row["brand"],
                "title": row["title"],
                "gtins": [gtin for gtin, _ in codes if gtin],
                "mpns": [mpn for _, mpn in codes if mpn],
                "ingredients": lists.get(row["id"], []),
                "vitamin_c_forms": json.loads(row["vitamin_c_forms"] or "[]"),
                "vitamin_c_percent": row["vitamin_c_percent"],
            }
        )
    return records


def _assign_ids(groups: dict[int, list[dict]], next_id: int) -> dict[int, int]:
    """{group: product id}: the id most of its listings had, biggest groups first; else a new one."""
    claimed: set[int] = set()
    ids = {}
    for group, members in sorted(groups.items(), key=lambda g: (-len(g[1]), g[0])):
        held = Counter(m["product_id"] for m in members if m["product_id"] is not None)
        choice = next(
            (
                pid
                for pid, _ in sorted(held.items(), key=lambda h: (-h[1], h[0]))
                if pid not in claimed
            ),
            None,
        )
        if choice is None:
            choice, next_id = next_id, next_id + 1
        claimed.add(choice)
        ids[group] = choice
    return ids


def group_listings(db: sqlite_utils.Database, force: bool = False) -> dict[str, int]:
    """Match the current vitamin C serum listings into products and write ``product_id`` and the
    evidence on each; returns counts (``moved`` listings changed product, ``skipped`` 1 when
    nothing matching reads had changed)."""
    rubric = scored_rubric(PRODUCT_CATEGORY)
    rows = [
        dict(r) for r in db.query(MATCH_INPUT_SQL, {"rubric": rubric, "category": PRODUCT_CATEGORY})
    ]
    for row in rows:
        row["fingerprint"] = _fingerprint(row)
    if not force and all(
        r["product_id"] is not None and r["product_input"] == r["fingerprint"] for r in rows
    ):
        return {"listings": len(rows), "products": 0, "moved": 0, "skipped": 1}
    records = _records(db, rows)
    matches = match_products(records)
    groups: dict[int, list[dict]] = defaultdict(list)
    for row, record, match in zip(rows, records, matches, strict=True):
        groups[match["group"]].append({**row, **match, "ingredients": record["ingredients"]})
    stored_max = db.execute("SELECT max(id) FROM products").fetchone()[0] or 0
    ids = _assign_ids(groups, stored_max + 1)
    now = utc_now()
    known = {r["id"]: dict(r) for r in db.query("SELECT id, first_seen FROM products")}
    shops_before: dict[int, set[str]] = defaultdict(set)
    for product_id, shop in db.execute(
        "SELECT product_id, shop FROM listings WHERE product_id IS NOT NULL"
    ):
        shops_before[product_id].add(shop)
    products, links, events, moved = [], [], [], 0
    for group, members in groups.items():
        product_id = ids[group]
        first = members[0]
        percent = next((m["vitamin_c_percent"] for m in members if m["vitamin_c_percent"]), None)
        products.append(
            {
                "id": product_id,
                "brand": first["brand"],
                "name": first["title"],
                "vitamin_c_forms": first["vitamin_c_forms"],
                "vitamin_c_percent": percent,
                "ingredients": json.dumps(max((m["ingredients"] for m in members), key=len))
                if any(m["ingredients"] for m in members)
                else None,
                "listings": len(members),
                "shops": len({m["shop"] for m in members}),
                "first_seen": (known.get(product_id) or {}).get("first_seen") or now,
                "updated_at": now,
                "retired_at": None,
            }
        )
        event = "new product" if product_id not in known else "new shop"
        for member in members:
            links.append(
                {
                    "id": member["id"],
                    "product_id": product_id,
                    "product_match": member["method"],
                    "product_match_reason": member["reason"],
                    "product_input": member["fingerprint"],
                }
            )
            if member["product_id"] is not None and member["product_id"] != product_id:
                moved += 1
                events.append(
                    (product_id, member["id"], member["shop"], "listing moved",
                     f"from product {member['product_id']}: {member['reason']}")
                )  # fmt: skip
            if member["shop"] not in shops_before[product_id]:
                shops_before[product_id].add(member["shop"])
                events.append((product_id, member["id"], member["shop"], event, member["reason"]))
                event = "new shop"
    with transaction(db):
        db["products"].upsert_all(storable_values(products), pk="id")
        db["listings"].upsert_all(storable_values(links), pk="id")
        # a listing no longer a current serum candidate sells no product any more
        db.execute(
            "UPDATE listings SET product_id = NULL, product_match = NULL,"
            " product_match_reason = NULL, product_input = NULL"
            " WHERE product_id IS NOT NULL AND gone_since IS NULL"
            " AND id NOT IN (SELECT value FROM json_each(?))",
            [json.dumps([r["id"] for r in rows])],
        )
        used = [p["id"] for p in products] or [0]
        marks = ",".join("?" * len(used))
        db.execute(
            f"UPDATE products SET retired_at = ?, listings = 0, shops = 0"
            f" WHERE retired_at IS NULL AND id NOT IN ({marks})",
            [now, *used],
        )
        _record_events(db, events, now)
    return {"listings": len(rows), "products": len(products), "moved": moved, "skipped": 0}


def _record_events(db: sqlite_utils.Database, events: list[tuple], now: str) -> None:
    """Each event with the latest crawl run, the one whose listings it was found in (the history
    views show a run's changes by ``run_id``)."""
    if events:
        run_id = db.execute("SELECT max(id) FROM crawl_runs").fetchone()[0]
        db["product_events"].insert_all(
            {"product_id": p, "listing_id": lid, "shop": shop, "event": e, "detail": d,
             "occurred_at": now, "run_id": run_id}
            for p, lid, shop, e, d in events
        )  # fmt: skip


def _offer_rows(row: dict, variants: list[dict]) -> list[dict[str, Any]]:
    offers = []
    for offer in json.loads(row["offers"] or "[]"):
        index = offer.get("variant")
        if not isinstance(index, int) or index >= len(variants):
            continue
        variant = variants[index]
        offers.append(
            {
                "variant_id": variant["id"],
                "product_id": row["product_id"],
                "listing_id": row["listing_id"],
                "shop": row["shop"],
                "name": row["title"],
                "url": row["url"],
                "variant": variant["title"] or variant["size_text"],
                "size_ml": offer.get("size_ml"),
                "price": variant["price"],
                "currency": variant["currency"],
                "price_usd": offer.get("usd"),
                "price_per_30ml": offer.get("price_per_30ml"),
                "available": int(bool(offer.get("available"))),
                "last_seen": row["last_seen"],
            }
        )
    return offers


def _facts(db: sqlite_utils.Database, rubric: str, ids: list[str]) -> dict[str, dict]:
    """The stored facts of these listings' evaluations."""
    found = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for listing_id, facts in db.execute(
            f"SELECT listing_id, facts FROM evaluations WHERE rubric = ? AND listing_id IN ({marks})",
            [rubric, *chunk],
        ):
            found[listing_id] = json.loads(facts or "{}")
    return found


def _offer_order(offer: dict) -> tuple:
    per_30ml = offer["price_per_30ml"]
    return (not offer["available"], per_30ml is None, per_30ml or 0, offer["variant_id"])


def refresh_offers(db: sqlite_utils.Database) -> dict[str, int]:
    """Rewrite ``offers`` (every current variant of a product's listings, ranked cheapest per 30 mL
    first, in stock before sold out) and each product's best offer; an offer that becomes the
    cheapest of its product is recorded in ``product_events``."""
    rubric = scored_rubric(PRODUCT_CATEGORY)
    variants: dict[str, list[dict]] = defaultdict(list)
    for variant in db.query(
        "SELECT v.id, v.listing_id, v.title, v.size_text, v.price, v.currency FROM variants AS v"
        " JOIN listings AS l ON l.id = v.listing_id"
        " WHERE l.product_id IS NOT NULL AND v.gone_since IS NULL ORDER BY v.listing_id, v.position"
    ):
        variants[variant["listing_id"]].append(variant)
    by_product: dict[int, list[dict]] = defaultdict(list)
    breakdowns: dict[int, dict[str, list[dict]]] = defaultdict(dict)
    scores: dict[str, tuple] = {}
    for row in db.query(OFFER_INPUT_SQL, {"rubric": rubric}):
        scores[row["listing_id"]] = (row["score"], row["verdict"])
        by_product[row["product_id"]].extend(_offer_rows(row, variants[row["listing_id"]]))
        breakdowns[row["product_id"]][row["listing_id"]] = json.loads(row["breakdown"] or "[]")
    price_ids = price_criteria(rubric)
    formula_of = {p: formula_listing(b, price_ids) for p, b in breakdowns.items()}
    facts = _facts(db, rubric, list(formula_of.values()))
    rows, best, formulas = [], {}, {}
    for product_id, offers in by_product.items():
        listing_id = formula_of[product_id]
        checks = formula_checks(breakdowns[product_id][listing_id], price_ids)
        formulas[product_id] = {
            "formula_listing_id": listing_id,
            "formula_checks": json.dumps(checks),
            "formula_points": sum(check.get("points") or 0 for check in checks),
        }
        offers.sort(key=_offer_order)
        for rank, offer in enumerate(offers, 1):
            offer["rank"] = rank
            offer["is_best"] = int(rank == 1 and offer["price_per_30ml"] is not None)
            offer.update(offer_evaluation(rubric, facts[listing_id], offer))
        rows.extend(offers)
        if offers and offers[0]["is_best"]:
            best[product_id] = offers[0]
    before = dict(
        db.execute("SELECT id, best_variant_id FROM products WHERE best_variant_id IS NOT NULL")
    )
    now = utc_now()
    events = [
        (pid, o["listing_id"], o["shop"], "now cheapest",
         f"{o['variant']} at {o['shop']}: ${o['price_per_30ml']:.2f} per 30 mL"
         f" (was {before[pid]})")
        for pid, o in best.items()
        if before.get(pid) and before[pid] != o["variant_id"]
    ]  # fmt: skip
    with transaction(db):
        db.execute("DELETE FROM offers")
        if rows:
            insert_rows(db, "offers", bound_rows(rows))
        db.execute(
            "UPDATE products SET best_variant_id = NULL, best_listing_id = NULL, best_shop = NULL,"
            " best_price = NULL, best_currency = NULL, best_price_per_30ml = NULL,"
            " score = NULL, verdict = NULL, formula_listing_id = NULL, formula_checks = NULL,"
            " formula_points = NULL"
        )
        # one statement each over every product (sqlite-utils' update reads the table's schema
        # and the row again for each: most of this function's time)
        db.conn.executemany(
            "UPDATE products SET formula_listing_id = ?, formula_checks = ?, formula_points = ?"
            " WHERE id = ?",
            [
                (f["formula_listing_id"], f["formula_checks"], f["formula_points"], product_id)
                for product_id, f in formulas.items()
            ],
        )
        db.conn.executemany(
            "UPDATE products SET best_variant_id = ?, best_listing_id = ?, best_shop = ?,"
            " best_price = ?, best_currency = ?, best_price_per_30ml = ?, score = ?, verdict = ?"
            " WHERE id = ?",
            [
                (
                    offer["variant_id"],
                    offer["listing_id"],
                    offer["shop"],
                    offer["price"],
                    offer["currency"],
                    offer["price_per_30ml"],
                    *scores.get(offer["listing_id"], (None, None)),
                    product_id,
                )
                for product_id, offer in best.items()
            ],
        )
        _record_events(db, events, now)
    return {"offers": len(rows), "products_with_offers": len(best)}


def update_products(db: sqlite_utils.Database, force: bool = False) -> dict[str, int]:
    """Group listings into products, then refresh their offers (after each evaluation)."""
    return {**group_listings(db, force), **refresh_offers(db)}
