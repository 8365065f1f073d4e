"""The Datasette site, in-process (Datasette's test client) against a database crawled from the demo
shops and evaluated for real, plus one listing full of script and template payloads; and a smoke
test of a real `serumscope serve` process."""

from __future__ import annotations

import asyncio
import html
import json
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from conftest import wait_for_site
from datasette.utils import tilde_encode
from markupsafe import escape
from site_fixtures import XSS_LISTING_ID, XSS_TITLE, write_demo_site_database

from evaluator import load_rubric
from serumscope.paths import DATASETTE_DIR, REPO_ROOT
from serumscope.site import (
    SITE_DB_NAME,
    field_text,
    fts_query,
    highlighted_evidence,
    listing_path,
    make_datasette,
    safe_http_url,
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


@pytest.fixture(scope="module")
def site_db(demo_shops, tmp_path_factory) -> Path:
    return write_demo_site_database(demo_shops, tmp_path_factory.mktemp("site") / "site.db")


@pytest.fixture(scope="module")
def ds(site_db):
    return make_datasette(site_db)


def get(ds, path: str) -> httpx.Response:
    return asyncio.run(ds.client.get(path))


def rows(site_db: Path, sql: str, params=()) -> list[dict]:
    db = open_db(site_db)
    try:
        return list(db.query(sql, params))
    finally:
        db.close()


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


def test_home_page_shows_top_picks_and_how_scoring_works(ds, site_db):
    page = get(ds, "/")
    assert page.status_code == 200
    top = rows(  # one row per product: its best-scored listing
        site_db,
        "select name from (select *, row_number() over (partition by coalesce(product_id, "
        "listing_id) order by score desc, price_per_30ml, listing_id) as nth from scores "
        "where verdict = 'recommend' and gone_since is null and category = 'vitamin-c-serum') "
        "where nth = 1 order by score desc, price_per_30ml limit 10",
    )
    assert top
    assert 'href="/devices"' in page.text
    for pick in top:
        assert escape(pick["name"]) in page.text
    for criterion in load_rubric("post")["criteria"]:
        assert escape(criterion["title"]) in page.text


def test_no_listing_whose_ingredient_order_contradicts_a_percentage_is_recommended(ds, site_db):
    contradicted = rows(
        site_db,
        "select distinct s.listing_id, s.name, s.verdict from scores s "
        "join evaluations e on e.listing_id = s.listing_id and e.rubric = s.rubric "
        "join json_each(e.facts, '$.order_contradictions') c",
    )
    assert contradicted, "the demo data should hold a listing with a contradicted claim"
    assert all(row["verdict"] == "avoid" for row in contradicted), contradicted
    page = get(ds, "/").text
    for row in contradicted:
        assert escape(row["name"]) not in page.split('class="top-picks"')[-1].split("</section>")[0]


def test_scores_are_monotonic_in_verdict(ds):
    """Every "avoid" scores below every "consider", every "consider" below every "recommend"."""
    scored = get(ds, f"/{SITE_DB_NAME}/scores.json?_shape=array&_size=max&verdict__not=not-scored")
    ranges: dict[str, list[int]] = {}
    for row in scored.json():
        ranges.setdefault(row["verdict"], []).append(row["score"])
    assert set(ranges) == {"recommend", "consider", "avoid"}
    assert max(ranges["avoid"]) < min(ranges["consider"])
    assert max(ranges["consider"]) < min(ranges["recommend"])


def test_listing_page_shows_breakdown_with_marked_evidence_and_shop_link(ds, site_db):
    listing = rows(
        site_db,
        "select l.id, l.url, e.breakdown from listings l join evaluations e on e.listing_id = l.id "
        "where e.rubric = 'post' and l.title like 'Skin Solutions%'",
    )[0]
    page = get(ds, listing_path(listing["id"]))
    assert page.status_code == 200
    breakdown = json.loads(listing["breakdown"])
    for criterion in breakdown:
        assert escape(criterion["title"]) in page.text
        for evidence in criterion["evidence"]:
            assert f"<mark>{escape(evidence['text'])}</mark>" in page.text
    assert f'class="shop-link" href="{escape(listing["url"])}"' in page.text


def test_methodology_page_is_generated_from_every_rubric(ds):
    page = get(ds, "/methodology")
    assert page.status_code == 200
    for name in ("post", "extended"):
        rubric = load_rubric(name)
        assert escape(rubric["title"]) in page.text
        for criterion in rubric["criteria"]:
            assert f"<code>{criterion['id']}</code>" in page.text
            assert escape(criterion["why"]) in page.text


PAGES_SHOWING_THE_HOSTILE_LISTING = [
    "/",
    listing_path(XSS_LISTING_ID),
    f"/{SITE_DB_NAME}/scores?shop=hostile",
    f"/{SITE_DB_NAME}/listings?shop=hostile",
    f"/{SITE_DB_NAME}/search?q=tocopherol+ferulic",
    f"/{SITE_DB_NAME}/feed.atom",
]


@pytest.mark.parametrize("path", PAGES_SHOWING_THE_HOSTILE_LISTING)
def test_hostile_listing_stays_text(ds, path):
    page = get(ds, path)
    assert page.status_code == 200
    text = page.text
    assert "Evil" in text or "xss" in text  # the listing is on the page
    assert "<script>window.__xss" not in text
    assert "<img src=x onerror" not in text
    assert "<svg onload" not in text
    assert 'href="javascript:' not in text.replace(" ", "")
    assert "<b onmouseover" not in text
    assert "{{ 7*7 }}" in text  # template syntax is shown, never evaluated


def test_hostile_listing_page_shows_the_payload_literally(ds):
    page = get(ds, listing_path(XSS_LISTING_ID)).text
    assert escape(XSS_TITLE) in page
    assert "{{ 7*7 }}" in page and "{% if 1 %}tpl{% endif %}" in page
    assert "shop address not shown" in page


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://shop.example/p/1", True),
        ("http://127.0.0.1:8401/products/x", True),
        ("javascript:alert(1)", False),
        (" JavaScript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("data:text/html,<script>", False),
        ("//evil.example/x", False),
        ("/relative/path", False),
        ("https://", False),
        (None, False),
    ],
)
def test_only_http_urls_become_links(url, safe):
    assert (safe_http_url(url) is not None) is safe


