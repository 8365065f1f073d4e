"""Real listings through every page layout: what the crawl reads of them, against what each row says.

    .venv/bin/python bench/realworld.py [--folder PATH] [--rows N] [--layouts a,b] [--keep DIR]
                                        [--show-misses N]

Every row of ../shared/data/real_listings/ (read at run time through bench/real_listings.py, never
copied) becomes a product of the test web (serumscope.demo.testweb), rendered in every layout and
served on 127.0.0.1; `serumscope crawl` reads them with the real spiders into a real SQLite file and
`serumscope evaluate` scores them. Per layout and overall, the share of rows for which the crawl gives
the same as reading the row's own listing directly (bench/real_listings.listing_from_row):

- size: rows whose size text or name states a size in mL or oz; the crawled size equals the size the
  evaluator reads from the row (goal >= 97%)
- price: rows with a price; the same amount and currency
- ingredients: rows with an ingredient list; the crawled listing has one the evaluator reads
  (goal >= 97%); "same INCI" also asks for the same canonical names in the same order
- forms: the same vitamin C forms as reading the row
- candidate: the same is_candidate as judging the row's listing

The "direct" line is the ceiling the crawl is measured against: how often reading the rows themselves
finds a size, a price, an ingredient list. The "held out" line repeats the overall figures on the third
of the rows bench/label_sample.py keeps out of tuning.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from label_sample import split_of  # noqa: E402
from real_listings import DEFAULT_FOLDER, joined_text, listing_from_row, read_rows  # noqa: E402

from evaluator import evaluate  # noqa: E402
from evaluator.money import parse_amount  # noqa: E402
from serumscope.demo.testweb import LAYOUTS, LayoutWeb, PageProduct, slug_of  # noqa: E402

GOALS = {"size": 0.97, "ingredients": 0.97}
MEASURES = ("size", "price", "ingredients", "same INCI", "forms", "candidate")
STATES_VOLUME = re.compile(r"(?i)\d\s*(?:ml|mls|millilit(?:er|re)s?|fl\.?\s*oz|oz|ounces?)\b")
CRAWL_SETTINGS = (
    "AUTOTHROTTLE_ENABLED=false", "CONCURRENT_REQUESTS=64", "CONCURRENT_REQUESTS_PER_DOMAIN=32",
    "LOG_LEVEL=WARNING", "SERUMSCOPE_STORE_BATCH=500",
)  # fmt: skip


def relevance_judge():
    """The relevance judgement wherever it lives in this tree (it is moving into the evaluator)."""
    try:
        from evaluator.relevance import judge
    except ImportError:
        from crawler.relevance import judge
    return judge


def is_candidate(judgement: object) -> bool:
    if isinstance(judgement, tuple):
        return bool(judgement[0])
    if isinstance(judgement, dict):
        return bool(judgement.get("is_candidate", judgement.get("candidate")))
    return bool(getattr(judgement, "is_candidate", getattr(judgement, "candidate", False)))


def product_from_row(row: dict) -> PageProduct | None:
    """The row as a test-web product; None without a name or a readable price."""
    listing = listing_from_row(row)
    amount = parse_amount(listing["variants"][0]["price"])
    if not row.get("name") or amount is None or amount <= 0:
        return None
    return PageProduct(
        slug=row["hid"],
        title=row["name"],
        brand=row.get("brand") or None,
        categories=listing["categories"],
        description=joined_text(row.get("highlights_or_description") or "") or None,
        ingredients=joined_text(row.get("ingredients_text") or "") or None,
        size=(row.get("size_text") or "").strip() or None,
        price=f"{amount:.2f}",
        currency=row.get("currency") or "USD",
        sku=row.get("product_id") or "",
    )


def summary(facts: dict) -> dict:
    ingredients = facts.get("ingredients") or {}
    price = facts.get("price") or {}
    return {
        "ml": (facts.get("size") or {}).get("ml"),
        "price": (price.get("amount_text"), price.get("currency")),
        "ingredients": ingredients.get("count", 0),
        "inci": [i.get("canonical") or i.get("raw") for i in ingredients.get("items", [])],
        "forms": sorted(f["form"] for f in (facts.get("vitamin_c") or {}).get("forms", [])),
    }


def expected_for(row: dict, judge) -> dict:
    listing = listing_from_row(row)
    expected = summary(evaluate(listing)["facts"])
    expected["candidate"] = is_candidate(judge(listing))
    stated = f"{row.get('size_text') or ''} {row.get('name') or ''}"
    expected["states_size"] = bool(STATES_VOLUME.search(stated))
    return expected


def crawl_and_score(web: LayoutWeb, folder: Path) -> tuple[Path, float]:
    sites = web.write_sites(folder / "sites.toml")
    db = folder / "realworld.db"
    command = [str(Path(sys.executable).parent / "serumscope"), "crawl", "--sites", str(sites),
               "--db", str(db), "--quiet"]  # fmt: skip
    for setting in CRAWL_SETTINGS:
        command += ["-s", setting]
    started = time.monotonic()
    crawl = subprocess.run(command, capture_output=True, text=True)
    if crawl.returncode != 0:
        sys.exit(f"crawl failed ({crawl.returncode}): {crawl.stderr[-2000:]}")
    score = subprocess.run(
        [str(Path(sys.executable).parent / "serumscope"), "evaluate", "--db", str(db), "--all"],
        capture_output=True, text=True,
    )  # fmt: skip
    if score.returncode != 0:
        sys.exit(f"evaluate failed: {score.stderr[-2000:]}")
    return db, time.monotonic() - started


def crawled_rows(db: Path, web: LayoutWeb) -> dict[tuple[str, str], dict]:
    """(layout, slug) -> what the crawl and the evaluation of that listing say."""
    found = {}
    with sqlite3.connect(db) as conn:
        query = (
            "select l.shop, l.url, l.is_candidate, l.provenance, e.facts from listings l"
            " left join evaluations e on e.listing_id = l.id and e.rubric = 'post'"
        )
        for shop, url, candidate, provenance, facts in conn.execute(query):
            got = summary(json.loads(facts) if facts else {})
            got["candidate"] = bool(candidate)
            got["size_from"] = (json.loads(provenance or "{}") or {}).get("size")
            found[(web.layout_of(shop), slug_of(url))] = got
    return found


def same_price(got: tuple | None, want: tuple) -> bool:
    if not got or got[0] is None:
        return False
    return Decimal(got[0]) == Decimal(want[0]) and got[1] == want[1]


SHOWN = {
    "size": ("ml",), "price": ("price",), "ingredients": ("ingredients",), "same INCI": ("inci",),
    "forms": ("forms",), "candidate": ("candidate",),
}  # fmt: skip


def compare(expected: dict, got: dict | None) -> dict[str, bool | None]:
    """Per measure: True (same), False (differs), None (the row does not count for it)."""
    got = got or {}
    has_ingredients = expected["ingredients"] > 0
    return {
        "size": (
            (got.get("ml") is not None and abs(got["ml"] - expected["ml"]) < 0.05)
            if expected["states_size"] and expected["ml"] is not None
            else None
        ),
        "price": same_price(got.get("price"), expected["price"]) if expected["price"][0] else None,
        "ingredients": got.get("ingredients", 0) > 0 if has_ingredients else None,
        "same INCI": got.get("inci") == expected["inci"] if has_ingredients else None,
        "forms": got.get("forms") == expected["forms"] if got else False,
        "candidate": got.get("candidate") == expected["candidate"] if got else False,
    }


def line(name: str, tallies: dict[str, list[int]], crawled: int, served: int) -> str:
    cells = []
    for measure in MEASURES:
        hits, total = tallies[measure]
        cells.append(f"{hits / total:7.1%}" if total else f"{'-':>7s}")
    return f"{name:22s} {crawled:>6}/{served:<6}" + "".join(f"{c:>11s}" for c in cells)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--rows", type=int, default=0, help="only the first N rows (0: all)")
    parser.add_argument("--layouts", default="", help="comma-separated layouts (default: all)")
    parser.add_argument("--keep", type=Path, help="crawl into this folder and keep the database")
    parser.add_argument("--show-misses", type=int, default=0, help="print N misses per measure")
    args = parser.parse_args()
    rows = read_rows(args.folder)
    if rows is None:
        print(f"skipped: {args.folder} not found (the real listings live outside the project)")
        return
    rows = rows[: args.rows] if args.rows else rows
    layouts = [name for name in args.layouts.split(",") if name] or list(LAYOUTS)
    judge = relevance_judge()
    products, expected = [], {}
    for row in rows:
        product = product_from_row(row)
        if product is not None:
            products.append(product)
            expected[row["hid"]] = expected_for(row, judge)
    served = len(products)
    print(f"{served:,} of {len(rows):,} rows have a name and a price; {len(layouts)} layouts")

    folder = args.keep or Path(tempfile.mkdtemp(prefix="realworld-"))
    folder.mkdir(parents=True, exist_ok=True)
    with LayoutWeb(products, layouts) as web:
        db, seconds = crawl_and_score(web, folder)
        found = crawled_rows(db, web)
    print(f"crawled and scored {len(found):,} pages in {seconds:.0f} s ({db})")

    per_layout: dict[str, dict[str, list[int]]] = {}
    overall = {m: [0, 0] for m in MEASURES}
    heldout = {m: [0, 0] for m in MEASURES}
    direct = {m: [0, 0] for m in ("size", "price", "ingredients")}
    misses: dict[str, list[str]] = defaultdict(list)
    sources: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for want in expected.values():
        direct["size"][1] += want["states_size"]
        direct["size"][0] += want["states_size"] and want["ml"] is not None
        direct["price"][1] += 1
        direct["price"][0] += bool(want["price"][0])
        direct["ingredients"][1] += 1
        direct["ingredients"][0] += want["ingredients"] > 0
    crawled_per_layout: dict[str, int] = defaultdict(int)
    for layout in layouts:
        tallies = per_layout.setdefault(layout, {m: [0, 0] for m in MEASURES})
        for hid, want in expected.items():
            got = found.get((layout, hid))
            crawled_per_layout[layout] += got is not None
            if got is not None:
                sources[layout][got.get("size_from") or "none"] += 1
            for measure, same in compare(want, got).items():
                if same is None:
                    continue
                for table in (tallies, overall) + (
                    (heldout,) if split_of(hid) == "heldout" else ()
                ):
                    table[measure][0] += bool(same)
                    table[measure][1] += 1
                if not same:
                    keys = SHOWN[measure]
                    misses[measure].append(
                        f"{layout} {hid}: want {[want.get(k) for k in keys]}"
                        f" got {[(got or {}).get(k) for k in keys]}"
                    )

    print()
    print(f"{'layout':22s} {'pages':>13s}" + "".join(f"{m:>11s}" for m in MEASURES))
    for layout in layouts:
        print(line(layout, per_layout[layout], crawled_per_layout[layout], served))
    total_crawled = sum(crawled_per_layout.values())
    print(line("overall", overall, total_crawled, served * len(layouts)))
    print(line("overall (held out)", heldout, 0, 0).replace("     0/0     ", " " * 13))
    cells = "".join(
        f"{(direct[m][0] / direct[m][1] if direct[m][1] else 0):>11.1%}"
        if m in direct
        else f"{'':>11s}"
        for m in MEASURES
    )
    print(f"{'direct (the rows)':22s} {'':13s}{cells}")
    counted = "".join(f"{per_layout[layouts[0]][m][1]:>11,}" for m in MEASURES)
    print(f"{'rows counted a layout':22s} {'':13s}{counted}")
    goals = "".join(
        f"{'>= ' + format(GOALS[m], '.0%'):>11s}" if m in GOALS else f"{'':>11s}" for m in MEASURES
    )
    print(f"{'goal':22s} {'':13s}{goals}")
    worst = {
        m: min(per_layout[n][m][0] / per_layout[n][m][1] for n in layouts if per_layout[n][m][1])
        for m in GOALS
    }
    for measure, goal in GOALS.items():
        verdict = "met" if worst[measure] >= goal else "NOT met"
        print(
            f"{measure}: lowest layout {worst[measure]:.1%} (goal {goal:.0%} in every layout): {verdict}"
        )
    print()
    print("where sizes came from (provenance 'size'), per layout:")
    for layout in layouts:
        counts = ", ".join(
            f"{k} {v}" for k, v in sorted(sources[layout].items(), key=lambda kv: -kv[1])
        )
        print(f"  {layout:20s} {counts}")
    for measure in MEASURES:
        for text in misses[measure][: args.show_misses]:
            print(f"miss {measure}: {text[:400]}")


if __name__ == "__main__":
    main()
