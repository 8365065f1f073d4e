"""What keeps pages quick at 100,000 listings (bench/serve.py) changes nothing a visitor reads: the
default facets counted ahead by the store agree with counting the rows after every kind of write, and
a paged canned query shows each of its rows once, in order, across its pages."""

from __future__ import annotations

import asyncio
import html
import re
from urllib.parse import urlencode

import pytest
from site_fixtures import write_generated_listings

from serumscope.site import SITE_DB_NAME, make_datasette, site_metadata
from serumscope.site_pages import TOP_PICKS_SQL
from serumscope.store.database import open_db
from serumscope.store.indexes import FACET_COLUMNS
from serumscope.store.schema import ensure_schema, refresh_site_tables
from serumscope.store.site import (
    CATEGORY_VERDICTS_TABLE,
    FACET_COUNTS_TABLE,
    SCORES,
    SHOP_VERDICTS_TABLE,
)

METADATA = site_metadata()
PAGE_ROWS = METADATA["plugins"]["serumscope-site"]["query_page_rows"]
QUERIES = METADATA["databases"][SITE_DB_NAME]["queries"]
LISTINGS = 800


@pytest.fixture(scope="module")
def site_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("paging") / "site.db"
    db = open_db(path)
    write_generated_listings(db, LISTINGS)
    db.close()
    return path


@pytest.fixture(scope="module")
def ds(site_db):
    return make_datasette(site_db)


def get(ds, path: str):
    response = asyncio.run(ds.client.get(path))
    assert response.status_code == 200, (path, response.text[:300])
    return response


def counted(db) -> dict[str, dict]:
    rows = db.execute(f"SELECT facet, value, count FROM {FACET_COUNTS_TABLE} WHERE count > 0")
    found: dict[str, dict] = {column: {} for column in FACET_COLUMNS}
    for facet, value, count in rows:
        found[facet][value] = count
    return found


def grouped(db, where: str = "1") -> dict[str, dict]:
    return {
        column: dict(
            db.execute(
                f"SELECT {column}, count(*) FROM scores WHERE {column} IS NOT NULL AND {where}"
                f" GROUP BY {column}"
            ).fetchall()
        )
        for column in FACET_COLUMNS
    }


def counted_shop_verdicts(db, table: str = SHOP_VERDICTS_TABLE, key: str = "shop") -> dict:
    rows = db.execute(f"SELECT {key}, verdict, listings FROM {table} WHERE listings > 0").fetchall()
    return {(value, verdict): listings for value, verdict, listings in rows}


def grouped_shop_verdicts(db, key: str = "shop") -> dict[tuple, int]:
    rows = db.execute(  # the verdicts-per-shop chart's (and home page's) query before the counts
        f"SELECT {key}, verdict, count(*) FROM scores"
        f" WHERE verdict IS NOT NULL AND gone_since IS NULL GROUP BY {key}, verdict"
    ).fetchall()
    return {(value, verdict): listings for value, verdict, listings in rows}


def counted_category_verdicts(db) -> dict[tuple, int]:
    return counted_shop_verdicts(db, CATEGORY_VERDICTS_TABLE, "category")


def test_facet_counts_follow_every_write_to_scores(tmp_path):
    db = open_db(tmp_path / "counts.db")
    write_generated_listings(db, 120)
    assert counted(db) == grouped(db) and grouped(db)["verdict"]
    ids = [row[0] for row in db.execute("SELECT id FROM listings ORDER BY id")]
    with db.conn:
        db.execute(  # re-evaluated: each scores row deleted and written again by the triggers
            "UPDATE evaluations SET verdict = 'avoid', score = 10 WHERE listing_id IN (?, ?, ?)",
            ids[:3],
        )
        db.execute("UPDATE listings SET brand = 'Another Brand' WHERE rowid % 7 = 0")  # in place
        db.execute("UPDATE listings SET shop = 'new-shop', brand = NULL WHERE rowid % 9 = 0")
        db.execute("DELETE FROM listings WHERE rowid % 11 = 0")
    assert counted(db)["brand"]["Another Brand"] > 0
    assert counted(db) == grouped(db)
    assert counted_shop_verdicts(db) == grouped_shop_verdicts(db)
    refresh_site_tables(db)
    assert counted(db) == grouped(db)
    db.execute(f"DROP TABLE {FACET_COUNTS_TABLE}")  # a database from before the counts
    db.conn.commit()
    ensure_schema(db)
    assert counted(db) == grouped(db)
    db.close()


