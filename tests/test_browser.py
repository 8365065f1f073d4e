"""The site in Debian's chromium, driven by Playwright, against a real `serumscope serve` process
serving the demo shops' crawl plus one listing full of script and template payloads.

Screenshots land in each test's temporary directory (pytest prints it on failure).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import wait_for_site
from site_fixtures import XSS_LISTING_ID, XSS_TITLE, write_demo_site_database

from serumscope.site import SITE_DB_NAME, listing_path
from serumscope.store.database import open_db
from serumscope.store.site import SCORES

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def site_db(demo_shops, tmp_path_factory) -> Path:
    return write_demo_site_database(demo_shops, tmp_path_factory.mktemp("browser") / "site.db")


@pytest.fixture(scope="module")
def site_url(site_db):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-c", "from serumscope.cli import cli; cli()", "serve"]
        + ["--db", str(site_db), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    wait_for_site(server, base)
    yield base
    server.terminate()
    server.wait(10)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, site_url, tmp_path):
    """A fresh page that records dialogs and page errors, and takes a screenshot when done."""
    context = browser.new_context(base_url=site_url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.dialogs = []
    page.errors = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on(
        "console",
        lambda message: page.errors.append(message.text) if message.type == "error" else None,
    )
    yield page
    page.screenshot(path=str(tmp_path / "last.png"), full_page=True)
    context.close()


def query(site_db: Path, sql: str, *params) -> list[dict]:
    db = open_db(site_db)
    try:
        return list(db.query(sql, params))
    finally:
        db.close()


def test_home_page_shows_the_demo_top_picks(page: Page, site_db, tmp_path):
    page.goto("/")
    picks = page.locator("section.top-picks tbody tr")
    expected = query(  # one row per product: its best-scored listing
        site_db,
        "select name from (select *, row_number() over (partition by coalesce(product_id, "
        "listing_id) order by score desc, price_per_30ml, listing_id) as nth from scores "
        "where verdict = 'recommend' and gone_since is null and category = 'vitamin-c-serum') "
        "where nth = 1 order by score desc, price_per_30ml limit 10",
    )
    expect(picks).to_have_count(len(expected))
    shown = [row.locator("td").nth(1).locator("a").inner_text() for row in picks.all()]
    assert shown == [pick["name"] for pick in expected]
    page.screenshot(path=str(tmp_path / "home.png"), full_page=True)


def test_product_page_lists_every_shop_and_listing_pages_link_to_it(page: Page, site_db):
    product = query(site_db, "select id, shops from products where shops = 3 limit 1")[0]
    offers = query(
        site_db,
        "select listing_id, shop from offers where product_id = ? order by rank",
        product["id"],
    )
    page.goto(listing_path(offers[-1]["listing_id"]))
    also = page.locator("section.also-sold-at")
    expect(also.locator("h2")).to_have_text("Also sold at")
    expect(also.locator("tbody tr")).to_have_count(len({o["listing_id"] for o in offers}) - 1)
    also.locator("a.product-link").click()
    expect(page).to_have_url(re.compile(f"/product/{product['id']}$"))
    rows = page.locator("table.offers-table tbody tr")
    expect(rows).to_have_count(len(offers))
    expect(rows.first).to_have_class("best-offer")
    assert [r.locator("td").first.locator("a").first.inner_text() for r in rows.all()] == [
        o["shop"] for o in offers
    ]


def test_reason_and_red_flags_are_visible_on_a_listing_page_and_beside_top_picks(
    page: Page, site_db, tmp_path
):
    radiance = query(
        site_db,
        "select listing_id, verdict_reason, red_flags from scores "
        "where name = 'Radiance 20 Vitamin C Serum'",
    )[0]
    page.goto(listing_path(radiance["listing_id"]))
    summary = page.locator("section.verdict-summary")
    expect(summary.locator(".verdict-reason")).to_have_text(radiance["verdict_reason"])
    expect(summary.locator(".verdict")).to_have_text("avoid")
    flags = summary.locator("li.red-flag")
    expect(flags).to_have_count(len(json.loads(radiance["red_flags"])))
    expect(flags.filter(has_text="contradicted by its own ingredient order")).to_be_visible()
    assert (
        summary.bounding_box()["y"] < page.locator("section.evaluation").first.bounding_box()["y"]
    )
    page.screenshot(path=str(tmp_path / "listing-summary.png"), full_page=True)

    page.goto("/")
    picks = page.locator("section.top-picks tbody tr")
    assert picks.count() > 0
    for pick in picks.all():
        expect(pick.locator(".verdict-reason")).to_be_visible()
        expect(pick.locator(".verdict-reason")).to_contain_text("recommend")
        expect(pick.locator(".red-flags")).to_be_visible()
    assert page.errors == []


def test_clicking_a_facet_filters_the_scores(page: Page, site_db, tmp_path):
    page.goto(f"/{SITE_DB_NAME}/scores")
    page.locator("#facet-verdict a", has_text=re.compile(r"^avoid$")).first.click()
    page.wait_for_url(re.compile(r"verdict=avoid"))
    verdicts = page.locator("td.col-verdict").all_inner_texts()
    expected = query(site_db, "select count(*) as n from scores where verdict = 'avoid'")[0]["n"]
    assert len(verdicts) == expected > 0
    assert set(verdicts) == {"avoid"}
    page.screenshot(path=str(tmp_path / "facet.png"), full_page=True)


def test_the_scores_column_menu_hides_a_column_and_shows_every_column(page: Page):
    page.goto(f"/{SITE_DB_NAME}/scores")  # the shopper's columns
    columns = page.locator("table.rows-and-columns thead th")
    opening = columns.count()
    assert opening < len(SCORES.columns)
    page.locator('th[data-column="shop"] svg').click()
    page.locator("a.dropdown-hide-column").click()
    page.wait_for_url(re.compile(r"_nocol=shop"))
    expect(columns).to_have_count(opening - 1)
    page.locator('th[data-column="score"] svg').click()
    page.locator("a.dropdown-show-all-columns").click()
    page.wait_for_url(re.compile(r"_col=verdict_reason"))
    expect(columns).to_have_count(len(SCORES.columns))
    expect(page.locator('th[data-column="shop"]')).to_have_count(1)
    assert page.errors == []


def test_listing_page_shows_the_breakdown_with_evidence(page: Page, site_db, tmp_path):
    listing = query(site_db, "select id, url from listings where title like 'Skin Solutions%'")[0]
    page.goto(listing_path(listing["id"]))
    rows = page.locator("#rubric-post .criterion")
    expect(rows).to_have_count(3)
    expect(page.locator("#rubric-extended")).to_be_hidden()  # the other rubric, behind a click
    for quote in page.locator("#rubric-post blockquote.evidence").all():  # one snippet per field
        criterion_fields = quote.locator("xpath=..").locator(".field-name").all_inner_texts()
        assert len(criterion_fields) == len(set(criterion_fields)), criterion_fields
    expect(
        page.locator("#rubric-post .field-name", has_text="first variant's price")
    ).to_have_count(1)
    expect(page.locator("ol.inci li", has_text="Phenoxyethanol")).to_contain_text("preservative")
    marks = page.locator("#rubric-post blockquote.evidence mark")
    assert marks.count() >= 3
    for text in marks.all_inner_texts():
        assert text.strip()
    expect(page.locator("a.shop-link")).to_have_attribute("href", listing["url"])
    chart = page.locator("#price-chart svg, #price-chart canvas").first
    chart.wait_for(state="visible", timeout=15000)
    assert chart.bounding_box()["height"] > 100
    assert page.errors == []
    page.screenshot(path=str(tmp_path / "listing.png"), full_page=True)


def test_search_finds_a_product_by_an_ingredient(page: Page, tmp_path):
    page.goto("/")
    page.fill("#q", "ferulic")
    page.click("section.search input[type=submit]")
    page.wait_for_url(re.compile(r"/search\?q=ferulic"))
    names = page.locator("td.col-name").all_inner_texts()
    assert any("Skin Solutions" in name for name in names), names
    page.screenshot(path=str(tmp_path / "search.png"), full_page=True)


def test_charts_render(page: Page, site_db, tmp_path):
    points = query(  # a point per score, verdict and price per 30 mL to the dollar
        site_db,
        "select count(*) as n from (select distinct score, verdict, round(price_per_30ml)"
        " from scores where score is not null and price_per_30ml is not null"
        " and gone_since is null)",
    )[0]["n"]
    bars = query(
        site_db,
        "select count(*) as n from (select distinct shop, verdict from scores "
        "where verdict is not null and gone_since is null)",
    )[0]["n"]
    page.goto("/-/dashboards/overview")
    for chart, mark, expected in (
        ("score-vs-price", "symbol", points),
        ("verdicts-per-shop", "rect", bars),
    ):
        svg = page.locator(f"#chart-{chart} svg").first
        svg.wait_for(state="visible", timeout=15000)
        box = svg.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100
        drawn = page.locator(f"#chart-{chart} svg g.mark-{mark}.role-mark path")
        expect(drawn).to_have_count(expected)
        assert expected > 3
    assert page.errors == []
    page.screenshot(path=str(tmp_path / "charts.png"), full_page=True)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        listing_path(XSS_LISTING_ID),
        f"/{SITE_DB_NAME}/scores?shop=hostile",
        f"/{SITE_DB_NAME}/listings?shop=hostile",
        f"/{SITE_DB_NAME}/search?q=tocopherol",
        f"/{SITE_DB_NAME}/listings/{XSS_LISTING_ID.replace(':', '~3A')}",
    ],
)
def test_hostile_listing_is_inert(page: Page, path, tmp_path):
    page.goto(path)
    page.wait_for_load_state("networkidle")
    for element in page.locator("b, td, a, h1").all()[:200]:
        if "Evil" in (element.text_content() or ""):
            element.hover()
            break
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.dialogs == []
    assert page.locator("a[href^='javascript:' i]").count() == 0
    assert page.locator("img[src='x'], svg[onload], b[onmouseover]").count() == 0
    assert "{{ 7*7 }}" in page.content() or "{{ 7*7 }}" in page.inner_text("body")
    page.screenshot(path=str(tmp_path / "hostile.png"), full_page=True)


def test_hostile_title_shows_as_literal_text(page: Page):
    page.goto(listing_path(XSS_LISTING_ID))
    expect(page.locator("h1.listing-title")).to_have_text(XSS_TITLE)
    for link in page.locator("a").all():
        href = link.get_attribute("href") or ""
        assert not href.strip().lower().startswith("javascript:"), href


@pytest.mark.parametrize("table", ["variants", "evaluations", "actives", "ingredients"])
def test_listing_id_links_of_every_table_open_the_listing(page: Page, table, tmp_path):
    page.goto(f"/{SITE_DB_NAME}/{table}?_size=3")
    link = page.locator("td.col-listing_id a").first
    name = link.inner_text()
    assert "{" not in name and "value" not in name
    link.click()
    page.wait_for_url(re.compile(r"/listing/"))
    expect(page.locator("h1.listing-title")).to_have_text(name)
    assert page.errors == []


def listing_ids(site_db, names: list[str]) -> list[str]:
    return [
        query(site_db, "select listing_id from scores where name like ?", name)[0]["listing_id"]
        for name in names
    ]


def test_compare_shows_three_listings_side_by_side(page: Page, site_db, tmp_path):
    page.goto(f"/{SITE_DB_NAME}/scores")
    names = ["Skin Solutions%", "Serumtologie%", "Radiance 20%"]
    ids = listing_ids(site_db, names)
    for listing_id in ids:
        page.locator(f"input.compare-pick[value='{listing_id}']").check()
    page.locator("#compare button").click()
    page.wait_for_url(re.compile(r"/compare\?"))
    headers = page.locator("table.compare-table thead th")
    expect(headers).to_have_count(3)
    boxes = [header.bounding_box() for header in headers.all()]
    assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]  # side by side, not stacked
    assert len({round(box["y"]) for box in boxes}) == 1
    expect(page.locator("table.compare-table tr.row-label", has_text="Red flags")).to_have_count(1)
    evidence = page.locator("details.evidence-details").first
    expect(evidence.locator("blockquote.evidence").first).to_be_hidden()
    evidence.locator("summary").click()
    expect(evidence.locator("blockquote.evidence").first).to_be_visible()
    linked = page.url
    page.goto(linked)  # the URL alone brings the same comparison back
    expect(page.locator("table.compare-table thead th")).to_have_count(3)
    assert page.errors == []
    page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)


def test_home_page_checkboxes_open_compare(page: Page):
    page.goto("/")
    picks = page.locator("section.top-picks input.compare-pick")
    assert picks.count() >= 2
    picks.nth(0).check()
    picks.nth(1).check()
    page.locator("#compare button").click()
    page.wait_for_url(re.compile(r"/compare\?"))
    expect(page.locator("table.compare-table thead th")).to_have_count(2)


def test_shopper_filters_find_serums_and_put_unknown_prices_last(page: Page, site_db):
    page.goto(f"/{SITE_DB_NAME}/find")
    expect(page.locator("pre#sql-query")).to_have_count(0)  # SQL hidden, behind "show SQL"
    expect(page.locator(".show-hide-sql a")).to_be_visible()
    page.fill("input[name=max_price]", "40")
    page.check("input[name=in_stock]")
    page.select_option("select[name=sort]", "price")
    page.click("form.shopper-filters input[type=submit]")
    page.wait_for_url(re.compile(r"max_price=40"))
    prices = [float(p) for p in page.locator("td.col-price_per_30ml").all_inner_texts()]
    assert prices and prices == sorted(prices) and max(prices) <= 40
    page.goto(f"/{SITE_DB_NAME}/find?sort=price")
    cells = page.locator("td.col-price_per_30ml").all_inner_texts()
    known = [cell for cell in cells if cell.strip()]
    assert cells[: len(known)] == known  # unknown prices after every known one
    assert page.errors == []


def test_scores_table_puts_the_shopper_columns_first(page: Page):
    page.goto(f"/{SITE_DB_NAME}/scores")
    headers = page.locator("table.rows-and-columns thead th").all_inner_texts()
    first = [header.replace("\xa0▲", "").replace("\xa0▼", "").strip() for header in headers[:4]]
    assert first == ["name", "score", "verdict", "price_per_30ml"]
    expect(page.locator("dl.column-descriptions")).to_be_hidden()
    expect(page.locator("details.column-help dl")).to_be_hidden()
    page.locator("details.column-help summary").click()
    expect(page.locator("details.column-help dl")).to_be_visible()


PHONE_PAGES = [
    "/",
    f"/{SITE_DB_NAME}/scores",
    "listing",
    "compare",
    "/methodology",
    f"/{SITE_DB_NAME}/find",
    "/devices",
    "device",
    f"/{SITE_DB_NAME}/find_device?max_length=1",
]


@pytest.mark.parametrize("path", PHONE_PAGES)
def test_no_sideways_scroll_on_a_phone(browser, site_url, site_db, path, tmp_path):
    ids = listing_ids(site_db, ["Skin Solutions%", "Serumtologie%", "Radiance 20%"])
    path = {
        "listing": listing_path(ids[0]),
        "compare": "/compare?" + "&".join(f"id={i}" for i in ids),
        "device": listing_path(listing_ids(site_db, ["3-in-1 Derma Roller Kit%"])[0]),
    }.get(path, path)
    context = browser.new_context(base_url=site_url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{path} is {width} px wide at a 390 px viewport"
    assert errors == []
    context.close()


def test_devices_page_leads_from_the_home_page_to_a_device_and_its_home_kit(page: Page, site_db):
    page.goto("/")
    page.locator("section.devices-link a", has_text="the devices").click()
    expect(page).to_have_url(re.compile(r"/devices$"))
    picks = page.locator("section.device-top-picks tbody tr")
    expected = query(
        site_db,
        "select name from scores where category = 'micro-needling-device' and gone_since is null"
        " and score is not null order by score desc, price_per_use is null, price_per_use, name"
        " limit 10",
    )
    expect(picks).to_have_count(len(expected))
    expect(page.locator("figure.length-chart tbody tr")).to_have_count(4)
    expect(page.locator("figure.length-chart")).to_contain_text("for a professional")
    picks.first.locator("td").nth(1).locator("a").click()
    expect(page.locator("h1.listing-title")).to_have_text(expected[0]["name"])
    facts = page.locator("dl.device-facts")
    expect(facts).to_contain_text("Needle length")
    expect(facts).to_contain_text("Price per use")
    expect(page.locator("dl.facts", has_text="Vitamin C")).to_have_count(0)
    kits = page.locator("section.home-kit tbody tr")
    expect(kits).to_have_count(3)
    expect(page.locator("section.home-kit .assumption")).to_contain_text("0.5 mL")
    kits.first.locator("a").click()
    expect(page.locator("dl.facts")).to_contain_text("Vitamin C")


def test_device_filters_narrow_the_devices(page: Page, site_db):
    page.goto("/devices")
    page.locator("select[name=material]").select_option("titanium")
    page.locator("input[name=max_length]").fill("1")
    page.locator("section.device-filters input[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/serumscope/find_device\?"))
    expected = query(
        site_db,
        "select name from scores where category = 'micro-needling-device' and gone_since is null"
        " and score is not null and needle_material = 'titanium'"
        " and (select min(value) from json_each(needle_lengths_mm)) <= 1",
    )
    rows = page.locator("table.rows-and-columns tbody tr")
    expect(rows).to_have_count(len(expected))
    assert expected
