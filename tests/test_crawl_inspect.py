"""`serumscope inspect` shows what `serumscope crawl` stores: every listing a real crawl of the demo
shops stored is inspected by its URL and compared field by field; robots.txt is obeyed."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner
from conftest import crawl_demo_shops

from crawler.platforms.woocommerce import API_PATH
from serumscope.cli import cli
from serumscope.demo import build_catalog
from serumscope.demo.retailer import DISALLOWED_SECTION

COMPARED = ("title", "brand", "ingredients_text", "is_candidate", "relevance_reason", "input_hash")
COMPARED_VARIANT = ("price", "currency", "size_text", "regular_price", "available")


def compared(listing: dict) -> dict:
    fields = {name: listing[name] for name in COMPARED}
    fields["variants"] = [{name: v[name] for name in COMPARED_VARIANT} for v in listing["variants"]]
    return fields


@pytest.fixture(scope="module")
def stored(demo_shops, tmp_path_factory):
    """Every listing a crawl of the demo shops stored, with its current variants, by platform."""
    _, db, _ = crawl_demo_shops(demo_shops, tmp_path_factory.mktemp("inspect_crawl"))
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        listings = []
        for row in conn.execute("select * from listings order by id"):
            listing = dict(row)
            listing["variants"] = [
                dict(v)
                for v in conn.execute(
                    "select * from variants where listing_id = ? and gone_since is null"
                    " order by position",
                    [row["id"]],
                )
            ]
            listings.append(listing)
    return listings


def inspect_url(listing: dict, base_urls: dict[str, str]) -> str:
    """The URL a user gives inspect for a stored listing: the Store API product for WooCommerce."""
    if listing["platform"] == "woocommerce":
        return f"{base_urls[listing['shop']]}{API_PATH}/{listing['canonical_id']}"
    return listing["url"]


def test_inspect_prints_what_the_crawl_stored(demo_shops, stored):
    base_urls = {site["name"]: site["base_url"] for site in demo_shops.sites()}
    assert {listing["platform"] for listing in stored} == {"shopify", "woocommerce", "sitemap"}
    completed_brands = 0
    for listing in stored:
        result = CliRunner().invoke(cli, ["inspect", "--json", inspect_url(listing, base_urls)])
        assert result.exit_code == 0, result.output
        shown = json.loads(result.output)
        assert compared(shown) == compared(listing), listing["url"]
        assert (shown["url"], shown["canonical_id"]) == (listing["url"], listing["canonical_id"])
        assert shown["provenance"] == json.loads(listing["provenance"]), listing["url"]
        if listing["platform"] == "woocommerce" and shown["provenance"].get("brand") != "api":
            completed_brands += 1
    # the Store API has no brand: inspect read it from the product page, as the spider does
    assert completed_brands > 0
    assert any(v["currency"] for listing in stored if listing["platform"] == "shopify"
               for v in listing["variants"])  # fmt: skip


def test_inspect_refuses_a_url_robots_txt_disallows(demo_shops, monkeypatch):
    product = next(
        p
        for p in build_catalog(day=1).products["retailer"]
        if p["page"].get("section") == DISALLOWED_SECTION
    )
    url = f"{demo_shops.urls['retailer']}/{DISALLOWED_SECTION}/{product['slug']}"
    fetched: list[str] = []
    retailer = demo_shops.servers["retailer"].shop
    real_respond = retailer.respond

    def recording_respond(path: str, query: dict):
        fetched.append(f"{demo_shops.urls['retailer']}{path}")
        return real_respond(path, query)

    monkeypatch.setattr(retailer, "respond", recording_respond)
    result = CliRunner().invoke(cli, ["inspect", url])
    assert result.exit_code == 1
    assert f"{url}: disallowed by {demo_shops.urls['retailer']}/robots.txt" in result.output
    assert fetched == [f"{demo_shops.urls['retailer']}/robots.txt"]