def test_verdicts_per_shop_and_category_follow_every_write_to_scores(tmp_path):
    db = open_db(tmp_path / "shop-verdicts.db")
    write_generated_listings(db, 120)
    assert counted_shop_verdicts(db) == grouped_shop_verdicts(db) != {}
    ids = [row[0] for row in db.execute("SELECT id FROM listings ORDER BY id")]
    with db.conn:
        db.execute(
            "UPDATE evaluations SET verdict = 'avoid', score = 10 WHERE listing_id IN (?, ?, ?)",
            ids[:3],
        )
        db.execute("UPDATE listings SET gone_since = '2026-01-02' WHERE rowid % 5 = 0")
        db.execute("UPDATE listings SET gone_since = NULL WHERE rowid % 10 = 0")  # back again
        db.execute("UPDATE listings SET shop = 'new-shop' WHERE rowid % 9 = 0")
        db.execute("DELETE FROM listings WHERE rowid % 11 = 0")
        db.execute("UPDATE listings SET category = 'vitamin-c-serum' WHERE rowid % 13 = 0")
    assert any(shop == "new-shop" for shop, _ in counted_shop_verdicts(db))
    assert counted_shop_verdicts(db) == grouped_shop_verdicts(db)
    assert counted_category_verdicts(db) == grouped_shop_verdicts(db, "category")
    assert len({category for category, _ in counted_category_verdicts(db)}) > 1
    refresh_site_tables(db)
    assert counted_shop_verdicts(db) == grouped_shop_verdicts(db)
    assert counted_category_verdicts(db) == grouped_shop_verdicts(db, "category")
    for table in [SHOP_VERDICTS_TABLE, CATEGORY_VERDICTS_TABLE]:
        db.execute(f"DROP TABLE {table}")  # a database from before these counts
    db.conn.commit()
    ensure_schema(db)
    assert counted_shop_verdicts(db) == grouped_shop_verdicts(db)
    assert counted_category_verdicts(db) == grouped_shop_verdicts(db, "category")
    db.close()


def test_the_verdicts_per_shop_chart_shows_the_grouped_counts(ds, site_db):
    chart = METADATA["plugins"]["datasette-dashboards"]["overview"]["charts"]["verdicts-per-shop"]
    rows = get(
        ds, f"/{SITE_DB_NAME}.json?" + urlencode({"sql": chart["query"], "_shape": "objects"})
    )
    shown = {(row["shop"], row["verdict"]): row["listings"] for row in rows.json()["rows"]}
    db = open_db(site_db)
    assert shown == grouped_shop_verdicts(db) != {}
    db.close()


def facets_shown(ds, query: str = "") -> dict[str, dict]:
    page = get(ds, f"/{SITE_DB_NAME}/scores.json?_size=1&{query}").json()
    return {
        name: {row["value"]: row["count"] for row in facet["results"]}
        for name, facet in page["facet_results"].items()
    }


def top(counts: dict, size: int = 30) -> dict:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:size])


def test_the_scores_page_shows_the_same_facet_counts_filtered_or_not(ds, site_db):
    db = open_db(site_db)
    every = grouped(db)
    shop = next(iter(every["shop"]))
    in_shop = grouped(db, f"shop = '{shop}'")
    db.close()
    assert facets_shown(ds) == {column: top(every[column]) for column in FACET_COLUMNS}
    assert facets_shown(ds, f"shop={shop}") == {c: top(in_shop[c]) for c in FACET_COLUMNS}
    html = get(ds, f"/{SITE_DB_NAME}/scores").text
    for column in FACET_COLUMNS:
        assert html.count(f'id="facet-{column}"') == 1
        assert f"{column} (counted)" not in html


def test_every_paged_query_pages_by_the_configured_rows():
    paged = [name for name, query in QUERIES.items() if ":page" in query["sql"]]
    assert {"avoid_list", "changes_since_last_run", "find"} <= set(paged)
    for name in paged:
        sql = QUERIES[name]["sql"]
        assert f"{PAGE_ROWS} * max(0, cast(coalesce(nullif(:page, ''), '1') as integer) - 1)" in sql
        sizes = re.findall(r"limit (\d+)|select (\d+) as size", sql)
        assert {int(a or b) for a, b in sizes} == {PAGE_ROWS}, name


