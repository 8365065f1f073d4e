"""The Datasette site in-process (Datasette's test client) against a database crawled from the demo
shops and evaluated for real: canned queries, search, metadata, the scores table and the JSON API.
The site's pages are in tests/test_site_pages.py, history in test_site_history.py, devices in
test_site_devices.py."""

from __future__ import annotations

import asyncio
import json
import re
import shutil

import httpx
import pytest
from markupsafe import escape
from site_fixtures import get, rows

from serumscope.paths import REPO_ROOT
from serumscope.site import (
    SITE_DB_NAME,
    fts_query,
    make_datasette,
    site_metadata,
)
from serumscope.store.database import open_db
from serumscope.store.tables import SEARCH_TABLES

METADATA = site_metadata()
SITE_METADATA = METADATA["databases"][SITE_DB_NAME]


# The columns docs/api.md promises for each canned query, and parameters that make each return rows.
CANNED_QUERIES = {
    "find": (
        "max_price=40&in_stock=1&sort=price",
        "listing_id name score verdict price_per_30ml vitamin_c_percent vitamin_c_form light "
        "dispenser shop verdict_reason",
    ),
    "best_picks": (
        "max_price_per_30ml=40",
        "listing_id name brand shop score verdict price_per_30ml vitamin_c_percent light url",
    ),
    "avoid_list": ("", "listing_id name brand shop score price_per_30ml reasons"),
    "percent_contradicts_inci_order": (
        "",
        "listing_id name brand shop active reason ingredients_text",
    ),
    "compare": (
        "first=serumtologie&second=skin+solutions",
        "name brand shop score verdict vitamin_c_forms vitamin_c_percent light dispenser size_ml "
        "price currency price_per_30ml url listing_id",
    ),
    "search": (
        "q=ferulic",
        "listing_id name brand shop score verdict price_per_30ml ingredients_match",
    ),
    "changes_since_last_run": (
        "",
        "run_id changed_at change listing_id shop title detail old_value new_value",
    ),
    "recent_price_drops": (
        "",
        "changed_at listing_id shop title variant old_price new_price currency drop_percent url",
    ),
    "feed": ("", "atom_id atom_title atom_updated atom_content atom_link"),
    "cheapest_offer_per_product": (
        "max_price_per_30ml=40",
        "product_id name brand vitamin_c_percent score verdict shop variant price currency "
        "price_per_30ml shops url",
    ),
    "device_top_picks": (
        "",
        "listing_id name brand shop score verdict device_type needle_lengths_mm needle_max_mm "
        "needle_material price currency price_per_use red_flags verdict_reason",
    ),
    "find_device": (
        "max_length=1&material=stainless+steel",
        "listing_id name score verdict device_type needle_lengths_mm needle_material price_per_use "
        "shop verdict_reason",
    ),
    "home_kit": (
        "",
        "device_id device device_shop device_score needle_lengths_mm device_price_per_use "
        "serum_rank serum_id serum serum_shop serum_score serum_price_per_30ml "
        "serum_ml_per_session serum_cost_per_session cost_per_treatment",
    ),
}


# History queries are empty until a second crawl changes something (tests/test_history*.py).
MAY_BE_EMPTY = {"changes_since_last_run", "recent_price_drops"}


@pytest.mark.parametrize("name", list(CANNED_QUERIES))
def test_canned_query_runs_and_returns_its_documented_columns(ds, name):
    params, columns = CANNED_QUERIES[name]
    response = get(ds, f"/{SITE_DB_NAME}/{name}.json?{params}")
    assert response.status_code == 200, response.text[:500]
    data = response.json()
    assert data["ok"] is True
    assert data["columns"] == columns.split()
    if name not in MAY_BE_EMPTY:
        assert data["rows"], f"{name} returned no rows on the demo database"