def test_evidence_is_found_again_when_offsets_are_stale():
    source = "Made with 20% L-ascorbic acid in an amber bottle."
    exact = {"text": "amber bottle", "start": 36, "end": 48}
    assert ("amber bottle", True) in highlighted_evidence(source, exact)
    stale = {"text": "amber bottle", "start": 0, "end": 12}
    assert ("amber bottle", True) in highlighted_evidence(source, stale)
    gone = {"text": "clear bottle", "start": 0, "end": 12}
    assert highlighted_evidence(source, gone) == [("clear bottle", True)]


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_serve_process_answers(site_db, tmp_path):
    # `serve` rewrites its database before serving (scores, search index, statistics); on the module's
    # database that the other tests read through open read-only connections, that once left them
    # reading "database disk image is malformed". A copy, taken through SQLite so the WAL is in it.
    served = tmp_path / "served.db"
    with sqlite3.connect(site_db) as source, sqlite3.connect(served) as target:
        source.backup(target)
    site_db = served
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from serumscope.cli import cli; cli()",
            "serve",
            "--db",
            str(site_db),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_site(server, base)
        listing_id = rows(site_db, "select id from listings limit 1")[0]["id"]
        for path in ("/", listing_path(listing_id), f"/{SITE_DB_NAME}/scores.json"):
            response = httpx.get(base + path, timeout=10)
            assert response.status_code == 200, (path, response.text[:300])
        assert httpx.get(base + f"/{SITE_DB_NAME}/scores.json?_shape=array").json()
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture(scope="module")
def two_day_db(demo_shops, tmp_path_factory) -> Path:
    """Two unattended `serumscope run` cycles, day 1 then day 2 of the demo shops."""
    folder = tmp_path_factory.mktemp("two-days")
    sites, db_path = folder / "sites.toml", folder / "site.db"
    demo_shops.write_sites(sites)
    command = [sys.executable, "-c", "from serumscope.cli import cli; cli()", "run", "--quiet"]
    command += ["--sites", str(sites), "--db", str(db_path)]
    try:
        for day in (1, 2):
            demo_shops.set_day(day)
            subprocess.run(command, check=True, stdin=subprocess.DEVNULL, timeout=120)
    finally:
        demo_shops.set_day(1)
    return db_path


@pytest.fixture(scope="module")
def two_day_ds(two_day_db):
    return make_datasette(two_day_db)


