"""The demo catalog: its content, the facts it expects and the text backing them, its second day's
changes, and the ``shops`` command serving it."""

import re
import signal
import subprocess
import sys
import tomllib
from decimal import Decimal

import httpx

from serumscope.demo import build_catalog


def test_content_counts_and_seed_products(catalog):
    products = catalog.all_products()
    candidates = [p for p in products if p["expected"]["candidate"]]
    others = [p for p in products if not p["expected"]["candidate"]]
    assert len(candidates) >= 40 and len(others) >= 15
    for platform in ("shopify", "woocommerce", "retailer"):
        assert len(catalog.products[platform]) >= 15
    seeds = {p["expected"]["seed_rank"]: p for p in products if "seed_rank" in p["expected"]}
    assert {seeds[n]["platform"] for n in (1, 2, 3)} == {"shopify", "woocommerce", "retailer"}
    assert seeds[1]["title"].startswith("Serumtologie C Serum")
    assert [s["percent"] for s in seeds[1]["expected"]["stated_percentages"]] == [22, 5, 1, 1]
    assert seeds[2]["title"].startswith("Skin Solutions C + E")
    assert seeds[3]["title"] == "Art Naturals Enhanced Vitamin C Serum with Hyaluronic Acid"
    assert seeds[3]["expected"]["stated_percentages"] == []
    assert not re.search(r"%|percent", seeds[3]["title"] + seeds[3]["description"])
    kinds = {p["kind"] for p in others}
    assert {"retinol-serum", "niacinamide-serum", "cleanser", "moisturiser", "mask"} <= kinds
    assert {"supplement", "device", "haircare", "lip"} <= kinds
    forms = {form for p in candidates for form in p["expected"]["vitamin_c_forms"]}
    assert {
        "l-ascorbic acid",
        "sodium ascorbyl phosphate",
        "magnesium ascorbyl phosphate",
        "ascorbyl glucoside",
        "3-o-ethyl ascorbic acid",
        "tetrahexyldecyl ascorbate",
        "ascorbyl palmitate",
        "ascorbyl tetraisopalmitate",
        "sodium ascorbate",
    } <= forms


def test_expected_facts_are_backed_by_the_product_text(catalog):
    """The `expected` facts quote the listing, so other tests can compare against them."""
    for product in catalog.all_products():
        expected = product["expected"]
        text = " ".join(
            [product["title"], product["description"], product.get("short_description", "")]
        )
        for stated in expected["stated_percentages"]:
            assert stated["text"] in text, (product["key"], stated["text"])
        if "packaging_text" in expected:
            assert expected["packaging_text"] in text, product["key"]
        inci = product.get("ingredients", "").lower()
        for form in expected["vitamin_c_forms"]:
            assert form.removeprefix("l-") in inci, (product["key"], form)
        for phrase in expected.get("false_friends", []):
            assert phrase.lower() in text.lower(), (product["key"], phrase)


DEVICE = "micro-needling-device"


def test_devices_and_look_alikes(catalog):
    """Issue 14 item 5: at least 15 micro-needling devices on the three shops, worded as real
    listings are, and products that only look like devices."""
    products = catalog.all_products()
    devices = [p for p in products if p["expected"]["category"] == DEVICE]
    assert len(devices) >= 15
    assert all(p["expected"]["device"] for p in devices)
    for platform in ("shopify", "woocommerce", "retailer"):
        assert sum(p["platform"] == platform for p in devices) >= 3, platform
    facts = [p["expected"]["device"] for p in devices]
    assert {f["type"] for f in facts} >= {"roller", "stamp", "electric pen"}
    assert {f["material"] for f in facts} >= {"stainless steel", "titanium", "gold-plated"}
    assert any(len(f["lengths"]) > 1 for f in facts)  # several lengths in one listing
    assert any("-" in length for f in facts for length in f["lengths"])  # an adjustable pen
    assert {540, 192, 12} <= {n for f in facts for n in f["needles"]}
    assert any(f.get("replaceable") for f in facts)
    assert any({"serum", "kit"} <= set(re.findall(r"[a-z]+", p["title"].lower())) for p in devices)
    look_alikes = [
        p for p in products if p["kind"] == "device" and p["expected"]["category"] != DEVICE
    ]
    words = " ".join(p["title"].lower() for p in look_alikes)
    assert all(name in words for name in ("ice roller", "jade", "micro-needle"))
    for product in products:
        assert product["expected"]["category"] in ("vitamin-c-serum", DEVICE, "other")
        assert (product["expected"]["category"] == "vitamin-c-serum") is product["expected"][
            "candidate"
        ]