def test_no_plugin_renders_cells_the_site_does_not_use(ds):
    """datasette-render-markdown (installed with datasette-dashboards) is not loaded: it looked its
    configuration up for every cell of every HTML table; our `*_markdown`-free cells are plain."""
    from datasette.plugins import pm

    cell_renderers = {hook.plugin_name for hook in pm.hook.render_cell.get_hookimpls()}
    assert "render_markdown" not in cell_renderers
    loaded = {name for name, plugin in pm.list_name_plugin() if plugin}
    assert "dashboards" in loaded and "atom" not in loaded  # the feed is serumscope_feed.py's
    page = get(ds, f"/{SITE_DB_NAME}/scores")
    assert page.status_code == 200


def test_every_canned_query_is_tested_and_titled():
    queries = SITE_METADATA["queries"]
    assert set(queries) == set(CANNED_QUERIES)
    for name, query in queries.items():
        assert query.get("title") and query.get("description"), name


def test_canned_queries_answer_what_they_promise(ds, site_db):
    picks = get(ds, f"/{SITE_DB_NAME}/best_picks.json?max_price_per_30ml=35&_shape=array").json()
    assert picks and all(p["verdict"] == "recommend" and p["price_per_30ml"] <= 35 for p in picks)
    assert [p["score"] for p in picks] == sorted((p["score"] for p in picks), reverse=True)

    avoid = get(ds, f"/{SITE_DB_NAME}/avoid_list.json?_shape=array").json()
    art_naturals = [row for row in avoid if "Art Naturals" in row["name"]]
    assert art_naturals and "percentage" in art_naturals[0]["reasons"].lower()

    compared = get(
        ds, f"/{SITE_DB_NAME}/compare.json?first=serumtologie&second=skin+solutions&_shape=array"
    ).json()
    names = " | ".join(row["name"] for row in compared)
    assert "Serumtologie" in names and "Skin Solutions" in names
    assert all(
        "serumtologie" in n.lower() or "skin solutions" in n.lower() for n in names.split(" | ")
    )

    contradictions = get(
        ds, f"/{SITE_DB_NAME}/percent_contradicts_inci_order.json?_shape=array"
    ).json()
    assert contradictions and all(row["active"] and row["reason"] for row in contradictions)


@pytest.mark.parametrize(
    "query",
    ['ferulic "acid', "ferulic OR NOT (", "NEAR(a b)", "col:ferulic", "*", "-", '"'],
)
def test_search_takes_fts_syntax_literally(ds, query):
    response = get(ds, f"/{SITE_DB_NAME}/search.json?" + httpx.QueryParams({"q": query}).__str__())
    assert response.status_code == 200, response.text[:300]


def test_search_lists_best_scores_first_and_unscored_last(ds):
    found = get(ds, f"/{SITE_DB_NAME}/search.json?q=aqua&_shape=array").json()
    scores = [row["score"] for row in found]
    scored = [score for score in scores if score is not None]
    assert scored and None in scores
    assert scores == sorted(scored, reverse=True) + [None] * (len(scores) - len(scored))


def test_search_finds_a_product_by_an_ingredient(ds, site_db):
    expected = rows(
        site_db, "select title from listings where ingredients_text like '%Ferulic%' limit 1"
    )[0]["title"]
    found = get(ds, f"/{SITE_DB_NAME}/search.json?q=ferulic&_shape=array").json()
    assert expected in [row["name"] for row in found]
    assert all(
        "ferulic" in (row["ingredients_match"] or "").lower() or "ferulic" in row["name"].lower()
        for row in found
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ferulic acid", '"ferulic" "acid"'),
        ('say "hello', '"say" "hello"'),
        ("a OR b", '"a" "OR" "b"'),
        ("", '""'),
        (None, '""'),
        ("  vitamin\tC  ", '"vitamin" "C"'),
    ],
)
def test_fts_query_quotes_every_term(text, expected):
    assert fts_query(text) == expected


def test_metadata_names_only_tables_and_columns_that_exist(site_db):
    db = open_db(site_db)
    existing = set(db.table_names()) | set(db.view_names())
    for table, config in SITE_METADATA["tables"].items():
        assert table in existing, f"metadata describes {table}, which does not exist"
        columns = {c.name for c in db[table].columns}
        described = set(config.get("columns", {}))
        assert described <= columns, f"{table}: described but missing {described - columns}"
        for facet in config.get("facets", []):
            column = facet if isinstance(facet, str) else next(iter(facet.values()))
            assert column in columns, f"{table}: facet on missing column {column}"
        for key in ("sort", "sort_desc", "label_column"):
            assert config.get(key) is None or config[key] in columns, (table, key)
        if "fts_table" in config:
            assert config["fts_table"] in existing
    for dashboard in METADATA["plugins"]["datasette-dashboards"].values():
        for chart in dashboard["charts"].values():
            assert chart["db"] == SITE_DB_NAME
    db.close()