def test_second_run_shows_in_the_change_queries(two_day_ds):
    changes = get(two_day_ds, f"/{SITE_DB_NAME}/changes_since_last_run.json?_shape=array").json()
    kinds = {row["change"] for row in changes}
    assert {"price", "ingredients"} <= kinds, kinds
    drops = get(two_day_ds, f"/{SITE_DB_NAME}/recent_price_drops.json?_shape=array").json()
    assert any("Daily C 15" in row["title"] for row in drops)
    assert all(float(row["new_price"]) < float(row["old_price"]) for row in drops)


def test_atom_feed_lists_price_drops_and_new_recommendations(two_day_ds):
    feed = get(two_day_ds, f"/{SITE_DB_NAME}/feed.atom")
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("application/xml")
    titles = re.findall(r"<title>([^<]*)</title>", feed.text)
    assert any(title.startswith("Price drop: ") and "Daily C 15" in title for title in titles)
    assert any(title.startswith("Recommended: ") for title in titles)
    links = re.findall(r'<link href="([^"]*)"', feed.text)
    assert any(link.startswith("http://localhost/listing/") for link in links)
    for link in links:
        assert link.startswith("http://localhost/"), link
    summaries = re.findall(r"<content[^>]*>([^<]*)</content>", feed.text)
    recommended = [s for s in summaries if s.startswith("Now scores")]
    assert recommended and all("per 30 mL" in s and "recommend line" in s for s in recommended)
    rows = get(two_day_ds, f"/{SITE_DB_NAME}/feed.json?_shape=array").json()
    dated = dict(
        re.findall(
            r"<entry>\s*<id>([^<]*)</id>\s*<title>[^<]*</title>\s*<updated>([^<]*)<", feed.text
        )
    )
    assert len(dated) == len(rows)
    for row in rows:  # each entry dated as its row, in UTC
        updated = datetime.fromisoformat(dated[row["atom_id"]])
        assert updated == datetime.fromisoformat(
            row["atom_updated"]
        ) and updated.utcoffset() == timedelta(0)


def feed_ids(ds) -> list[str]:
    return sorted(e["atom_id"] for e in get(ds, f"/{SITE_DB_NAME}/feed.json?_shape=array").json())


def test_atom_entry_ids_name_the_event_not_a_row_number(two_day_ds, two_day_db, tmp_path):
    ids = feed_ids(two_day_ds)
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"tag:serumscope,2026:[A-Za-z0-9~._/:-]+", i) for i in ids), ids
    drops = rows(two_day_db, "select variant_id, changed_at from price_drops")
    recommended = rows(two_day_db, "select listing_id, changed_at from new_recommendations")
    assert drops and recommended
    expected = {
        f"tag:serumscope,2026:price-drop/{tilde_encode(d['variant_id'])}/{d['changed_at']}"
        for d in drops
    } | {
        f"tag:serumscope,2026:recommend/{tilde_encode(r['listing_id'])}/{r['changed_at']}"
        for r in recommended
    }
    product_news = rows(
        two_day_db,
        "select * from product_events where event in ('new shop', 'now cheapest')",
    )
    assert product_news
    expected |= {
        f"tag:serumscope,2026:product/{e['product_id']}/{e['event'].replace(' ', '-')}/"
        f"{tilde_encode(e['listing_id'])}/{e['occurred_at']}"
        for e in product_news
    }
    assert set(ids) == expected
    # The same history with other row numbers (as a rebuilt database would have) keeps every id.
    renumbered = tmp_path / "renumbered.db"
    with sqlite3.connect(two_day_db) as source, sqlite3.connect(renumbered) as copy:
        source.backup(copy)
        for table in ("score_changes", "variant_history", "product_events"):
            copy.execute(f"update {table} set id = id + 1000000")
    assert feed_ids(make_datasette(renumbered)) == ids


def test_listing_page_charts_its_price_history(two_day_ds, two_day_db):
    listing_id = rows(two_day_db, "select listing_id from price_drops limit 1")[0]["listing_id"]
    page = get(two_day_ds, listing_path(listing_id)).text
    assert 'id="price-chart"' in page
    history = json.loads(html.unescape(re.search(r'data-history="([^"]*)"', page).group(1)))
    assert len(history) >= 2 and history[-1]["price"] < history[-2]["price"]


