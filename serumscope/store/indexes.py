"""Every index of the serumscope database, as data; ``serumscope.store.schema.ensure_schema`` creates
them with sqlite-utils and drops ``scores`` indexes no longer declared."""

from __future__ import annotations

from typing import NamedTuple

from sqlite_utils.db import DescIndex


class Index(NamedTuple):
    table: str
    columns: list
    name: str | None = None  # sqlite-utils names it idx_<table>_<columns> when None
    unique: bool = False


# Default facets run on every scores page, filtered or not. Each facet column leads an index that
# also holds the common filter columns (verdict, price, gone_since): the facet's GROUP BY then reads
# one index in order, skipping through it for a filtered page, and never touches the table (3-5x
# faster than a single-column index in bench/serve.py, which SQLite prefers for GROUP BY and then
# looks every row up to check the filter).
# "score DESC, listing_id" because Datasette 0.65 adds the primary-key tie-breaker to ORDER BY only
# from the second page on: rows are read in index order, so the first page must already break ties
# by listing_id or `_next` paging repeats and skips rows of equal score. No other index may lead with
# "score DESC" (SQLite could read the first page through it, ties in another order); the search
# query sorts as this index does and reads its page through it. It holds the name too: the compare
# query reads a common phrase's names in this order without looking each row up (a tenth of the time).
FACET_COLUMNS = ["verdict", "vitamin_c_form", "light", "shop", "brand"]
FILTER_COLUMNS = ["verdict", "price_per_30ml", "gone_since"]
SCORES_INDEXES: list[list] = [
    [DescIndex("score"), "listing_id", "name"],
    [
        "verdict",
        DescIndex("score"),
        "listing_id",
        "price_band",
        *FACET_COLUMNS[1:],
        "gone_since",
        "price_per_30ml",
    ],
    ["price_per_30ml"],
    ["verdict", "gone_since", "score", "name"],  # the avoid list, in its order
    ["order_contradicted", "gone_since", "shop", "name"],  # percent_contradicts_inci_order
    ["category", "gone_since", "verdict"],  # devices among the listings (store/home_kit.py)
    ["product_id"],  # the home page's top picks: a product's other listings
    *([column, *(c for c in FILTER_COLUMNS if c != column)] for column in FACET_COLUMNS),
]

# Indexes an earlier version declared, dropped when found: a later index leads with their columns.
RETIRED_INDEXES = [
    f"idx_{table}_run"
    for table in [
        "variant_history",
        "ingredient_changes",
        "listing_changes",
        "score_changes",
        "listing_events",
        "product_events",
    ]
]

INDEXES: list[Index] = [
    Index("listings", ["shop"]),
    Index("listings", ["last_seen"]),
    Index("variants", ["listing_id"]),
    Index("crawl_errors", ["run_id"]),
    Index("crawl_errors", ["shop", "run_id"]),
    # Older rows have none (NULL, which a unique index allows any number of times).
    Index("crawl_errors", ["error_key"], unique=True),
    Index("actives", ["listing_id"]),
    Index("variant_history", ["variant_id", "id"], "idx_variant_history_variant"),
    Index("variant_history", ["listing_id"], "idx_variant_history_listing"),
    Index("variant_history", ["change", "id"], "idx_variant_history_change"),  # price_drops
    Index("ingredient_changes", ["listing_id"], "idx_ingredient_changes_listing"),
    Index("listing_changes", ["listing_id"], "idx_listing_changes_listing"),
    Index("score_changes", ["listing_id", "rubric", "id"], "idx_score_changes_listing"),
    Index("score_changes", ["new_verdict", "id"], "idx_score_changes_verdict"),  # the feed
    Index("listing_events", ["listing_id"], "idx_listing_events_listing"),
    # recent_change_rows reads each history table newest run first in this order (store/history.py)
    *(
        Index(table, ["run_id", time, "listing_id"], f"idx_{table}_run_time")
        for table, time in [
            ("variant_history", "changed_at"),
            ("ingredient_changes", "changed_at"),
            ("listing_changes", "changed_at"),
            ("score_changes", "changed_at"),
            ("listing_events", "occurred_at"),
            ("product_events", "occurred_at"),
        ]
    ),
    Index("listings", ["product_id"]),
    Index("offers", ["product_id", "rank"]),
    Index("offers", ["listing_id"]),
    Index("offers", ["is_best", "price_per_30ml"]),  # cheapest_offer_per_product
    Index("product_events", ["product_id", "id"]),
    Index("product_events", ["event", "id"], "idx_product_events_event"),  # the feed
    *(Index("scores", columns) for columns in SCORES_INDEXES),
    # The default facets of the other tables' pages (datasette/metadata.yml) group the whole table on
    # each visit: through an index that leads with the column, SQLite counts from the index alone
    # (5 ms instead of 100 at 100,000 listings). tests/test_store_indexes.py checks each facet and
    # each page's sort has one.
    Index("listings", ["category"]),
    Index("listings", ["is_candidate"]),
    Index("evaluations", ["rubric"]),
    Index("evaluations", ["verdict"]),
    # The evaluations page's sort (as scores', with the primary key as tie-breaker: see above); it
    # sorted every row, facts and all, on each visit (220 ms at 100,000 listings).
    Index("evaluations", [DescIndex("score"), "listing_id", "rubric"]),
    Index("products", [DescIndex("shops")]),  # the products page's sort (its rowid breaks ties)
    Index("crawl_errors", ["kind"]),
    Index("listing_events", ["event"]),
]
