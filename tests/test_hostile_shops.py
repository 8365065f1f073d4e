"""Hostile shops (issue 10, cases 1, 2, 3, 5 and 8): each a real crawl of a misbehaving server on
127.0.0.1. No listing is lost or wrongly marked gone, every pipeline failure is recorded and counted,
every crawl is bounded by a documented limit and ends `partial` with the reason, and nothing
non-finite or unencodable reaches the database. Each crawl's time and peak memory are asserted."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

from hostile_shops import (
    FAST,
    HostileShop,
    Reply,
    pipelines_with,
    product_page,
    run_measured,
    shopify_product,
    shopify_routes,
    sitemap,
    sites_file,
)

# Every hostile crawl here must finish within these on a 2-core machine (the suite's figures).
MAX_SECONDS = 60
MAX_RSS_MB = 400


def args_name(settings: tuple[str, ...]) -> str:
    return " ".join(s for s in settings if "=" in s and "PIPELINES" not in s) or "defaults"


def crawl(sites: Path, db: Path, *settings: str):
    done = run_measured(
        ["crawl", "--sites", str(sites), "--db", str(db), "--quiet", "--json", *FAST, *settings]
    )
    print(f"serumscope {args_name(settings)}: {done.seconds:.1f} s, peak {done.peak_rss_mb:.0f} MB")
    assert done.seconds < MAX_SECONDS and done.peak_rss_mb < MAX_RSS_MB, (
        done.seconds,
        done.peak_rss_mb,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    return done


def run(sites: Path, db: Path, *settings: str):
    done = run_measured(
        ["run", "--sites", str(sites), "--db", str(db), "--quiet", *FAST, *settings]
    )
    print(f"serumscope {args_name(settings)}: {done.seconds:.1f} s, peak {done.peak_rss_mb:.0f} MB")
    assert done.seconds < MAX_SECONDS and done.peak_rss_mb < MAX_RSS_MB, (
        done.seconds,
        done.peak_rss_mb,
    )
    return done


def query(db: Path, sql: str, params=()) -> list[tuple]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql, params).fetchall()


def errors(db: Path, kind: str) -> list[tuple]:
    return query(db, "select url, message from crawl_errors where kind = ?", (kind,))


def last_crawl_summary(db: Path) -> dict:
    return json.loads(query(db, "select stats from crawl_runs order by id desc limit 1")[0][0])


# 1. A lone surrogate ("\ud800", which JSON allows) in a title: the listing is stored, not lost.


def test_a_lone_surrogate_in_a_title_is_stored_and_nothing_is_marked_gone(tmp_path):
    surrogate = {"on": False}

    def feed(page):
        if page > 1:
            return []
        title = "Bright C \ud800 Serum" if surrogate["on"] else "Bright C Serum"
        return [shopify_product(7, title), shopify_product(8, "Other C Serum")]

    with HostileShop(shopify_routes(feed)) as shop:
        shop.routes["/sitemap.xml"] = lambda p, q: sitemap([f"{shop.base_url}/page/1"])
        shop.routes["/page/"] = lambda p, q: Reply.html(
            product_page("Page C \\ud800 Serum" if surrogate["on"] else "Page C Serum")
        )
        sites = sites_file(
            tmp_path, ("feed", "shopify", shop.base_url), ("pages", "sitemap", shop.base_url)
        )
        db = tmp_path / "shop.db"
        assert run(sites, db).returncode == 0
        surrogate["on"] = True
        second = run(sites, db)
    assert second.returncode == 0, second.stdout + second.stderr[-2000:]
    assert query(db, "select id, title, gone_since from listings order by id") == [
        ("feed:7", "Bright C \ufffd Serum", None),
        ("feed:8", "Other C Serum", None),
        ("pages:/page/1", "Page C \ufffd Serum", None),
    ]
    assert query(db, "select count(*) from crawl_errors") == [(0,)]
    shops = last_crawl_summary(db)
    assert {name: s["status"] for name, s in shops.items()} == {"feed": "ok", "pages": "ok"}
    assert shops["feed"]["fields_invalid"] == {"title": 1}


def test_a_pipeline_failure_is_recorded_counted_and_marks_nothing_gone(tmp_path):
    explode = {"on": False}

    def feed(page):
        title = "EXPLODE C Serum" if explode["on"] else "Bright C Serum"
        return [shopify_product(7, title), shopify_product(8, "Other C Serum")] if page == 1 else []

    with HostileShop(shopify_routes(feed)) as shop:
        sites = sites_file(tmp_path, ("feed", "shopify", shop.base_url))
        db = tmp_path / "shop.db"
        exploding = pipelines_with({"hostile_pipelines.ExplodingPipeline": 350})
        assert run(sites, db, "-s", exploding).returncode == 0
        explode["on"] = True
        second = run(sites, db, "-s", exploding)
    assert second.returncode == 1, second.stdout  # partial: nothing marked gone
    assert (
        "1 listings could not be stored"
        in Path(second.stdout.split("log ")[-1].strip()).read_text()
    )
    [(url, message)] = errors(db, "pipeline")
    assert url.endswith("/products/p7")
    assert "feed:7 not stored: RuntimeError: this pipeline cannot handle the listing" in message
    summary = last_crawl_summary(db)["feed"]
    assert (summary["status"], summary["errors_by_kind"]) == ("partial", {"pipeline": 1})
    assert query(db, "select id, title, gone_since from listings order by id") == [
        ("feed:7", "Bright C Serum", None),
        ("feed:8", "Other C Serum", None),
    ]


def test_a_listing_the_store_cannot_write_costs_only_itself_and_marks_nothing_gone(tmp_path):
    """The failing write is the last batch (written when the crawl closes): the other listings of
    that batch are stored, the failure is recorded and the shop is partial, so nothing is gone."""
    bad = {"on": False}

    def feed(page):
        if page != 1:
            return []
        last = "UNSTORABLE C Serum" if bad["on"] else "Sixth C Serum"
        return [shopify_product(n, f"C Serum {n}") for n in range(1, 6)] + [
            shopify_product(6, last)
        ]

    with HostileShop(shopify_routes(feed)) as shop:
        sites = sites_file(tmp_path, ("feed", "shopify", shop.base_url))
        db = tmp_path / "shop.db"
        unstorable = pipelines_with({"hostile_pipelines.UnstorablePipeline": 450})
        assert run(sites, db, "-s", unstorable, "-s", "SERUMSCOPE_STORE_BATCH=4").returncode == 0
        first_seen = dict(query(db, "select id, last_seen from listings"))
        bad["on"] = True
        second = run(sites, db, "-s", unstorable, "-s", "SERUMSCOPE_STORE_BATCH=4")
    assert second.returncode == 1, second.stdout  # partial
    [(url, message)] = errors(db, "pipeline")
    assert url.endswith("/products/p6") and "could not store ['feed:6']" in message
    rows = {r[0]: r[1:] for r in query(db, "select id, title, gone_since, last_seen from listings")}
    assert rows["feed:6"][:2] == ("Sixth C Serum", None)  # kept as stored, not marked gone
    assert all(rows[f"feed:{n}"][1] is None for n in range(1, 6))
    assert rows["feed:5"][2] != first_seen["feed:5"]  # its batch-mate was stored in this run


def test_a_megabyte_description_is_stored_cut_at_the_read_limit_and_counted(tmp_path):
    huge = "<p>" + "Brightening vitamin C serum. " * 40_000 + "</p>"  # about 1.2 MB
    feed = lambda n: [shopify_product(1, body_html=huge)] if n == 1 else []  # noqa: E731
    with HostileShop(shopify_routes(feed)) as shop:
        sites = sites_file(tmp_path, ("feed", "shopify", shop.base_url))
        done = crawl(sites, tmp_path / "shop.db")
    [(description, html)] = query(
        tmp_path / "shop.db", "select length(description), length(description_html) from listings"
    )
    assert description <= 200_000 and html == 200_000
    invalid = done.json()["shops"]["feed"]["fields_invalid"]
    assert invalid.get("description_html") == 1, invalid


# 2 and 3. Unbounded crawls: a page-count header of 100 million, a feed inventing new products on
# every page, a slow endless feed, a sitemap index of 50,000 sitemaps.


def woo_product(product_id: int) -> dict:
    return {
        "id": product_id, "name": f"Woo C Serum {product_id}", "permalink": "",
        "description": INGREDIENTS_HTML, "brands": [{"name": "Lumen"}],
        "categories": [{"name": "Serums"}],
        "prices": {"price": "2400", "regular_price": "2400", "currency_code": "USD",
                   "currency_minor_unit": 2},
    }  # fmt: skip


INGREDIENTS_HTML = "<h3>Ingredients</h3><p>Aqua, Ascorbic Acid, Glycerin, Ferulic Acid</p>"


def woo_routes(products_on_page) -> dict:
    def page(path, q):
        number = int(q["page"][0])
        return Reply.json(products_on_page(number), **{"X-WP-TotalPages": "100000000"})

    return {"/wp-json/wc/store/v1/products": page}


def test_a_page_count_header_of_100_million_is_believed_only_while_pages_list_products(tmp_path):
    with HostileShop(woo_routes(lambda n: [woo_product(n)] if n <= 3 else [])) as shop:
        sites = sites_file(tmp_path, ("woo", "woocommerce", shop.base_url))
        done = crawl(sites, tmp_path / "shop.db")
        pages_asked = shop.requests_to("/wp-json/")
    summary = done.json()["shops"]["woo"]
    # Empty pages before the claimed last one: the pages after them are not read, so the shop is
    # partial (its listings are never marked gone on such a crawl).
    assert (summary["status"], summary["listings"]) == ("partial", 3)
    assert errors(tmp_path / "shop.db", "parse")
    assert pages_asked <= 3 + 8  # the window of pages in flight past the last one with products


def test_an_empty_store_api_page_before_the_last_marks_nothing_gone(tmp_path):
    empty_once = {"page": 3}

    def products_on(number):
        if number == empty_once["page"]:
            empty_once["page"] = None
            return []
        return [woo_product(100 + number)] if number <= 10 else []

    def routes(path, q):
        number = int(q["page"][0])
        return Reply.json(products_on(number), **{"X-WP-TotalPages": "10"})

    with HostileShop({"/wp-json/wc/store/v1/products": routes}) as shop:
        sites = sites_file(tmp_path, ("woo", "woocommerce", shop.base_url))
        db = tmp_path / "shop.db"
        empty_once["page"] = None
        assert run(sites, db).returncode == 0
        assert query(db, "select count(*) from listings")[0][0] == 10
        empty_once["page"] = 3
        second = run(sites, db)
    assert second.returncode == 1, second.stdout  # partial
    assert query(db, "select count(*) from listings where gone_since is not null")[0][0] == 0


def test_a_page_count_header_of_100_million_with_products_everywhere_stops_at_the_page_limit(
    tmp_path,
):
    products = lambda n: [woo_product(n * 1000 + i) for i in range(20)]  # noqa: E731
    with HostileShop(woo_routes(products)) as shop:
        sites = sites_file(tmp_path, ("woo", "woocommerce", shop.base_url))
        done = crawl(sites, tmp_path / "shop.db", "-s", "CLOSESPIDER_PAGECOUNT=30")
        table = run_measured(["crawl", "--sites", str(sites), "--db", str(tmp_path / "b.db"),
                              "--quiet", *FAST, "-s", "CLOSESPIDER_PAGECOUNT=5"])  # fmt: skip
    summary = done.json()["shops"]["woo"]
    assert summary["status"] == "partial"
    assert summary["limits"] == [
        "page limit reached: CLOSESPIDER_PAGECOUNT = 30 pages; the crawl stopped there"
    ]
    assert 30 <= summary["pages"] <= 40
    assert "stopped: page limit reached: CLOSESPIDER_PAGECOUNT = 5 pages" in table.stdout


def endless(page: int) -> list[dict]:
    return [shopify_product(page * 1000 + i, f"Endless C Serum {page}-{i}") for i in range(50)]


def test_a_feed_inventing_products_forever_stops_at_the_listing_limit_and_marks_nothing_gone(
    tmp_path,
):
    state = {"endless": False}
    feed = lambda n: endless(n) if state["endless"] else ([shopify_product(1)] if n == 1 else [])  # noqa: E731
    with HostileShop(shopify_routes(feed)) as shop:
        sites = sites_file(tmp_path, ("feed", "shopify", shop.base_url))
        db = tmp_path / "shop.db"
        assert run(sites, db).returncode == 0
        state["endless"] = True
        second = run(sites, db, "-s", "CLOSESPIDER_ITEMCOUNT=120")
    assert second.returncode == 1, second.stdout
    summary = last_crawl_summary(db)["feed"]
    assert summary["status"] == "partial"
    assert summary["limits"] == [
        "listing limit reached: CLOSESPIDER_ITEMCOUNT = 120 listings; the crawl stopped there"
    ]
    assert 120 <= summary["listings"] <= 120 + 8 * 50  # what the pages in flight still held
    assert errors(db, "limit")[0][1] == summary["limits"][0]
    assert query(db, "select gone_since from listings where id = 'feed:1'") == [(None,)]


def test_a_slow_endless_feed_stops_at_the_crawl_time_limit(tmp_path):
    import time

    def slow(page):
        time.sleep(0.3)
        return endless(page)

    with HostileShop(shopify_routes(slow)) as shop:
        sites = sites_file(tmp_path, ("feed", "shopify", shop.base_url))
        done = crawl(sites, tmp_path / "shop.db", "-s", "CLOSESPIDER_TIMEOUT=3")
    summary = done.json()["shops"]["feed"]
    assert summary["status"] == "partial"
    assert summary["limits"] == [
        "crawl time limit reached: CLOSESPIDER_TIMEOUT = 3 s; the crawl stopped there"
    ]
    assert done.seconds < 20


def test_a_sitemap_index_of_50000_sitemaps_is_followed_only_up_to_the_limit(tmp_path):
    with HostileShop() as shop:
        children = [f"{shop.base_url}/sitemaps/{n}.xml" for n in range(50_000)]
        shop.routes["/sitemap.xml"] = lambda p, q: sitemap(children, index=True)
        shop.routes["/sitemaps/"] = lambda p, q: sitemap([f"{shop.base_url}/page{p}"])
        shop.routes["/page/"] = lambda p, q: Reply.html(product_page(f"C Serum {p}"))
        sites = sites_file(tmp_path, ("pages", "sitemap", shop.base_url))
        done = crawl(sites, tmp_path / "shop.db", "-s", "SERUMSCOPE_SITEMAPS_PER_INDEX=20")
        followed = shop.requests_to("/sitemaps/")
    summary = done.json()["shops"]["pages"]
    assert followed == 20
    assert (summary["status"], summary["listings"]) == ("partial", 20)
    assert summary["limits"] == [
        "sitemap index lists 50000 sitemaps: the first SERUMSCOPE_SITEMAPS_PER_INDEX = 20 followed"
    ]


# 5. Numbers only a float reads as infinite, from whatever built the listing.


def test_non_finite_numbers_and_lone_surrogates_stop_at_the_store_boundary(tmp_path):
    with HostileShop(shopify_routes(lambda n: [shopify_product(7)] if n == 1 else [])) as shop:
        sites = sites_file(tmp_path, ("feed", "shopify", shop.base_url))
        db = tmp_path / "shop.db"
        hostile = pipelines_with({"hostile_pipelines.NonFinitePipeline": 850})
        done = crawl(sites, db, "-s", hostile)
    summary = done.json()["shops"]["feed"]
    assert summary["status"] == "ok"
    assert summary["fields_invalid"] == {"regular_price": 1, "sku": 1, "title": 1}
    assert query(db, "select title from listings") == [("Bright C Serum \ufffd",)]
    assert query(db, "select price, regular_price, sku from variants") == [("24.00", None, None)]


# 8. Smaller: an off-site redirect, products sharing one id, an oversize streamed download.


def test_offsite_redirect_shared_ids_and_a_streamed_oversize_page_are_each_recorded(tmp_path):
    offsite = "http://localhost:{port}/elsewhere"
    twins = [shopify_product(5, f"Twin C Serum {n}") for n in range(50)]
    with HostileShop(shopify_routes(lambda n: twins if n == 1 else [])) as shop:
        locs = [f"{shop.base_url}/away", f"{shop.base_url}/huge", f"{shop.base_url}/page/1"]
        shop.routes["/sitemap.xml"] = lambda p, q: sitemap(locs)
        shop.routes["/away"] = lambda p, q: Reply(
            302, b"", headers={"Location": offsite.format(port=shop.port)}
        )
        shop.routes["/huge"] = lambda p, q: Reply(
            200, (b"<p>" + b"x" * 65536 for _ in range(64)), "text/html"
        )
        shop.routes["/page/"] = lambda p, q: Reply.html(product_page("Fine C Serum"))
        sites = sites_file(
            tmp_path, ("feed", "shopify", shop.base_url), ("pages", "sitemap", shop.base_url)
        )
        db = tmp_path / "shop.db"
        done = crawl(sites, db, "-s", "DOWNLOAD_MAXSIZE=1000000")
        fetched_elsewhere = shop.requests_to("/elsewhere")
    shops = done.json()["shops"]
    assert fetched_elsewhere == 0
    [(url, message)] = errors(db, "offsite")
    assert url == f"{shop.base_url}/away" and "localhost" in message
    assert len(errors(db, "duplicate-id")) == 49
    assert "product id 5 again on this page" in errors(db, "duplicate-id")[0][1]
    [(url, message)] = errors(db, "oversize")
    assert url.endswith("/huge") and "DOWNLOAD_MAXSIZE 1000000" in message
    assert query(db, "select count(*) from crawl_errors where kind = 'connection'") == [(0,)]
    assert shops["feed"]["listings"] == 1 and shops["pages"]["listings"] == 1