def test_search_finds_a_listing_new_on_day_two_without_a_manual_refresh(two_day_ds):
    found = get(two_day_ds, f"/{SITE_DB_NAME}/search.json?q=firming+ampoule&_shape=array").json()
    assert "C Firming Ampoule 18%" in [row["name"] for row in found]
    # the trigram index of names, rebuilt with the search index as the crawl ended
    compared = get(two_day_ds, f"/{SITE_DB_NAME}/compare.json?first=firming+amp&_shape=array")
    assert "C Firming Ampoule 18%" in [row["name"] for row in compared.json()]


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("description", "Packed in amber glass."),
        ("image_alts[1]", "back label"),
        ("image_alts[5]", None),
        ("variants[1].price", "30.00"),
        ("variants[0].available", None),
        ("variants[9].price", None),
        ("title.x", None),
        ("__class__", None),
        (None, None),
    ],
)
def test_field_text_follows_evidence_paths(field, expected):
    listing = {
        "description": "Packed in amber glass.",
        "image_alts": '["front", "back label"]',
        "title": "Serum",
    }
    variants = [{"price": "20.00", "available": 1}, {"price": "30.00"}]
    assert field_text(listing, variants, field) == expected


@pytest.mark.slow
def test_demo_command_crawls_scores_and_serves(tmp_path):
    port = free_port()
    demo = subprocess.Popen(
        [sys.executable, "-c", "from serumscope.cli import cli; cli()", "demo"]
        + ["--port", str(port), "--db", str(tmp_path / "demo.db")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert demo.poll() is None, demo.stderr.read()
            try:
                home = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serumscope demo did not serve within a minute"
                time.sleep(0.3)
        assert home.status_code == 200
        assert home.text.count('<span class="score verdict-recommend">') >= 3
        scores = httpx.get(f"http://127.0.0.1:{port}/{SITE_DB_NAME}/scores.json?_shape=array")
        assert len(scores.json()) >= 40
    finally:
        demo.send_signal(signal.SIGINT)
        output = demo.communicate(timeout=30)[1]
    assert f"http://127.0.0.1:{port}/" in output
    for platform in ("shopify", "woocommerce", "retailer"):
        assert re.search(rf"demo shop \({platform}\): http://127\.0\.0\.1:\d+", output), output
    assert demo.returncode == 0, output


def test_custom_pages_honour_a_locked_down_instance(site_db):
    from datasette.app import Datasette
    from datasette.database import Database

    from serumscope.site import SETTINGS

    locked = Datasette(
        config_dir=DATASETTE_DIR, metadata={**METADATA, "allow": False}, settings=SETTINGS
    )
    locked.add_database(Database(locked, path=str(site_db), is_mutable=True), name=SITE_DB_NAME)
    listing_id = rows(site_db, "select id from listings where is_candidate = 1 limit 1")[0]["id"]
    for path in ("/", "/methodology", listing_path(listing_id)):
        assert get(locked, path).status_code == 403, path


def test_stock_the_shop_did_not_state_shows_as_unknown(site_db, tmp_path):
    copy = tmp_path / "copy.db"
    shutil.copy(site_db, copy)
    db = open_db(copy)
    listing_id = rows(copy, "select id from listings where is_candidate = 1 limit 1")[0]["id"]
    db.execute("update variants set available = null where listing_id = ?", [listing_id])
    db.conn.commit()
    db.close()
    page = get(make_datasette(copy), listing_path(listing_id)).text
    stock_cells = re.findall(r'<td data-label="In stock">(yes|no|unknown)</td></tr>', page)
    assert stock_cells and set(stock_cells) == {"unknown"}
    assert re.search(r"<dt>In stock</dt><dd>unknown</dd>", page)


def test_canned_query_pages_are_titled_by_their_title_not_their_sql(ds, site_db):
    page = get(ds, f"/{SITE_DB_NAME}/avoid_list").text
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1).strip()
    assert title == escape(SITE_METADATA["queries"]["avoid_list"]["title"]) + " · serumscope"
    arbitrary = get(make_datasette(site_db, allow_sql=True), f"/{SITE_DB_NAME}?sql=select+1").text
    assert "select 1" in re.search(r"<title>(.*?)</title>", arbitrary, re.S).group(1)


def test_avoid_list_reasons_read_as_sentences(ds):
    avoid = get(ds, f"/{SITE_DB_NAME}/avoid_list.json?_shape=array").json()
    assert avoid
    for row in avoid:
        assert ".;" not in (row["reasons"] or "") and "known use limit of" not in (
            row["reasons"] or ""
        )


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


def test_listing_page_and_top_picks_show_the_reason_and_red_flags(ds, site_db):
    radiance = rows(
        site_db,
        "select e.listing_id, e.verdict_reason, e.red_flags from evaluations e "
        "join listings l on l.id = e.listing_id "
        "where e.rubric = 'post' and l.title = 'Radiance 20 Vitamin C Serum'",
    )[0]
    page = get(ds, listing_path(radiance["listing_id"])).text
    summary = page.split('class="verdict-summary"')[1].split("</section>")[0]
    assert escape(radiance["verdict_reason"]) in summary
    for flag in json.loads(radiance["red_flags"]):
        assert escape(flag["label"]) in summary and escape(flag["detail"]) in summary
    home = get(ds, "/").text.split('class="top-picks"')[1].split("</section>")[0]
    picks = rows(
        site_db,
        "select verdict_reason from scores where verdict = 'recommend' and gone_since is null "
        "order by score desc, price_per_30ml limit 10",
    )
    assert home.count('class="verdict-reason"') == len(picks)
    assert home.count('class="red-flags') == len(picks)
    for pick in picks:
        assert escape(pick["verdict_reason"]) in home


@pytest.mark.parametrize("table", ["variants", "evaluations", "actives", "ingredients"])
def test_listing_id_cells_link_to_the_listing_page(ds, table):
    page = get(ds, f"/{SITE_DB_NAME}/{table}?_size=5").text
    cells = re.findall(r'<td class="col-listing_id[^"]*"><a href="([^"]+)"[^>]*>([^<]*)</a>', page)
    assert len(cells) == 5, page[:2000]
    for href, text in cells:
        assert href.startswith("/listing/") and "value" not in text and "{" not in href
        assert get(ds, html.unescape(href)).status_code == 200, href


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


def test_home_page_says_when_its_data_is_from(ds, site_db):
    finished = rows(site_db, "select max(finished_at) as at from crawl_runs where status = 'ok'")[
        0
    ]["at"]
    assert finished
    page = get(ds, "/").text
    assert f'Data as of <time datetime="{finished}">' in page


def test_every_ingredient_role_names_an_ingredient_the_vocabulary_knows():
    from evaluator.vocab import ingredient_roles, ingredients, lookup_key

    known = ingredients().by_key
    unknown = [name for name in ingredient_roles() if lookup_key(name) not in known]
    assert unknown == []
    assert ingredient_roles()["phenoxyethanol"] == "preservative"
    assert ingredient_roles()["ascorbic acid"] == "vitamin C"


def test_listing_page_names_evidence_fields_in_words_with_one_snippet_per_field(ds, site_db):
    listing_id = rows(site_db, "select id from listings where title like 'Skin Solutions%'")[0][
        "id"
    ]
    page = get(ds, listing_path(listing_id)).text
    post = page.split('id="rubric-post"')[1].split("</section>")[0]
    for criterion in post.split('<div class="criterion"')[1:]:
        fields = re.findall(r'<span class="field-name">([^<]*):</span>', criterion)
        assert len(fields) == len(set(fields)), fields  # one snippet per field
    assert "first variant&#39;s price:" in post or "first variant's price:" in post
    assert "variants[0]" not in post and "image_alts[" not in post


# --- Micro-needling devices (issue 14) ----------------------------------------------------------


def test_devices_page_shows_device_top_picks_filters_and_the_length_chart(ds, site_db):
    page = get(ds, "/devices")
    assert page.status_code == 200
    top = rows(
        site_db,
        "select name from scores where category = 'micro-needling-device' and gone_since is null"
        " and score is not null order by score desc, price_per_use is null, price_per_use, name"
        " limit 10",
    )
    assert len(top) == 10
    shown = re.findall(r'<a href="/listing/[^"]+">([^<]+)</a>', page.text.split("</table>")[0])
    assert shown == [escape(pick["name"]) for pick in top]
    serums = rows(site_db, "select name from scores where category = 'vitamin-c-serum'")
    assert not any(escape(s["name"]) in page.text for s in serums)
    assert 'action="/serumscope/find_device"' in page.text
    for name in ("min_length", "max_length", "material", "device_type"):
        assert f'name="{name}"' in page.text
    assert ">stainless steel</option>" in page.text and ">electric pen</option>" in page.text
    chart = load_rubric("devices")["criteria"][0]["chart"]
    for row in chart:
        assert escape(row["purpose"]) in page.text
    assert "0.5 mL" in page.text  # the home kit's assumption, said on the page


def test_find_device_filters_by_length_material_and_type(ds):
    def found(params: str) -> list[dict]:
        return get(ds, f"/{SITE_DB_NAME}/find_device.json?{params}&_shape=array").json()

    everything = found("")
    assert len(everything) >= 15
    home = found("max_length=1.0")
    assert home and len(home) < len(everything)
    assert all(min(json.loads(d["needle_lengths_mm"])) <= 1.0 for d in home)
    long_ones = found("min_length=1.5")
    assert long_ones and all(max(json.loads(d["needle_lengths_mm"])) >= 1.5 for d in long_ones)
    titanium = found("material=titanium")
    assert titanium and {d["needle_material"] for d in titanium} == {"titanium"}
    stamps = found("device_type=stamp")
    assert stamps and {d["device_type"] for d in stamps} == {"stamp"}
    assert found("device_type=stamp&material=titanium") == []
    assert get(ds, f"/{SITE_DB_NAME}/find_device.json?max_length=abc").status_code == 400


def _device_id(site_db, title: str) -> str:
    (row,) = rows(site_db, "select id from listings where title = ?", [title])
    return row["id"]


def test_a_device_listing_page_shows_device_facts_evidence_and_home_kits(ds, site_db):
    device = _device_id(site_db, "3-in-1 Derma Roller Kit 0.5mm/1.0mm/1.5mm")
    page = get(ds, listing_path(device))
    assert page.status_code == 200
    text = page.text
    facts = text.split('<dl class="facts device-facts">')[1].split("</dl>")[0]
    for label, value in [
        ("Device", "roller"),
        ("Needle length", "0.5 mm, 1 mm, 1.5 mm"),
        ("Needle material", "titanium"),
        ("Needle count", "540"),
        ("Sterile packaging", "not stated"),
        ("Replaceable heads", "yes"),
        ("Price per use", "US$0.24"),
    ]:
        assert f"<dt>{label}</dt><dd>{value}" in facts, label
    assert "Vitamin C</dt>" not in text and "<h2>Ingredients</h2>" not in text
    assert 'id="rubric-devices"' in text.split("other-rubrics")[0]  # the devices rubric first
    assert "<mark>1.5 mm</mark>" in text or "<mark>1.5mm</mark>" in text
    assert "for a professional" in text
    kits = rows(
        site_db, "select * from home_kits where device_id = ? order by serum_rank", [device]
    )
    assert len(kits) == 3
    section = text.split('id="home-kit"')[1]
    for kit in kits:
        assert escape(kit["serum"]) in section
        assert f"US${kit['cost_per_treatment']:.2f}" in section
        assert kit["cost_per_treatment"] == pytest.approx(
            kit["device_price_per_use"] + kit["serum_price_per_30ml"] / 30 * 0.5, abs=0.01
        )
    assert "Assumption:" in section and "0.5 mL" in section


def test_home_kits_pair_home_use_devices_with_the_best_recommended_serums(ds, site_db):
    kits = get(ds, f"/{SITE_DB_NAME}/home_kit.json?_shape=array&_size=max").json()
    best = rows(
        site_db,
        "select listing_id from scores where category = 'vitamin-c-serum' and verdict = 'recommend'"
        " and gone_since is null and price_per_30ml is not null"
        " order by score desc, price_per_30ml, listing_id limit 3",
    )
    devices = {kit["device_id"] for kit in kits}
    assert len(devices) >= 10
    for device in devices:
        serums = [k["serum_id"] for k in kits if k["device_id"] == device]
        assert serums == [b["listing_id"] for b in best]
    body_only = _device_id(site_db, "Body Derma Roller 1.5mm - 1200 Needles")
    assert body_only not in devices  # 1.5 mm only: no home use, no home kit
    page = get(ds, listing_path(body_only)).text
    assert "No home kit" in page
    one = get(ds, f"/{SITE_DB_NAME}/home_kit.json?_shape=array&device={kits[0]['device_id']}")
    assert {k["device_id"] for k in one.json()} == {kits[0]["device_id"]}


def test_methodology_page_charts_needle_lengths_against_purpose(ds):
    page = get(ds, "/methodology").text
    devices = page.split('id="rubric-devices"')[1].split("</section>")[0]
    assert 'class="length-chart"' in devices
    for row in load_rubric("devices")["criteria"][0]["chart"]:
        assert escape(row["purpose"]) in devices and escape(row["frequency"]) in devices
    assert "not a micro-needling device" in devices
    assert "0.5 mL" in devices
