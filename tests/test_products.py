"""One product, many shops: the matcher (evaluator/product_match.py) on example rows, and the product
writer (serumscope/store/products.py) after a real crawl of the demo shops, whose files say which
listings are one product (``expected.product``) and which near-misses must stay apart."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from evaluator.product_match import (
    formula_conflict,
    match_products,
    normalise_brand,
    normalise_name,
    valid_gtin,
)
from serumscope.demo import build_catalog
from serumscope.store.database import open_db
from serumscope.store.product_formula import formula_checks, formula_listing
from serumscope.store.products import update_products

LIST = ["aqua", "ascorbic acid", "propanediol", "glycerin", "tocopherol", "ferulic acid"]
LIST_TAIL = [
    "sodium hyaluronate",
    "panthenol",
    "phenoxyethanol",
    "ethylhexylglycerin",
    "citric acid",
]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Dr. Jart+", "dr jart"),
        ("DR JART", "dr jart"),
        ("Maison Lumière", "maison lumiere"),
        ("Kumo Skincare", "kumo"),
        ("Grove & Stone", "grove and stone"),
        (None, ""),
    ],
)
def test_brands_are_normalised(raw, expected):
    assert normalise_brand(raw) == expected


@pytest.mark.parametrize(
    ("title", "brand", "expected"),
    [
        ("Nordvik Vitamin C 15% Serum", "Nordvik", "vitamin c 15 serum"),
        ("Nordvik C15 Vitamin C Serum 1 fl oz", "Nordvik", "c 15 vitamin c serum"),
        ("Vitamin C Serum™ 30ml (Travel Size)", "", "vitamin c serum"),
        ("Daily C Serum - Brightens & Protects", "", "daily c serum"),
        ("C-Glow Serum 2 Pack 2 x 30 mL", "", "c glow serum"),
        ("NEW! Radiance 20 Serum", "", "radiance 20 serum"),
    ],
)
def test_names_lose_sizes_packs_and_marketing(title, brand, expected):
    assert normalise_name(title, brand) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("5012345678900", "05012345678900"),  # EAN-13
        ("036000291452", "00036000291452"),  # UPC-A: the same product as its EAN-13 below
        ("0036000291452", "00036000291452"),
        ("5012345678901", None),  # wrong check digit
        ("FER-EC15-30", None),  # a shop's own SKU
        ("00000000", None),
        ("", None),
        (None, None),
    ],
)
def test_gtins_are_validated(code, expected):
    assert valid_gtin(code) == expected


def record(listing_id: str, shop: str, **fields) -> dict:
    return {
        "listing_id": listing_id,
        "shop": shop,
        "brand": "Nordvik",
        "title": "Nordvik Vitamin C 15% Serum",
        "ingredients": LIST,
        "vitamin_c_forms": ["l-ascorbic acid"],
        "vitamin_c_percent": 15.0,
        **fields,
    }


def groups_of(records: list[dict]) -> list[set[str]]:
    matches = match_products(records)
    groups: dict[int, set[str]] = {}
    for rec, match in zip(records, matches, strict=True):
        groups.setdefault(match["group"], set()).add(rec["listing_id"])
    return sorted(groups.values(), key=sorted)


def test_name_and_formula_join_listings_of_other_shops():
    records = [record("a", "s1"), record("b", "s2", title="Nordvik C15 Vitamin C Serum 30 ml")]
    matches = match_products(records)
    assert matches[0]["group"] == matches[1]["group"]
    assert matches[1]["method"] == "name+formula"
    assert "matched with a" in matches[1]["reason"]


@pytest.mark.parametrize(
    "other",
    [
        {"vitamin_c_percent": 20.0, "title": "Nordvik Vitamin C Serum"},  # a stronger serum
        {"ingredients": ["aqua", "ascorbic acid", "niacinamide", *LIST[2:]]},  # a new formula
        {"vitamin_c_forms": ["sodium ascorbyl phosphate"]},
        {"title": "Nordvik Vitamin C 20 Serum", "vitamin_c_percent": None},  # another number
        {"title": "Nordvik Midnight Recovery Oil"},  # another product line
        {"brand": "Nordwind"},
        {"ingredients": []},  # nothing to confirm the name with
        {"shop": "s1", "title": "Nordvik Vitamin C 15% Serum Plus"},  # one shop's two products
        {"shop": "s1", "title": "Nordvik Vitamin C 15% Serum - Night"},  # and its edition
        {"title": "Nordvik Vitamin C 15% Serum, Dry Skin"},  # made for another skin type
        {"ingredients": [*LIST[:3], *LIST[4:], *LIST_TAIL]},  # glycerin dropped, however long
        {"ingredients": ["glycerin", *LIST[1:], *LIST_TAIL]},  # another first ingredient
    ],
)
def test_near_misses_stay_apart(other):
    records = [record("a", "s1"), record("b", other.pop("shop", "s2"), **other)]
    assert groups_of(records) == [{"a"}, {"b"}]


def test_a_gtin_joins_other_names_but_not_other_formulas():
    a = record("a", "s1", gtins=["5012345678900"])
    b = record("b", "s2", title="Ethyl Booster", gtins=["5012345678900"], ingredients=[])
    c = record("c", "s3", gtins=["05012345678900"], vitamin_c_percent=20.0)
    matches = match_products([a, b, c])
    assert matches[0]["group"] == matches[1]["group"] != matches[2]["group"]
    assert matches[1]["method"] == "gtin" and "5012345678900" in matches[1]["reason"]
    assert formula_conflict(a, c) == "vitamin C 15% vs 20%"


def test_one_shops_full_size_and_mini_are_one_product():
    records = [record("a", "s1"), record("b", "s1", title="Mini Nordvik Vitamin C 15% Serum 5ml")]
    assert groups_of(records) == [{"a", "b"}]


@pytest.mark.parametrize(
    "told",
    [
        ["avobenzone", "octisalate 5.0%aqua", *LIST[1:], *LIST_TAIL],  # US drug actives first
        [*LIST[2:], *LIST_TAIL],  # a list cut at the start
        [*LIST, *LIST_TAIL[:3]],  # a list that stops early
        [*LIST, *LIST_TAIL, "aqua", "glycerin", "xanthan gum"],  # a kit's next part
        [*LIST[:2], "propane diol", *LIST[3:], *LIST_TAIL],  # spelt another way
        ["new look! aqua", *LIST[1:], *LIST_TAIL],  # text glued before the first name
        [*LIST, *LIST_TAIL[:3], "ethylhexyl"],  # the last name cut
    ],
)
def test_one_list_told_differently_is_one_formula(told):
    full = [*LIST, *LIST_TAIL]
    assert (
        formula_conflict(record("a", "s1", ingredients=full), record("b", "s2", ingredients=told))
        is None
    )


def test_an_invalid_gtin_and_another_brands_mpn_join_nothing():
    a = record("a", "s1", title="Serum One", gtins=["5012345678901"], mpns=["NV-15"])
    b = record("b", "s2", title="Other Serum", gtins=["5012345678901"], mpns=["NV-15"])
    assert groups_of([a, b]) == [{"a", "b"}]  # the MPN, of one brand
    b["brand"] = "Elmwood"
    assert groups_of([a, b]) == [{"a"}, {"b"}]


def test_groups_are_complete_link():
    """b matches a and c by name, but a and c disagree: c never joins a's group."""
    a = record("a", "s1", vitamin_c_percent=None)
    b = record("b", "s2", vitamin_c_percent=None)
    c = record("c", "s3", vitamin_c_percent=20.0, title="Nordvik Vitamin C Serum")
    a["vitamin_c_percent"] = 15.0
    groups = groups_of([a, b, c])
    assert {"a", "b"} in groups and {"c"} in groups


