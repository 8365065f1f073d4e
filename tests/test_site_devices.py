"""The site's micro-needling device pages (issue 14): top picks, filters, facts with their evidence,
home kits and the needle-length chart."""

from __future__ import annotations

import json
import re

import pytest
from markupsafe import escape
from site_fixtures import get, rows

from evaluator import load_rubric
from serumscope.site import (
    SITE_DB_NAME,
    listing_path,
)


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
