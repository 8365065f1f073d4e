"""Hostile visitors (issue 10, cases 5, 6, 7 and 8): a real `serumscope serve` process on a demo
database plus hostile rows (a listing with 100,000 variants, a "was" price of 1e999, sixty 200,000-
character descriptions). The site is safe by default: no arbitrary SQL, bounded facets, answers and
pages, a rate per client, 400 with a reason for bad requests, and its memory stays bounded."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from conftest import free_port, wait_for_site
from site_fixtures import write_demo_site_database

from serumscope.child_process import serumscope_command
from serumscope.evaluation_store import evaluate_db
from serumscope.site import listing_path
from serumscope.store.database import open_db
from serumscope.store.schema import refresh_site_tables

MANY_VARIANTS_ID = "hostile:many-variants"
INFINITE_ID = "hostile:infinite-was-price"
MAX_SERVER_RSS_MB = 500


@pytest.fixture(scope="module")
def hostile_db(demo_shops, tmp_path_factory) -> Path:
    path = write_demo_site_database(demo_shops, tmp_path_factory.mktemp("visitors") / "site.db")
    db = open_db(path)
    template = dict(next(db.query("select * from listings where is_candidate = 1 limit 1")))
    listings = [
        {**template, "id": MANY_VARIANTS_ID, "title": "Many Variants C Serum", "url": None},
        {**template, "id": INFINITE_ID, "title": "Infinite Was Price C Serum", "url": None},
    ] + [
        {**template, "id": f"hostile:long-{n}", "description": "vitamin c " * 20_000, "url": None}
        for n in range(60)
    ]
    variants = [
        {"id": f"{MANY_VARIANTS_ID}:{n}", "listing_id": MANY_VARIANTS_ID, "position": n,
         "title": f"{n} mL", "size_text": f"{n} mL", "price": "24.00", "currency": "USD"}
        for n in range(100_000)
    ] + [
        {"id": f"{INFINITE_ID}:0", "listing_id": INFINITE_ID, "position": 0, "title": "30 mL",
         "size_text": "30 mL", "price": "24.00", "regular_price": "1e999", "currency": "USD"}
    ]  # fmt: skip
    with db.conn:  # as another writer (or an older version) could have stored them
        db["listings"].insert_all(listings, pk="id", replace=True)
        db["variants"].insert_all(variants, pk="id", replace=True)
    evaluate_db(db)
    refresh_site_tables(db)
    db.close()
    return path


class Site:
    def __init__(self, db: Path, *options: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [*serumscope_command(), "serve", "--db", str(db), "--port", str(self.port),
             "--no-refresh", *options],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_site(self.process, self.base)

    def get(self, path: str, timeout: float = 30) -> httpx.Response:
        return httpx.get(self.base + path, timeout=timeout)

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(status.split("VmHWM:")[1].split()[0]) / 1024

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture(scope="module")
def site(hostile_db):
    server = Site(hostile_db, "--rate-limit", "0")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sql_site(hostile_db, tmp_path_factory):
    copy = tmp_path_factory.mktemp("sql") / "site.db"
    shutil.copy(hostile_db, copy)
    server = Site(copy, "--allow-sql", "--rate-limit", "0")
    yield server
    server.stop()


# 6. The public site is not a free SQL engine.

ZEROBLOB = "select replace(hex(zeroblob(100000000)),'0','ab')"


@pytest.mark.parametrize(
    "path",
    [f"/serumscope.json?sql={ZEROBLOB}", "/serumscope?sql=select+randomblob(1e9)",
     "/serumscope/listings.json?_where=length(randomblob(1e9))"],
)  # fmt: skip
def test_arbitrary_sql_is_refused_by_default(site, path):
    response = site.get(path)
    assert response.status_code == 403, response.text[:300]


@pytest.mark.parametrize(
    "path",
    ["/", "/serumscope/scores", "/serumscope/scores.json?_facet=shop&_facet=verdict",
     "/serumscope/best_picks.json?max_price_per_30ml=40", "/serumscope/search?q=ferulic",
     "/serumscope/listings.json?shop=hostile", "/-/dashboards/overview", "/methodology"],
)  # fmt: skip
def test_pages_canned_queries_and_dashboards_still_work(site, path):
    assert site.get(path).status_code == 200, path


def test_the_dashboards_own_chart_queries_still_run(site):
    from serumscope.site import site_metadata

    charts = site_metadata()["plugins"]["datasette-dashboards"]["overview"]["charts"].values()
    for chart in charts:
        answer = site.get(
            "/serumscope.json?" + httpx.QueryParams(sql=chart["query"], _shape="objects").__str__()
        )
        assert answer.status_code == 200 and answer.json()["rows"], chart["title"]


def test_a_chart_query_cannot_carry_another_query_in_a_second_sql_parameter(site):
    """Datasette runs the first ``sql``: a chart's query beside it must not let it through."""
    from serumscope.site import site_metadata

    chart = next(
        iter(site_metadata()["plugins"]["datasette-dashboards"]["overview"]["charts"].values())
    )
    for first, second in ((ZEROBLOB, chart["query"]), (chart["query"], ZEROBLOB)):
        query = httpx.QueryParams([("sql", first), ("sql", second)])
        response = site.get(f"/serumscope.json?{query}")
        assert response.status_code == 400 and "once" in response.text, response.text[:300]


