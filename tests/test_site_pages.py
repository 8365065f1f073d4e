"""The site's pages (home, listing, methodology, find) as a visitor reads them: evidence, reasons and red
flags, a listing full of script and template payloads kept as text, and a real `serumscope serve`
process and `serumscope demo`."""

from __future__ import annotations

import html
import json
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest
from conftest import free_port, wait_for_site
from markupsafe import escape
from site_fixtures import XSS_LISTING_ID, XSS_TITLE, get, rows

from evaluator import load_rubric
from serumscope.paths import DATASETTE_DIR
from serumscope.site import (
    SITE_DB_NAME,
    field_text,
    highlighted_evidence,
    listing_path,
    make_datasette,
    safe_http_url,
    site_metadata,
)
from serumscope.store.database import open_db

METADATA = site_metadata()


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


def test_avoid_list_reasons_read_as_sentences(ds):
    avoid = get(ds, f"/{SITE_DB_NAME}/avoid_list.json?_shape=array").json()
    assert avoid
    for row in avoid:
        assert ".;" not in (row["reasons"] or "") and "known use limit of" not in (
            row["reasons"] or ""
        )


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