# --- After a real crawl of the demo shops --------------------------------------------------------


@pytest.fixture(scope="module")
def demo_db(demo_shops, tmp_path_factory) -> Path:
    from serumscope.commands.publishing import build_demo_database

    path = tmp_path_factory.mktemp("products") / "demo.db"
    build_demo_database(demo_shops, path)
    return path


def expected_products(shop_names: dict[str, str]) -> dict[tuple[str, str], str]:
    """(shop, slug) → the product its demo file says it is (its own key when it names none)."""
    catalog = build_catalog(2)
    return {
        (shop_names[p["platform"]], p["slug"]): p["expected"].get("product") or p["key"]
        for p in catalog.all_products()
    }


def slug_of(url: str) -> str:
    return re.sub(r"^.*/(products|product|staff-picks)/([^/]+)/?$", r"\2", url)


def test_demo_listings_are_grouped_as_the_demo_data_says(demo_db, demo_shops):
    shop_names = {platform: config["name"] for platform, config in demo_shops.catalog.shops.items()}
    expected = expected_products(shop_names)
    db = open_db(demo_db)
    rows = list(
        db.query(
            "SELECT shop, url, product_id, product_match FROM listings"
            " WHERE product_id IS NOT NULL AND gone_since IS NULL"
        )
    )
    found: dict[str, set[int]] = {}
    members: dict[int, set[str]] = {}
    for row in rows:
        key = expected[row["shop"], slug_of(row["url"])]
        found.setdefault(key, set()).add(row["product_id"])
        members.setdefault(row["product_id"], set()).add(key)
    # every expected group is one product, and no product holds two expected groups
    assert all(len(ids) == 1 for ids in found.values()), found
    assert all(len(keys) == 1 for keys in members.values()), members
    shops_per_group = {
        key: {r["shop"] for r in rows if expected[r["shop"], slug_of(r["url"])] == key}
        for key in ("nordvik-c15", "mira-ethyl-c-12", "ferrow-ethyl-c-15")
    }
    assert {k: len(v) for k, v in shops_per_group.items()} == {
        "nordvik-c15": 3,
        "mira-ethyl-c-12": 2,
        "ferrow-ethyl-c-15": 2,
    }
    by_key = {expected[r["shop"], slug_of(r["url"])]: r for r in rows}
    assert by_key["ferrow-ethyl-c-15"]["product_match"] == "gtin"
    assert by_key["nordvik-c15"]["product_match"] == "name+formula"
    # the near-misses: the new Mira formula and Glowjar's 20% serum stand alone
    for near_miss in (
        "retailer/mira-ethyl-c-12-new-formula",
        "retailer/glowjar-daily-c-brightening-serum",
    ):
        assert by_key[near_miss]["product_match"] == "alone"


