"""The scores table's default facets, counted ahead: metadata.yml names them ``{counted: column}``.

On the unfiltered scores page their counts come from ``scores_facet_counts``, which the store's
triggers keep equal to the table (store/site.py): Datasette would group every row of the table once
per facet and request, most of the page's time at 100,000 listings. A filtered or searched page
counts its own rows as Datasette's column facet does.
"""

from __future__ import annotations

import json

from datasette import hookimpl
from datasette.facets import ColumnFacet
from datasette.utils import escape_sqlite, path_with_added_args, path_with_removed_args

from serumscope.store.indexes import FACET_COLUMNS
from serumscope.store.site import FACET_COUNTS_TABLE

COUNTED_TABLE = "scores"

COUNTS_SQL = f"""
select facet, value, count from (
  select facet, value, count,
    row_number() over (partition by facet order by count desc, value) as n
  from {FACET_COUNTS_TABLE}
  where count > 0 and facet in (select value from json_each(:facets))
)
where n <= :size
order by facet, count desc, value
"""


class CountedFacet(ColumnFacet):
    type = "counted"

    def _unfiltered(self) -> bool:
        # Datasette's SQL for the table's rows, without a WHERE clause when nothing filters them
        return not self.params and self.sql.rstrip().endswith(f"from {escape_sqlite(self.table)}")

    async def facet_results(self):
        configs = self.get_configs()
        columns = [c["config"].get("column") or c["config"]["simple"] for c in configs]
        if (
            self.table == COUNTED_TABLE
            and self._unfiltered()
            and set(columns) <= set(FACET_COLUMNS)
        ):
            results, timed_out = await self._counted_results(configs, columns), []
        else:
            results, timed_out = await super().facet_results()
        for result in results:
            result["type"] = "column"  # shown and served as the column facet it is
        return results, timed_out

    async def _counted_results(self, configs: list[dict], columns: list[str]) -> list[dict]:
        size = self.get_facet_size()
        rows = await self.ds.get_database(self.database).execute(
            COUNTS_SQL, {"facets": json.dumps(columns), "size": size + 1}
        )
        counts: dict[str, list] = {column: [] for column in columns}
        for row in rows:
            counts[row["facet"]].append(row)
        return [
            {
                "name": column,
                "type": self.type,
                "hideable": config["source"] != "metadata",
                "toggle_url": self.ds.urls.path(
                    path_with_removed_args(self.request, {f"_facet_{self.type}": column})
                ),
                "results": [
                    {
                        "value": row["value"],
                        "label": row["value"],
                        "count": row["count"],
                        "toggle_url": self.ds.absolute_url(
                            self.request,
                            self.ds.urls.path(
                                path_with_added_args(self.request, {column: row["value"]})
                            ),
                        ),
                        "selected": False,  # a selected value filters the page
                    }
                    for row in counts[column][:size]
                ],
                "truncated": len(counts[column]) > size,
            }
            for config, column in zip(configs, columns, strict=True)
        ]


@hookimpl
def register_facet_classes():
    return [CountedFacet]
