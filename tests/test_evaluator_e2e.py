"""The chart end to end: crawl the running demo shops with the real spiders (a subprocess), then
`serumscope evaluate` the SQLite file, and check the post's chart and that every candidate gets a
score whose evidence quotes the stored listing."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evaluator.schema import problems
from serumscope.evaluation_store import listing_dicts
from serumscope.store.database import open_db

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scored_db(demo_shops, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("evaluator_e2e")
    sites, db_path = tmp / "sites.toml", tmp / "serumscope.db"
    demo_shops.write_sites(sites)
    serumscope = str(Path(sys.executable).parent / "serumscope")
    crawl = subprocess.run(
        [serumscope, "crawl", "--sites", str(sites), "--db", str(db_path)],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert crawl.returncode == 0, crawl.stderr[-2000:]
    for rubric in ("post", "extended"):
        scored = subprocess.run(
            [serumscope, "evaluate", "--db", str(db_path), "--rubric", rubric],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert scored.returncode == 0, scored.stderr[-2000:]
        assert "scored" in scored.stdout
    return open_db(db_path)


def _by_title(db, start: str, rubric: str = "post") -> dict:
    rows = list(
        db.query(
            "select e.* from evaluations e join listings l on l.id = e.listing_id"
            " where l.title like :title and e.rubric = :rubric",
            {"title": f"{start}%", "rubric": rubric},
        )
    )
    assert len(rows) == 1, (start, rows)
    return rows[0]


def test_crawled_listings_reproduce_the_chart(scored_db):
    first = _by_title(scored_db, "Serumtologie C Serum")
    second = _by_title(scored_db, "Skin Solutions C + E")
    avoid = _by_title(scored_db, "Art Naturals Enhanced Vitamin C Serum")
    assert first["score"] > second["score"] > avoid["score"]
    assert first["verdict"] == "recommend"
    assert avoid["verdict"] == "avoid"
    assert first["size_ml"] == pytest.approx(29.57, abs=0.1) and first["light"] == "protective"
    assert avoid["price_converted"] == 1 and avoid["currency"] == "GBP"


def test_every_candidate_is_scored_with_checkable_evidence(scored_db):
    rows = list(
        scored_db.query(
            "select e.*, l.is_candidate from evaluations e join listings l on l.id = e.listing_id"
        )
    )
    assert rows
    ids = [r["listing_id"] for r in rows]
    listings = {listing["id"]: listing for listing in listing_dicts(scored_db, ids)}
    for row in rows:
        if row["is_candidate"] == 1:
            assert row["verdict"] in ("recommend", "consider", "avoid") and 0 <= row["score"] <= 100
        else:
            assert row["verdict"] == "not-scored" and row["score"] is None
        result = {
            "listing_id": row["listing_id"], "rubric": row["rubric"], "rubric_version": row["rubric_version"],
            "score": row["score"] or 0, "verdict": row["verdict"], "verdict_reason": row["verdict_reason"],
            "red_flags": json.loads(row["red_flags"]), "breakdown": json.loads(row["breakdown"]), "facts": json.loads(row["facts"]),
        }  # fmt: skip
        assert problems(result, listings[row["listing_id"]]) == [], row["listing_id"]
