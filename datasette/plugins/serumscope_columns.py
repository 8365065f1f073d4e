"""The scores page opens on the columns a shopper compares at once (metadata.yml: serumscope-site
``scores_default_columns``): an HTML scores page asked for without ``_col`` is served as if those
were its ``_col`` parameters, so Datasette selects, renders and links only them. Rendering all 31
columns of 50 rows was most of the page's time at 100,000 listings (bench/serve.py). Every other
column stays one link away (``all_columns_url``: every column as ``_col``), and the JSON, CSV and
row pages are untouched.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from datasette import hookimpl

from serumscope.site import SITE_DB_NAME
from serumscope.store.site import SCORES

PLUGIN = "serumscope-site"
SCORES_TABLE = "scores"
# Datasette always shows the primary key (the row link) and takes it out of ``_col``.
SELECTABLE_COLUMNS = [column for column in SCORES.columns if column != SCORES.pk]


def default_columns(datasette) -> list[str]:
    return list((datasette.plugin_config(PLUGIN) or {}).get("scores_default_columns") or [])


def with_default_columns(query_string: bytes, columns: list[str]) -> bytes:
    """``query_string`` with ``_col`` for each of ``columns`` when it selects no columns itself
    (nor asks for the page as data, ``_format=json``)."""
    pairs = parse_qsl(query_string.decode("utf-8", "replace"), keep_blank_values=True)
    if not columns or any(key in ("_col", "_format") for key, _ in pairs):
        return query_string
    return urlencode([*pairs, *(("_col", column) for column in columns)]).encode()


def all_columns_url(request) -> str:
    """The page as it is (filters, sort, search) with every column."""
    pairs = [
        (key, value)
        for key, value in parse_qsl(request.query_string, keep_blank_values=True)
        if key not in ("_col", "_nocol", "_next")
    ]
    return f"{request.path}?{urlencode([*pairs, *(('_col', c) for c in SELECTABLE_COLUMNS)])}"


class DefaultColumns:
    def __init__(self, app, datasette):
        self.app = app
        self.datasette = datasette
        self.path = datasette.urls.path(f"{SITE_DB_NAME}/{SCORES_TABLE}")

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope.get("path") == self.path:
            columns = default_columns(self.datasette)
            query_string = with_default_columns(scope.get("query_string") or b"", columns)
            scope = {**scope, "query_string": query_string}
        return await self.app(scope, receive, send)


@hookimpl
def asgi_wrapper(datasette):
    return lambda app: DefaultColumns(app, datasette)


@hookimpl
def extra_template_vars(view_name, table, database, request):
    if view_name != "table" or table != SCORES_TABLE or database != SITE_DB_NAME:
        return {}
    shown = request.args.getlist("_col")
    return {
        "all_columns_url": all_columns_url(request),
        "showing_every_column": set(shown) >= set(SELECTABLE_COLUMNS)
        and not request.args.getlist("_nocol"),
    }