def test_a_paged_query_shows_each_row_once_across_its_pages(ds, site_db):
    db = open_db(site_db)
    expected = [
        row[0]
        for row in db.execute(
            "SELECT listing_id FROM scores WHERE verdict = 'avoid' AND gone_since IS NULL"
            " ORDER BY score, name, listing_id"
        )
    ]
    db.close()
    assert len(expected) > 2 * PAGE_ROWS
    shown, page = [], 1
    while True:
        rows = get(ds, f"/{SITE_DB_NAME}/avoid_list.json?_shape=array&page={page}").json()
        shown += [row["listing_id"] for row in rows]
        if len(rows) < PAGE_ROWS:
            break
        page += 1
    assert shown == expected
    first = get(ds, f"/{SITE_DB_NAME}/avoid_list").text
    assert 'rel="next" href="/serumscope/avoid_list?page=2"' in first and 'rel="prev"' not in first
    last = get(ds, f"/{SITE_DB_NAME}/avoid_list?page={page}").text
    assert f'rel="prev" href="/serumscope/avoid_list?page={page - 1}"' in last
    assert 'rel="next"' not in last


@pytest.mark.parametrize("sort", ["", "price", "percent"])
def test_the_find_page_pages_through_every_match_in_its_sort(ds, sort):
    # the same matches and order as one query without pages (limit and offset replaced)
    sql = re.sub(
        r"limit \(select size from page\) offset \(select skip from page\)",
        "",
        QUERIES["find"]["sql"],
    )
    every = asyncio.run(
        ds.execute(
            SITE_DB_NAME, sql, {**dict.fromkeys(FIND_PARAMETERS, ""), "sort": sort, "page": ""}
        )
    ).rows
    shown = []
    for page in range(1, len(every) // PAGE_ROWS + 2):
        shown += get(ds, f"/{SITE_DB_NAME}/find.json?_shape=array&sort={sort}&page={page}").json()
    assert [row["listing_id"] for row in shown] == [row["listing_id"] for row in every]
    assert len(every) > PAGE_ROWS


FIND_PARAMETERS = set(re.findall(r"(?<![:\w]):([a-z_]+)", QUERIES["find"]["sql"]))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("citrine", ""),  # a brand: fewer than 200 names, from the trigram index, sorted
        ("", "serum 7"),
        ("Citrine", "Halcyon"),  # two brands: over 200 names, read in score order
        ("vitamin c", ""),  # every name
        ("Serum 1", "nordlys"),
        ("C", ""),  # one letter, which no trigram holds
        ("no such name", ""),
        ("", ""),
    ],
)
def test_compare_pages_through_every_name_containing_either_phrase(ds, site_db, first, second):
    db = open_db(site_db)
    expected = [
        listing_id
        for listing_id, name in db.execute(
            "SELECT listing_id, name FROM scores ORDER BY score DESC, listing_id"
        )
        if any(phrase and phrase.lower() in name.lower() for phrase in (first, second))
    ]
    db.close()
    shown = []
    for page in range(1, len(expected) // PAGE_ROWS + 2):
        query = urlencode({"first": first, "second": second, "page": page})
        rows = get(ds, f"/{SITE_DB_NAME}/compare.json?_shape=array&{query}").json()
        shown += [row["listing_id"] for row in rows]
    assert shown == expected


# every listing: the score index read in order; about 120: each looked up, then sorted
@pytest.mark.parametrize("term", ["aqua", "moringa"])
def test_the_search_pages_through_every_match_best_score_first(ds, site_db, term):
    db = open_db(site_db)
    expected = [  # every match sorted, as before the search read the score index
        row[0]
        for row in db.execute(
            "SELECT s.listing_id FROM listings_fts JOIN scores AS s ON s.rowid = listings_fts.rowid"
            " WHERE listings_fts MATCH ? ORDER BY s.score IS NULL, s.score DESC, s.listing_id",
            [term],
        )
    ]
    db.close()
    explained = "EXPLAIN QUERY PLAN " + QUERIES["search"]["sql"]
    plan = [
        row[3] for row in asyncio.run(ds.execute(SITE_DB_NAME, explained, {"q": term, "page": ""}))
    ]
    assert len(expected) > 2 * PAGE_ROWS
    # many matches: read in order from an index, not every match sorted
    assert any(step.startswith("SCAN s USING COVERING INDEX") for step in plan), plan
    shown = []
    for page in range(1, len(expected) // PAGE_ROWS + 2):
        rows = get(ds, f"/{SITE_DB_NAME}/search.json?_shape=array&q={term}&page={page}").json()
        assert all("«" in row["ingredients_match"] for row in rows)
        shown += [row["listing_id"] for row in rows]
    assert shown == expected


# The home page's top picks as they were chosen before reading them in score order: every
# recommended listing ranked within its product, the first of each product kept.
TOP_PICKS_RANKED = """
select listing_id from (
  select listing_id, score, price_per_30ml, row_number() over (
    partition by coalesce(product_id, listing_id) order by score desc, price_per_30ml, listing_id
  ) as nth
  from scores
  where verdict = 'recommend' and gone_since is null and category = :category
)
where nth = 1
order by score desc, price_per_30ml, listing_id
limit 10
"""


def test_the_top_picks_are_each_products_best_listing(tmp_path):
    db = open_db(tmp_path / "picks.db")
    write_generated_listings(db, 400)
    recommended = [
        row[0]
        for row in db.execute(
            "SELECT listing_id FROM scores WHERE verdict = 'recommend' ORDER BY listing_id"
        )
    ]
    assert len(recommended) > 20
    with db.conn:  # products of several listings, ties of score and of price within them
        db.execute("INSERT INTO products (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')")
        for n, listing_id in enumerate(recommended[:18]):
            db.execute("UPDATE listings SET product_id = ? WHERE id = ?", [n % 3 + 1, listing_id])
        db.execute(
            "UPDATE evaluations SET score = 99 WHERE listing_id IN (?, ?, ?, ?)", recommended[:4]
        )
        db.execute(
            "UPDATE evaluations SET price_per_30ml = NULL WHERE listing_id = ?", [recommended[3]]
        )
    category = db.execute("SELECT category FROM scores WHERE verdict = 'recommend'").fetchone()[0]
    db.close()
    ds = make_datasette(tmp_path / "picks.db")
    expected = asyncio.run(ds.execute(SITE_DB_NAME, TOP_PICKS_RANKED, {"category": category}))
    shown = asyncio.run(ds.execute(SITE_DB_NAME, TOP_PICKS_SQL, {"category": category}))
    assert [row["listing_id"] for row in shown] == [row["listing_id"] for row in expected]
    products = [row["product_id"] for row in shown if row["product_id"]]
    assert len(products) == len(set(products)) >= 2  # one pick per product, products among them


def header_columns(page_html: str) -> list[str]:
    head = page_html.split('<table class="rows-and-columns">', 1)[1].split("</thead>", 1)[0]
    return re.findall(r'<th [^>]*data-column="([^"]+)"', head)


def test_the_scores_page_opens_on_the_shopper_columns_and_links_every_other_one(ds):
    defaults = METADATA["plugins"]["serumscope-site"]["scores_default_columns"]
    shopper = {"name", "shop", "category", "verdict", "score", "price", "price_per_30ml", "size_ml"}
    assert shopper | {"vitamin_c_form", "vitamin_c_percent", "light"} <= set(defaults)
    every = list(SCORES.columns)
    page = get(ds, f"/{SITE_DB_NAME}/scores").text
    assert sorted(header_columns(page)) == sorted([SCORES.pk, *defaults])
    link = re.search(r'<a href="([^"]+)" rel="nofollow">show every column</a>', page)
    everything = get(ds, html.unescape(link.group(1))).text
    assert sorted(header_columns(everything)) == sorted(every)
    assert "show every column" not in everything
    # the same rows either way, and the API keeps every column
    api = get(ds, f"/{SITE_DB_NAME}/scores.json?_shape=objects").json()
    assert list(api["rows"][0]) == every
    ids = re.findall(r'data-column="listing_id"><a href="[^"]+">([^<]+)</a>', page)
    assert ids == [html.unescape(row["listing_id"]) for row in api["rows"]]
    # a visitor's own choice of columns is Datasette's, hiding one hides it from the defaults
    chosen = header_columns(get(ds, f"/{SITE_DB_NAME}/scores?_col=score").text)
    assert sorted(chosen) == [SCORES.pk, "score"]
    hidden = header_columns(get(ds, f"/{SITE_DB_NAME}/scores?_nocol=shop").text)
    assert sorted(hidden) == sorted({SCORES.pk, *defaults} - {"shop"})


def test_search_results_are_not_counted_by_facet_and_still_count_every_match(ds, site_db):
    db = open_db(site_db)
    matches = db.execute("SELECT count(*) FROM listings_fts WHERE listings_fts MATCH 'aqua'")
    expected = matches.fetchone()[0]
    db.close()
    page = get(ds, f"/{SITE_DB_NAME}/scores?_search=aqua").text
    assert 'class="facet-info' not in page and "not counted by verdict" in page
    found = get(ds, f"/{SITE_DB_NAME}/scores.json?_search=aqua").json()
    assert found["filtered_table_rows_count"] == expected > 0
    assert found["facet_results"] == {}
    assert 'id="facet-verdict"' in get(ds, f"/{SITE_DB_NAME}/scores").text