def test_expected_device_facts_are_backed_by_the_product_text(catalog):
    for product in catalog.all_products():
        device = product["expected"].get("device")
        if not device:
            continue
        text = " ".join(
            [product["title"], product["description"], product.get("short_description", "")]
            + [v["title"] for v in product["variants"]]
        )
        numbers = {float(n.replace(",", ".")) for n in re.findall(r"\d*[.,]?\d+", text)}
        for length in device["lengths"]:
            for end in length.split("-"):
                assert float(end) in numbers, (product["key"], length)
        for count in device["needles"]:
            assert str(count) in text, (product["key"], count)
        if device["material"] != "unknown":
            first_word = device["material"].split()[0].split("-")[0]
            assert re.search(first_word, text, re.I) or (
                first_word == "stainless" and re.search(r"316L|surgical steel", text)
            ), (product["key"], device["material"])


def test_sites_match_the_running_shops(demo_shops, tmp_path):
    sites = demo_shops.sites()
    assert [s["platform"] for s in sites] == ["shopify", "woocommerce", "sitemap"]
    for site in sites:
        assert re.fullmatch(r"[a-z0-9-]+", site["name"])
        assert site["base_url"].startswith("http://127.0.0.1:")
    path = demo_shops.write_sites(tmp_path / "sites.toml")
    assert tomllib.loads(path.read_text())["shop"] == sites


def test_day_two_changes_prices_ingredients_and_the_product_list(demo_shops, client):
    day1, day2 = build_catalog(1), build_catalog(2)
    shopify = demo_shops.urls["shopify"]
    woo_api = f"{demo_shops.urls['woocommerce']}/wp-json/wc/store/v1/products"
    retailer = demo_shops.urls["retailer"]
    before = client.get(f"{shopify}/products.json?limit=250")
    try:
        demo_shops.set_day(2)
        after = client.get(
            f"{shopify}/products.json?limit=250", headers={"If-None-Match": before.headers["ETag"]}
        )
        assert after.status_code == 200
        handles = {p["handle"] for p in after.json()["products"]}
        assert "glowjar-c-firming-ampoule" in handles
        daily = client.get(f"{shopify}/products/glowjar-daily-c-15.json").json()["product"]
        assert (
            daily["variants"][0]["price"]
            == day2.find("shopify", "glowjar-daily-c-15")["variants"][0]["price"]
        )
        assert Decimal(daily["variants"][0]["price"]) < Decimal(
            day1.find("shopify", "glowjar-daily-c-15")["variants"][0]["price"]
        )
        woo = {p["slug"]: p for p in client.get(woo_api, params={"per_page": 100}).json()}
        reformulated = day2.find("woocommerce", "peachleaf-thd-ascorbate-oil-serum")["ingredients"]
        assert reformulated in woo["peachleaf-thd-ascorbate-oil-serum"]["description"]
        assert (
            reformulated
            != day1.find("woocommerce", "peachleaf-thd-ascorbate-oil-serum")["ingredients"]
        )
        assert client.get(f"{retailer}/products/larkspur-magnesium-c-serum").status_code == 404
        sitemap = (
            client.get(f"{retailer}/sitemap-products-1.xml").text
            + client.get(f"{retailer}/sitemap-products-2.xml").text
        )
        assert "larkspur-magnesium-c-serum" not in sitemap
        moved = [
            (p["key"], v["price"], q["price"])
            for p in day1.all_products()
            if (other := day2.find(p["platform"], p["slug"]))
            for v, q in zip(p["variants"], other["variants"], strict=True)
            if v["price"] != q["price"]
        ]
        assert any(Decimal(new) > Decimal(old) for _, old, new in moved)
        assert sum(Decimal(new) < Decimal(old) for _, old, new in moved) >= 2
    finally:
        demo_shops.set_day(1)
    assert client.get(f"{retailer}/products/larkspur-magnesium-c-serum").status_code == 200
    again = client.get(
        f"{shopify}/products.json?limit=250", headers={"If-None-Match": before.headers["ETag"]}
    )
    assert again.status_code == 304


def test_shops_command_serves_until_stopped(tmp_path):
    sites = tmp_path / "sites.toml"
    command = [
        sys.executable,
        "-m",
        "serumscope.cli",
        "shops",
        "--day",
        "2",
        "--write-sites",
        str(sites),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        lines = [process.stdout.readline() for _ in range(5)]
        urls = dict(line.split() for line in lines[:3])
        assert lines[3].split() == ["sites", "file", str(sites)]
        assert "day 2" in lines[4]
        assert set(urls) == {"shopify", "woocommerce", "retailer"}
        handles = {
            p["handle"]
            for p in httpx.get(f"{urls['shopify']}/products.json?limit=250").json()["products"]
        }
        assert "glowjar-c-firming-ampoule" in handles
        written = tomllib.loads(sites.read_text())["shop"]
        assert [s["base_url"] for s in written] == list(urls.values())
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