def test_repeated_or_too_many_facets_are_refused_at_once(site):
    started = time.monotonic()
    repeated = site.get("/serumscope/scores.json?" + "&".join(["_facet=shop"] * 3000))
    assert time.monotonic() - started < 2
    assert repeated.status_code == 400
    assert repeated.json()["error"] == "_facet=shop is given more than once"
    many = "&".join(
        f"_facet={c}" for c in ["shop", "verdict", "light", "dispenser", "brand", "currency"]
    )
    assert site.get(f"/serumscope/scores.json?{many}").status_code == 400


def test_an_answer_over_the_size_cap_is_refused(site):
    response = site.get("/serumscope/listings.json?id__startswith=hostile:long-&_size=100")
    assert response.status_code == 400
    assert "larger than the site's limit of 10,000,000 bytes" in response.json()["error"]
    assert (
        site.get("/serumscope/listings.json?id__startswith=hostile:long-&_size=5").status_code
        == 200
    )


def test_with_allow_sql_one_huge_value_fails_fast_and_memory_stays_bounded(sql_site):
    assert sql_site.get("/serumscope.json?sql=select+count(*)+from+listings").status_code == 200
    for sql in (ZEROBLOB, "select randomblob(1e9)"):
        started = time.monotonic()
        response = sql_site.get("/serumscope.json?" + str(httpx.QueryParams(sql=sql)))
        assert time.monotonic() - started < 2, sql
        assert response.status_code == 400 and "too big" in response.text, sql
    assert sql_site.peak_rss_mb() < MAX_SERVER_RSS_MB


def test_a_client_over_the_rate_limit_is_told_to_wait(hostile_db):
    limited = Site(hostile_db, "--rate-limit", "20")
    try:
        statuses = [limited.get("/serumscope/scores.json?_size=1").status_code for _ in range(30)]
        refused = limited.get("/methodology")
        spoofed = httpx.get(
            limited.base + "/methodology", headers={"X-Forwarded-For": "10.1.2.3"}, timeout=30
        )
        other = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"))
        with other:
            another_client = other.get(limited.base + "/methodology", timeout=30)
    finally:
        limited.stop()
    # 20 a minute: the start-up check (wait_for_site) took one or more of them.
    assert statuses[:15] == [200] * 15 and statuses[-1] == 429
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert spoofed.status_code == 429  # a header cannot claim another address
    assert another_client.status_code == 200  # the limit is per client, not global


# 7. A listing with 100,000 variants.


def test_a_listing_page_shows_a_bounded_number_of_variants_and_links_to_the_rest(site):
    page = site.get(listing_path(MANY_VARIANTS_ID))
    assert page.status_code == 200
    assert len(page.content) < 300_000
    assert "Showing the first 100 of 100,000 variants" in page.text
    link = page.text.split('class="more-variants">')[1].split('href="')[1].split('"')[0]
    rest = site.get(
        link.replace("&amp;", "&").replace("/serumscope/variants?", "/serumscope/variants.json?")
    )
    assert rest.status_code == 200 and rest.json()["filtered_table_rows_count"] == 100_000


# 5. A "was" price only a float reads as infinite, stored by someone else.


def test_an_infinite_was_price_gives_valid_json_and_pages_that_answer(site, hostile_db):
    def no_constants(name):
        raise AssertionError(f"{name} in JSON")

    with open_db(hostile_db).conn as conn:
        facts, breakdown = conn.execute(
            "select facts, breakdown from evaluations where listing_id = ?", [INFINITE_ID]
        ).fetchone()
    json.loads(facts, parse_constant=no_constants)
    json.loads(breakdown, parse_constant=no_constants)
    for path in ("/", listing_path(INFINITE_ID), "/serumscope/best_picks.json?_shape=array",
                 f"/serumscope/evaluations.json?listing_id={INFINITE_ID}"):  # fmt: skip
        response = site.get(path)
        assert response.status_code == 200, path
        assert "Infinity" not in response.text, path


# 8. Bad requests answer 400 with a message, not 500.

BAD_REQUESTS = [
    "/serumscope/scores?_sort=nope", "/serumscope/scores.json?_sort=nope",
    "/serumscope/scores.json?_sort_desc=nope", "/serumscope/scores.json?_sort=rowid",
    "/serumscope/scores.json?score__gt=99999999999999999999999",
    "/serumscope/scores.json?score__gte=99999999999999999999999",
    "/serumscope/crawl_runs.json?id__gte=99999999999999999999999",
    "/serumscope/scores.json?_timelimit=abc", "/serumscope/scores.json?_through=abc",
    "/serumscope/scores.json?_through={}", "/serumscope/scores.json?_facet=nope",
    "/serumscope/scores.json?_size=abc", "/serumscope/scores.json?_size=99999999999999999999",
    "/serumscope/scores.json?_facet=shop&_facet=shop",
]  # fmt: skip


@pytest.mark.parametrize("path", BAD_REQUESTS)
def test_a_bad_request_answers_400_with_the_reason(site, path):
    response = site.get(path)
    assert response.status_code == 400, (path, response.status_code, response.text[:300])
    if ".json" in path:
        assert response.json()["error"]


def test_with_allow_sql_where_with_two_statements_answers_400(sql_site):
    response = sql_site.get("/serumscope/listings.json?_where=1;")
    assert response.status_code == 400
    assert "one statement at a time" in response.json()["error"]


def test_the_server_memory_stayed_bounded(site):
    assert site.peak_rss_mb() < MAX_SERVER_RSS_MB