def test_every_table_and_column_a_user_sees_is_described(site_db):
    db = open_db(site_db)
    visible = [
        name
        for name in db.table_names() + db.view_names()
        if not name.startswith((*SEARCH_TABLES, "sqlite_"))
    ]
    for name in visible:
        config = SITE_METADATA["tables"].get(name)
        assert config and config.get("description"), f"{name} has no description"
        missing = {c.name for c in db[name].columns} - set(config.get("columns", {}))
        assert not missing, f"{name}: columns without a description: {missing}"
    db.close()


def test_scores_has_one_row_per_listing_matching_its_evaluation(site_db):
    listings = rows(site_db, "select count(*) as n from listings")[0]["n"]
    scores = rows(site_db, "select count(*) as n, count(distinct listing_id) as ids from scores")[0]
    assert scores["n"] == scores["ids"] == listings
    mismatched = rows(
        site_db,
        """select s.listing_id from scores s join evaluations e
           on e.listing_id = s.listing_id and e.rubric = s.rubric
           where s.score is not e.score or s.verdict is not e.verdict
              or s.price_per_30ml is not e.price_per_30ml""",
    )
    assert mismatched == []


def test_scores_follow_new_evaluations_without_a_refresh(site_db, tmp_path):
    copy = tmp_path / "copy.db"
    shutil.copy(site_db, copy)
    db = open_db(copy)
    listing_id = db.execute(
        "select listing_id from scores where verdict = 'avoid' limit 1"
    ).fetchone()[0]
    db["evaluations"].update((listing_id, "post"), {"score": 99, "verdict": "recommend"})
    db["listings"].update(listing_id, {"title": "Renamed by the shop"})
    row = db.execute(
        "select score, verdict, name from scores where listing_id = ?", [listing_id]
    ).fetchone()
    assert row == (99, "recommend", "Renamed by the shop")
    db.close()


def test_coverage_counts_every_field_per_shop(site_db, ds):
    coverage = get(ds, f"/{SITE_DB_NAME}/coverage.json?_shape=array").json()
    shops = {row["shop"]: row for row in coverage}
    per_shop = rows(
        site_db, "select shop, count(*) as n from listings where gone_since is null group by shop"
    )
    assert {r["shop"]: r["n"] for r in per_shop} == {s: r["listings"] for s, r in shops.items()}
    for row in coverage:
        for field in ("ingredients", "vitamin_c_percent", "packaging", "size", "price"):
            assert row[f"{field}_read"] + row[f"{field}_unknown"] == row["candidates"], (row, field)
    assert any(row["ingredients_unknown"] or row["size_unknown"] for row in coverage)


def test_coverage_errors_leave_out_pages_skipped_by_robots_txt(site_db, ds):
    skipped = rows(
        site_db,
        "select shop, count(*) as n from crawl_errors where kind = 'robots'"
        " and run_id = (select max(id) from crawl_runs) group by shop",
    )
    assert skipped, "the demo retailer's robots.txt forbids a section the sitemap lists"
    coverage = get(ds, f"/{SITE_DB_NAME}/coverage.json?_shape=array").json()
    errors = {row["shop"]: row["errors_last_run"] for row in coverage}
    for row in skipped:
        assert errors[row["shop"]] == 0, (row, errors)


def test_site_cannot_write_to_the_database(ds):
    database = ds.get_database(SITE_DB_NAME)
    with pytest.raises(Exception, match="readonly|read-only"):
        asyncio.run(database.execute("delete from scores"))


def test_settings_are_deliberate(ds):
    settings = ds.settings_dict()
    assert settings["suggest_facets"] is False
    assert settings["sql_time_limit_ms"] <= 5000
    assert settings["max_returned_rows"] <= 1000
    assert settings["default_page_size"] <= 100


