"""Indexes behind the site's table pages: Datasette groups a whole table for each default facet and
sorts it by the page's sort on every visit, so each facet column leads an index the count is read
from alone, and each sort column one the first page is read from in order."""

from __future__ import annotations

import pytest

from serumscope.site import SITE_DB_NAME, site_metadata
from serumscope.store.database import open_db
from serumscope.store.indexes import INDEXES

TABLES = site_metadata()["databases"][SITE_DB_NAME]["tables"]
# scores' default facets are counted ahead by the store (datasette/plugins/serumscope_facets.py)
DEFAULT_FACETS = [
    (table, facet)
    for table, config in TABLES.items()
    for facet in config.get("facets", [])
    if isinstance(facet, str)
]


SORTED_PAGES = [
    (table, config.get("sort_desc") or config.get("sort"), "sort_desc" in config)
    for table, config in TABLES.items()
    if "sort" in config or "sort_desc" in config
]


def query_plan(folder, sql: str) -> str:
    db = open_db(folder / "site.db")
    try:
        return " ".join(row[3] for row in db.execute(f"explain query plan {sql}").fetchall())
    finally:
        db.close()


def test_the_site_has_default_facets_of_plain_columns():
    assert {"listings", "evaluations"} <= {table for table, _ in DEFAULT_FACETS}


@pytest.mark.parametrize(("table", "column"), DEFAULT_FACETS)
def test_each_default_facet_is_counted_from_an_index(tmp_path, table, column):
    assert any(index.table == table and index.columns[0] == column for index in INDEXES)
    # the SQL Datasette 0.65's ColumnFacet runs for a table page without filters
    plan = query_plan(
        tmp_path,
        f"select [{column}] as value, count(*) as count from (select * from [{table}])"
        f" where [{column}] is not null group by [{column}] order by count desc, value limit 31",
    )
    assert "COVERING INDEX" in plan, plan


@pytest.mark.parametrize(("table", "column", "descending"), SORTED_PAGES)
def test_each_table_page_reads_its_first_rows_in_order(tmp_path, table, column, descending):
    order = "desc" if descending else ""
    plan = query_plan(tmp_path, f"select * from [{table}] order by [{column}] {order} limit 51")
    assert "TEMP B-TREE" not in plan, plan