def test_offers_are_ranked_cheapest_per_30ml_and_the_best_is_on_the_product(demo_db):
    db = open_db(demo_db)
    for product in db.query("SELECT * FROM products WHERE shops > 1"):
        offers = list(
            db.query("SELECT * FROM offers WHERE product_id = ? ORDER BY rank", [product["id"]])
        )
        assert len({o["shop"] for o in offers}) == product["shops"]
        in_stock = [o["price_per_30ml"] for o in offers if o["available"] and o["price_per_30ml"]]
        assert in_stock == sorted(in_stock)
        assert offers[0]["is_best"] == 1 and product["best_variant_id"] == offers[0]["variant_id"]
        assert product["best_price_per_30ml"] == offers[0]["price_per_30ml"]
    events = {r["event"] for r in db.query("SELECT event FROM product_events")}
    assert {"new product", "new shop"} <= events


def site_get(demo_db: Path, path: str):
    import asyncio

    from serumscope.site import make_datasette

    return asyncio.run(make_datasette(demo_db).client.get(path))


def test_product_page_and_also_sold_at(demo_db):
    from serumscope.site import listing_path

    db = open_db(demo_db)
    product = next(db.query("SELECT * FROM products WHERE shops = 3"))
    offers = list(
        db.query("SELECT * FROM offers WHERE product_id = ? ORDER BY rank", [product["id"]])
    )
    page = site_get(demo_db, f"/product/{product['id']}")
    assert page.status_code == 200
    shown = re.findall(
        r'<tr(?: class="best-offer")?><td data-label="Shop"><a href="[^"]+">([^<]+)</a>', page.text
    )
    assert shown == [o["shop"] for o in offers]
    assert "matched by <strong>name+formula</strong>" in page.text
    listing = site_get(demo_db, listing_path(offers[-1]["listing_id"]))
    assert "Also sold at" in listing.text
    others = {o["shop"] for o in offers if o["listing_id"] != offers[-1]["listing_id"]}
    for shop in others:
        assert f">{shop}</a>" in listing.text.split("Also sold at")[1].split("</section>")[0]
    assert f"/product/{product['id']}" in listing.text
    assert site_get(demo_db, "/product/99999").status_code == 404
    api = site_get(demo_db, f"/serumscope/offers.json?product_id={product['id']}&_shape=array")
    assert [o["variant_id"] for o in api.json()] == sorted(
        (o["variant_id"] for o in offers), key=[o["variant_id"] for o in offers].index
    )