def doc_examples() -> list[str]:
    text = (REPO_ROOT / "docs" / "api.md").read_text()
    return re.findall(r"curl (?:'|\")(http://127\.0\.0\.1:8001/[^'\"]*)(?:'|\")", text)


def test_api_docs_have_the_promised_examples():
    examples = " ".join(doc_examples())
    for needle in (
        "price_per_30ml__lte=30",
        "breakdown",
        "_facet=",
        "_shape=array",
        "_next=",
        ".csv",
    ):
        assert needle in examples, needle


@pytest.mark.parametrize("url", doc_examples())
def test_api_doc_example_works(ds, site_db, url):
    if "sql=" in url:  # documented as needing `serumscope serve --allow-sql`
        ds = make_datasette(site_db, allow_sql=True)
    if "$next" in url:  # the documented recipe: the token comes from the first page's answer
        first_page = get(ds, url.removeprefix("http://127.0.0.1:8001").split("&_next=")[0])
        url = url.replace("$next", first_page.json()["next"])
    response = get(ds, url.removeprefix("http://127.0.0.1:8001"))
    assert response.status_code == 200, response.text[:300]
    assert response.text.strip()
    if "_shape=array" in url:
        assert response.json(), f"{url} answered an empty list on the demo"


def test_next_token_pages_through_scores(ds, site_db):
    seen = []
    path = f"/{SITE_DB_NAME}/scores.json?_sort_desc=score&_size=10&_nofacet=1"
    while path:
        data = get(ds, path).json()
        seen.extend(row[0] for row in data["rows"])
        path = data["next_url"] and data["next_url"].replace("http://localhost", "")
    assert len(seen) == len(set(seen)) == rows(site_db, "select count(*) as n from scores")[0]["n"]


def test_canned_query_pages_are_titled_by_their_title_not_their_sql(ds, site_db):
    page = get(ds, f"/{SITE_DB_NAME}/avoid_list").text
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1).strip()
    assert title == escape(SITE_METADATA["queries"]["avoid_list"]["title"]) + " · serumscope"
    arbitrary = get(make_datasette(site_db, allow_sql=True), f"/{SITE_DB_NAME}?sql=select+1").text
    assert "select 1" in re.search(r"<title>(.*?)</title>", arbitrary, re.S).group(1)


def test_scores_json_explains_every_verdict_with_its_red_flags(ds, site_db):
    scored = get(
        ds, f"/{SITE_DB_NAME}/scores.json?_shape=array&_size=max&verdict__not=not-scored"
    ).json()
    assert scored and all(row["verdict_reason"] for row in scored)
    flagged = {row["name"]: json.loads(row["red_flags"]) for row in scored}
    assert (
        "Fails an essential criterion"
        in flagged["Art Naturals Enhanced Vitamin C Serum with Hyaluronic Acid"]
    )
    radiance = next(row for row in scored if row["name"] == "Radiance 20 Vitamin C Serum")
    assert radiance["verdict"] == "avoid"
    assert "Stated percentage contradicted by its own ingredient order" in json.loads(
        radiance["red_flags"]
    )
    assert any("Clear packaging" in flags for flags in flagged.values())


def test_a_default_facet_asked_for_again_shows_once(ds):
    page = get(ds, f"/{SITE_DB_NAME}/scores?_facet=verdict&_facet=price_band").text
    assert page.count('id="facet-verdict"') == 1
    assert page.count('id="facet-price_band"') == 1


@pytest.mark.parametrize("value", ["abc", "12x", "nan", "inf"])
def test_a_canned_query_number_that_is_no_number_gets_a_message(ds, value):
    for suffix in ("", ".json"):
        response = get(ds, f"/{SITE_DB_NAME}/best_picks{suffix}?max_price_per_30ml={value}")
        assert response.status_code == 400
        assert "max_price_per_30ml must be a number" in response.text
    assert get(ds, f"/{SITE_DB_NAME}/best_picks.json?max_price_per_30ml=35").status_code == 200
