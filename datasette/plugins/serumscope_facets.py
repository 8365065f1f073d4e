"""The scores table's default facets, counted ahead: metadata.yml names them ``{counted: column}``.

On the unfiltered scores page their counts come from ``scores_facet_counts``, which the store's
triggers keep equal to the table (store/site.py): Datasette would group every row of the table once
per facet and request, most of the page's time at 100,000 listings. A filtered or searched page
counts its own rows, all facets in one query over the page's rows selected once (Datasette runs the
page's query again for each facet, a full-text match included), and shows them as Datasette's
column facet does. Full-text search results show no default facets (``searched``).
"""

from __future__ import annotations

import json
import urllib.parse

from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.facets import ColumnFacet
from datasette.utils import escape_sqlite, path_with_removed_args

from serumscope.store.indexes import FACET_COLUMNS
from serumscope.store.site import FACET_COUNTS_TABLE

COUNTED_TABLE = "scores"


def _top_values(counted_sql: str) -> str:
    """The first ``:counted_facet_size`` values of each facet, most frequent first."""
    return f"""
select facet, value, count from (
  select facet, value, count,
    row_number() over (partition by facet order by count desc, value) as n
  from ({counted_sql})
)
where n <= :counted_facet_size
order by facet, count desc, value
"""


STORED_SQL = _top_values(
    f"select facet, value, count from {FACET_COUNTS_TABLE}"
    " where count > 0 and facet in (select value from json_each(:counted_facets))"
)


def rows_sql(page_sql: str, columns: list[str]) -> str:
    """Every facet of ``columns`` (names from FACET_COLUMNS) counted over the rows of ``page_sql``,
    selected once."""
    selected = ", ".join(escape_sqlite(column) for column in columns)
    grouped = " union all ".join(
        f"select '{column}' as facet, {escape_sqlite(column)} as value,"
        f" count(*) as count from page_rows where {escape_sqlite(column)} is not null"
        f" group by {escape_sqlite(column)}"
        for column in columns
    )
    return f"with page_rows as materialized (select {selected} from ({page_sql}))\n" + _top_values(
        grouped
    )


class CountedFacet(ColumnFacet):
    type = "counted"

    def _unfiltered(self) -> bool:
        # Datasette's SQL for the table's rows, without a WHERE clause when nothing filters them
        return not self.params and self.sql.rstrip().endswith(f"from {escape_sqlite(self.table)}")

    def searched(self) -> bool:
        """Search results are not counted: it would read every match a third time (after the
        page and its count), most of a search page's time at 100,000 listings."""
        args = self.request.args
        return any(k.startswith("_search") and k != "_searchmode" and args.get(k) for k in args)

    async def facet_results(self):
        configs = self.get_configs()
        columns = [c["config"].get("column") or c["config"]["simple"] for c in configs]
        if not columns or self.searched():
            return [], []
        if self.table != COUNTED_TABLE or not set(columns) <= set(FACET_COLUMNS):
            results, timed_out = await super().facet_results()
            for result in results:
                result["type"] = "column"  # shown and served as the column facet it is
            return results, timed_out
        size = self.get_facet_size()
        db = self.ds.get_database(self.database)
        try:
            if self._unfiltered():
                parameters = {"counted_facets": json.dumps(columns)}
                rows = await db.execute(STORED_SQL, {**parameters, "counted_facet_size": size + 1})
            else:
                rows = await db.execute(
                    rows_sql(self.sql, columns),
                    {**dict(self.params or {}), "counted_facet_size": size + 1},
                    truncate=False,
                    custom_time_limit=self.ds.setting("facet_time_limit_ms"),
                )
        except QueryInterrupted:
            return [], columns
        counts: dict[str, list] = {column: [] for column in columns}
        for row in rows:
            counts[row["facet"]].append(row)
        return [
            self._result(column, config["source"], counts[column], size)
            for config, column in zip(configs, columns, strict=True)
        ], []

    def _result(self, column: str, source: str, rows: list, size: int) -> dict:
        """One facet as Datasette's column facet shows it (a value in the query string is selected;
        its link removes it, any other value's link adds it). The page's own address is made once
        per facet and each value's link appended to it: Datasette's path_with_added_args parses
        and encodes the whole query string again for every value."""
        pairs = urllib.parse.parse_qsl(self.request.query_string, keep_blank_values=True)
        page = self.ds.absolute_url(self.request, self.ds.urls.path(self.request.path))
        # as path_with_added_args keeps them (blank values dropped)
        kept = urllib.parse.urlencode(urllib.parse.parse_qsl(self.request.query_string))
        quote_column = urllib.parse.quote_plus(column)
        results = []
        for row in rows[:size]:
            selected = (column, str(row["value"])) in pairs
            if selected:
                path = path_with_removed_args(self.request, {column: str(row["value"])})
                toggle_url = self.ds.absolute_url(self.request, self.ds.urls.path(path))
            else:
                # urlencode's encoding of the one pair, without its per-call checks
                added = f"{quote_column}={urllib.parse.quote_plus(str(row['value']))}"
                toggle_url = f"{page}?{kept}&{added}" if kept else f"{page}?{added}"
            results.append(
                {
                    "value": row["value"],
                    "label": row["value"],
                    "count": row["count"],
                    "toggle_url": toggle_url,
                    "selected": selected,
                }
            )
        return {
            "name": column,
            "type": "column",  # shown and served as the column facet it is
            "hideable": source != "metadata",
            "toggle_url": self.ds.urls.path(
                path_with_removed_args(self.request, {f"_facet_{self.type}": column})
            ),
            "results": results,
            "truncated": len(rows) > size,
        }


@hookimpl
def register_facet_classes():
    return [CountedFacet]