def test_home_page_shows_a_product_once_with_its_best_offer(demo_db):
    db = open_db(demo_db)
    picks = site_get(demo_db, "/").text.split('class="top-picks"')[1].split("</table>")[0]
    for product in db.query("SELECT * FROM products WHERE shops > 1 AND verdict = 'recommend'"):
        names = [
            r["title"]
            for r in db.query("SELECT title FROM listings WHERE product_id = ?", [product["id"]])
        ]
        assert sum(picks.count(f">{name}</a>") for name in names) <= 1


def test_rematching_is_idempotent_and_keeps_ids(demo_db):
    db = open_db(demo_db)
    before = dict(db.execute("SELECT id, product_id FROM listings"))
    events = db["product_events"].count
    assert update_products(db)["skipped"] == 1
    forced = update_products(db, force=True)
    assert forced["skipped"] == 0 and forced["moved"] == 0
    assert dict(db.execute("SELECT id, product_id FROM listings")) == before
    assert db["product_events"].count == events


def test_a_listing_whose_formula_changes_moves_and_the_move_is_recorded(demo_db):
    db = open_db(demo_db)
    listing = next(
        db.query(
            "SELECT l.id, l.product_id FROM listings AS l JOIN products AS p ON p.id = l.product_id"
            " WHERE p.shops = 3 ORDER BY l.id LIMIT 1"
        )
    )
    with db.conn:
        db.execute(
            "UPDATE ingredients SET canonical = 'niacinamide' WHERE listing_id = ? AND position = 3",
            [listing["id"]],
        )
        db.execute("UPDATE listings SET input_hash = 'changed' WHERE id = ?", [listing["id"]])
    assert update_products(db)["moved"] >= 1
    moved = db.execute(
        "SELECT detail FROM product_events WHERE listing_id = ? AND event = 'listing moved'",
        [listing["id"]],
    ).fetchone()
    assert f"from product {listing['product_id']}" in moved[0]


def test_the_formula_is_evaluated_once_and_the_price_at_each_offer(demo_db):
    db = open_db(demo_db)
    for product in db.query("SELECT * FROM products WHERE retired_at IS NULL"):
        checks = json.loads(product["formula_checks"])
        assert checks and "price_value" not in {c["id"] for c in checks}
        assert product["formula_points"] == sum(c["points"] for c in checks)
        formula = db.execute(
            "SELECT product_id FROM listings WHERE id = ?", [product["formula_listing_id"]]
        ).fetchone()
        assert formula[0] == product["id"]
        offers = list(db.query("SELECT * FROM offers WHERE product_id = ?", [product["id"]]))
        for offer in offers:
            if offer["price_per_30ml"] is not None:
                assert f"${offer['price_per_30ml']:.2f} per 30 mL" in offer["price_check"]
    # one listing, one size: the offer scores what the listing scores
    same = list(
        db.query(
            "SELECT o.offer_score, o.offer_verdict, s.score, s.verdict FROM products AS p"
            " JOIN offers AS o ON o.product_id = p.id JOIN scores AS s ON s.listing_id = o.listing_id"
            " WHERE p.listings = 1 AND (SELECT count(*) FROM offers WHERE product_id = p.id) = 1"
        )
    )
    assert same and all(
        (r["offer_score"], r["offer_verdict"]) == (r["score"], r["verdict"]) for r in same
    )
    # the Nordvik serum at several shops: one formula, each offer scored at its own price
    nordvik = next(db.query("SELECT * FROM products ORDER BY shops DESC, id LIMIT 1"))
    offers = list(db.query("SELECT * FROM offers WHERE product_id = ?", [nordvik["id"]]))
    assert len({o["price_check"] for o in offers}) > 1
    page = site_get(demo_db, f"/product/{nordvik['id']}").text
    assert "shared by every offer" in page and "Score at this offer" in page
    assert all(o["price_check"] in html.unescape(page) for o in offers)


def test_the_formula_listing_is_the_doubtful_one_else_the_best_evidenced():
    def checks(status: str, points: int) -> list[dict]:
        price = {"id": "price_value", "status": "pass", "points": 30}
        return [{"id": "active_percentages", "status": status, "points": points}, price]

    price_ids = frozenset({"price_value"})
    assert formula_listing({"a": checks("partial", 20), "b": checks("pass", 40)}, price_ids) == "b"
    doubt = {"a": checks("pass", 40), "b": checks("contradicted", 0)}
    assert formula_listing(doubt, price_ids) == "b"
    assert formula_checks(checks("pass", 40), price_ids) == checks("pass", 40)[:1]
