"""Check that the crawler reads and stores the same as at a git revision (a faster crawl must).

    .venv/bin/python bench/same_crawl.py [--baseline main] [--rows 200] [--pages 300]

Two checks, each run by this tree and by the tree at the baseline revision (``git archive``, run in
its own process with that tree first on ``sys.path``):

- pages: the product page of every real listing row (../shared/data/real_listings/, read at run
  time by bench/real_listings.py; ``--rows``, 0 for all) in every sitemap layout of the test web
  (serumscope.demo.testweb), and the generated shop's pages, read as the sitemap spider reads them
  (crawler.extract.page) and passed through the item pipelines' functions; the listings compared.
- stored: ``serumscope crawl`` of the demo shops and a generated shop of ``--pages`` pages (day 1,
  then day 2, into one database per side, the same servers for both), then the stored listings,
  variants, price history, product sources, page validators and crawl errors compared without the
  columns that say when (tests/distributed.py: WHEN_COLUMNS).

Prints the number of differences of each check (and the first few); exits 1 when there is any.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

STORED_TABLES = (
    "listings", "variants", "variant_history", "product_sources", "page_validators", "crawl_errors",
)  # fmt: skip
BASE = "http://shop.test"


def page_corpus(rows: int, pages: int) -> list[tuple[str, str]]:
    """(url, html) of every page the pages check reads."""
    from real_listings import read_rows
    from realworld import product_from_row

    from serumscope.demo.generated import build_site
    from serumscope.demo.testweb.shops import RENDERERS, render_page

    corpus = [
        (BASE + path, body.decode())
        for path, body in build_site(pages, BASE).items()
        if path.startswith("/products/")
    ]
    products = [p for p in map(product_from_row, read_rows() or []) if p is not None]
    for product in products[:rows] if rows else products:
        for layout in RENDERERS:
            corpus.append((f"{BASE}/products/{product.slug}", render_page(layout, product, BASE)))
    return corpus


def read_pages(root: str, corpus: Path) -> list[str]:
    """One JSON line per page: what the tree at ``root`` reads of it (run in its own process)."""
    sys.path.insert(0, root)
    from crawler.extract.listing import make_listing
    from crawler.extract.page import parse_page, product_from_page
    from crawler.pipelines.input_hash import input_hash
    from crawler.pipelines.normalise import UnusableListing, normalise_listing
    from crawler.platforms.sitemap import url_key
    from evaluator.categories import relevance_columns

    assert Path(sys.modules["crawler"].__file__).is_relative_to(root)
    lines = []
    for url, html in json.loads(corpus.read_text()):
        page = parse_page(html.encode(), url, "utf-8")
        fields = product_from_page(page)
        read: dict = {"url": url, "errors": page.errors, "listing": None}
        if fields is not None:
            canonical = fields.pop("canonical_url")
            listing = make_listing(
                shop="shop", platform="sitemap", url=canonical, canonical_id=url_key(canonical),
                fields=fields, provenance=fields.pop("provenance"),
                variants=fields.get("variants", []), fetched_at="2026-01-01T00:00:00Z",
            )  # fmt: skip
            try:
                read["missing_invalid"] = normalise_listing(listing)
            except UnusableListing as error:
                read["unusable"] = str(error)
            else:
                listing.update(relevance_columns(listing))
                listing["input_hash"] = input_hash(listing)
            read["listing"] = listing
        lines.append(json.dumps(read, sort_keys=True, default=str))
    return lines


def stored(db: Path) -> dict[str, Counter]:
    """The rows of STORED_TABLES, without the columns that say when."""
    from distributed import WHEN_COLUMNS

    when = WHEN_COLUMNS - {"id"}  # a listing's or variant's id is what it is, not when
    connection = sqlite3.connect(db)
    connection.row_factory = sqlite3.Row
    contents = {}
    for table in STORED_TABLES:
        columns = [r[1] for r in connection.execute(f"PRAGMA table_info([{table}])")]
        keep = [c for c in columns if c not in when and not c.endswith("_at")]
        if table in ("crawl_errors", "variant_history"):
            keep = [c for c in keep if c != "id"]  # row numbers, in the order rows were written
        contents[table] = Counter(
            tuple(row) for row in connection.execute(f"SELECT {', '.join(keep)} FROM [{table}]")
        )
    connection.close()
    return contents


def crawl_both(trees: dict[str, str], folder: Path, pages: int) -> dict[str, Path]:
    """Each tree's database after crawling the demo shops and a generated shop, day 1 then day 2."""
    from distributed import shop_table

    from serumscope.demo.generated import GeneratedShops
    from serumscope.demo.shops import DemoShops

    dbs = {side: folder / f"{side}.db" for side in trees}
    with DemoShops() as demo, GeneratedShops(pages) as generated:
        sites = folder / "sites.toml"
        sites.write_text(demo.sites_toml() + "\n" + shop_table(generated.sites_entry()))
        for day in (1, 2):
            demo.set_day(day)
            for side, root in trees.items():
                code = f"import sys; sys.path.insert(0, {root!r}); from serumscope.cli import cli; cli()"
                subprocess.run(
                    [sys.executable, "-c", code, "crawl", "--sites", str(sites), "--db",
                     str(dbs[side]), "--quiet", "-s", "AUTOTHROTTLE_ENABLED=false"],
                    cwd=root, check=True, capture_output=True, timeout=900,
                )  # fmt: skip
    return dbs


def report(name: str, ours: list[str], theirs: list[str], baseline: str) -> int:
    differ = [a for a, b in zip(ours, theirs, strict=False) if a != b]
    differ += ["(a page missing)"] * abs(len(ours) - len(theirs))
    print(f"{name}: {len(ours):,} pages, {len(differ)} read otherwise than at {baseline}")
    for line in differ[:3]:
        print("  e.g.", line[:600])
    return len(differ)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", default="main", help="a git revision")
    parser.add_argument("--rows", type=int, default=200, help="real listing rows (0: all)")
    parser.add_argument("--pages", type=int, default=300, help="generated shop pages")
    parser.add_argument("--side", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        print("\n".join(read_pages(args.side, args.corpus)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        baseline = folder / "baseline"
        baseline.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.baseline], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(baseline)], input=archive, check=True)
        trees = {"here": str(ROOT), "baseline": str(baseline)}
        corpus = folder / "corpus.json"
        corpus.write_text(json.dumps(page_corpus(args.rows, args.pages)))
        read = {
            side: subprocess.run(
                [sys.executable, __file__, "--side", root, "--corpus", str(corpus)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.splitlines()  # fmt: skip
            for side, root in trees.items()
        }
        differ = report("pages", read["here"], read["baseline"], args.baseline)
        dbs = crawl_both(trees, folder, args.pages)
        contents = {side: stored(db) for side, db in dbs.items()}
        for table in STORED_TABLES:
            ours, theirs = contents["here"][table], contents["baseline"][table]
            only = [*(ours - theirs).elements(), *(theirs - ours).elements()]
            print(f"stored {table}: {ours.total():,} rows, {len(only)} in one side only")
            for row in only[:3]:
                print("  e.g.", str(row)[:600])
            differ += len(only)
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
