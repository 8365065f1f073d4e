"""Score and verdict agree on 10,000 generated listings scored by the real evaluator, read through
the site's JSON API: every "avoid" below every "consider", every "consider" below every "recommend",
and no listing whose stated percentage its own ingredient order contradicts is recommended."""

from __future__ import annotations

import asyncio

import pytest
from site_fixtures import write_generated_listings

from serumscope.evaluation_store import evaluate_db
from serumscope.site import SITE_DB_NAME, make_datasette
from serumscope.store.database import open_db

pytestmark = pytest.mark.slow

LISTINGS = 10_000
CONTRADICTED = "Stated percentage contradicted by its own ingredient order"


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    path = tmp_path_factory.mktemp("scale") / "generated.db"
    db = open_db(path)
    write_generated_listings(db, LISTINGS)
    evaluate_db(db, everything=True)  # replace the generator's imitation scores with real ones
    db.close()
    return make_datasette(path)


def api(ds, query: str) -> list[dict]:
    response = asyncio.run(ds.client.get(f"/{SITE_DB_NAME}/scores.json?_shape=array&{query}"))
    assert response.status_code == 200, response.text[:300]
    return response.json()


def score_range(ds, verdict: str) -> tuple[int, int]:
    lowest = api(ds, f"verdict={verdict}&_sort=score&_size=1")[0]["score"]
    highest = api(ds, f"verdict={verdict}&_sort_desc=score&_size=1")[0]["score"]
    return lowest, highest


def test_every_generated_listing_is_scored(ds):
    counts = {
        verdict: len(api(ds, f"verdict={verdict}&_size=max&_col=score"))
        for verdict in ("recommend", "consider", "avoid")
    }
    assert all(counts.values()), counts  # each verdict occurs (at most 1000 counted per verdict)


def test_scores_are_monotonic_in_verdict_across_ten_thousand_listings(ds):
    avoid, consider, recommend = (score_range(ds, v) for v in ("avoid", "consider", "recommend"))
    assert avoid[1] < consider[0], (avoid, consider)
    assert consider[1] < recommend[0], (consider, recommend)


def test_a_contradicted_percentage_is_flagged_and_never_recommended(ds):
    flagged = api(ds, f"red_flags__contains={CONTRADICTED}&_size=5&_col=verdict")
    assert len(flagged) == 5  # the generator writes one in seven that way
    assert api(ds, f"red_flags__contains={CONTRADICTED}&verdict=recommend&_size=1") == []
