"""serumscope's Datasette hooks: the listing and methodology pages, home page data, cell links.

Everything shown comes from shops and is untrusted: templates autoescape it, links are only made
from http(s) URLs, and the only scraped HTML rendered (a description as the shop formatted it) is
first cut down by nh3 to a few formatting tags without attributes.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import parse_qsl, urlencode

import nh3
from datasette import hookimpl
from datasette.utils import path_with_replaced_args, to_css_class
from datasette.utils.asgi import NotFound, Response
from markupsafe import Markup, escape

from evaluator import load_rubric
from evaluator.categories import DEFAULT_CATEGORY, categories
from evaluator.rubrics import scored_rubric
from evaluator.vocab import RUBRIC_DIR
from serumscope.site import (
    SITE_DB_NAME,
    fts_query,
    listing_id_from_path,
    listing_path,
    safe_http_url,
)
from serumscope.site_devices import DEVICE_CATEGORY, device_listing_extras, devices_context
from serumscope.site_pages import (
    COMPARE_MAX,
    TOP_PICKS_SQL,
    VERDICT_COUNTS_SQL,
    compare_context,
    listing_context,
    red_flags,
    rows,
)
from serumscope.site_products import also_sold_at, product_context

# "Data as of": when the last crawl that finished without trouble ended.
DATA_AS_OF_SQL = "select max(finished_at) as finished_at from crawl_runs where status = 'ok'"
# The shopper's filter page (the `find` canned query) offers these columns' values as choices, read
# in one query (one trip to Datasette's SQL thread, not three). Each list is DISTINCT alone in its
# subquery, so SQLite skips through the index that leads with its column; a DISTINCT that also
# selected the constant name read every row into a temporary b-tree (43 ms instead of 0.03).
FIND_CHOICE_COLUMNS = {"form": "vitamin_c_form", "light": "light", "shop": "shop"}
FIND_CHOICES_SQL = (
    " union all ".join(
        f"select * from (select '{name}' as choice, value from (select distinct {column} as value"
        f" from scores where {column} is not null and gone_since is null))"
        for name, column in FIND_CHOICE_COLUMNS.items()
    )
    + " order by choice, value"
)


def _site_db(datasette):
    try:
        return datasette.get_database(SITE_DB_NAME)
    except KeyError:
        raise NotFound("serumscope database not attached") from None


def _rubric_names() -> list[str]:
    names = {path.stem for path in RUBRIC_DIR.glob("*.toml")}
    return sorted(names, key=lambda name: (name != scored_rubric(), name))


def _load_rubric(name: str) -> dict | None:
    try:
        return load_rubric(name)
    except (FileNotFoundError, KeyError, ValueError):  # a broken rubric file hides only itself
        return None


async def listing_page(datasette, request):
    await datasette.ensure_permissions(
        request.actor,
        [
            ("view-table", (SITE_DB_NAME, "listings")),
            ("view-database", SITE_DB_NAME),
            "view-instance",
        ],
    )
    db = _site_db(datasette)
    listing_id = listing_id_from_path(request.url_vars["listing_id"])
    context = await listing_context(db, listing_id)
    if context is None:
        raise NotFound(f"No listing {listing_id!r}")
    listing = context["listing"]
    context["also_sold_at"] = await also_sold_at(db, listing_id)
    if listing.get("category") == DEVICE_CATEGORY:
        evaluation = context["evaluations"][0] if context["evaluations"] else None
        context.update(await device_listing_extras(db, listing_id, evaluation))
    return Response.html(
        await datasette.render_template(
            "listing.html",
            {
                **context,
                "description_formatted": sanitised_description(listing.get("description_html")),
                "all_variants_url": datasette.urls.table(SITE_DB_NAME, "variants")
                + "?"
                + urlencode(
                    {"listing_id": listing_id, "gone_since__isnull": "1", "_sort": "position"}
                ),
                "db_name": SITE_DB_NAME,
            },
            request=request,
        )
    )


async def product_page(datasette, request):
    await datasette.ensure_permissions(
        request.actor,
        [
            ("view-table", (SITE_DB_NAME, "products")),
            ("view-database", SITE_DB_NAME),
            "view-instance",
        ],
    )
    context = await product_context(_site_db(datasette), int(request.url_vars["product_id"]))
    if context is None:
        raise NotFound(f"No product {request.url_vars['product_id']!r}")
    return Response.html(
        await datasette.render_template(
            "product.html", {**context, "db_name": SITE_DB_NAME}, request=request
        )
    )


async def compare_page(datasette, request):
    await datasette.ensure_permissions(
        request.actor,
        [("view-table", (SITE_DB_NAME, "listings")), ("view-database", SITE_DB_NAME)],
    )
    db = _site_db(datasette)
    ids = [listing_id_from_path(i) if i.startswith("/") else i for i in request.args.getlist("id")]
    return Response.html(
        await datasette.render_template(
            "compare.html",
            {**await compare_context(db, ids), "db_name": SITE_DB_NAME},
            request=request,
        )
    )


# The shop's own formatting of its description, without links, images, styles or scripts.
DESCRIPTION_TAGS = {"p", "br", "ul", "ol", "li", "strong", "b", "em", "i", "h2", "h3", "h4", "h5"}


def sanitised_description(description_html: str | None) -> Markup | None:
    if not description_html:
        return None
    return Markup(nh3.clean(description_html, tags=DESCRIPTION_TAGS, attributes={}))


async def methodology_page(datasette, request):
    await datasette.ensure_permissions(request.actor, ["view-instance"])
    rubrics = [rubric for rubric in map(_load_rubric, _rubric_names()) if rubric]
    return Response.html(
        await datasette.render_template(
            "methodology.html",
            {
                "rubrics": rubrics,
                "nouns": {c.id: c.noun for c in categories()},
                "db_name": SITE_DB_NAME,
            },
            request=request,
        )
    )


async def devices_page(datasette, request):
    await datasette.ensure_permissions(
        request.actor, [("view-table", (SITE_DB_NAME, "scores")), ("view-database", SITE_DB_NAME)]
    )
    db = _site_db(datasette)
    return Response.html(
        await datasette.render_template(
            "devices.html", {**await devices_context(db), "db_name": SITE_DB_NAME}, request=request
        )
    )


@hookimpl
def register_routes():
    return [
        (r"^/$", home_page),
        (r"^/listing/(?P<listing_id>[^/]+)$", listing_page),
        (r"^/product/(?P<product_id>[0-9]{1,18})$", product_page),
        (r"^/methodology$", methodology_page),
        (r"^/compare$", compare_page),
        (r"^/devices$", devices_page),
    ]


class AbsoluteFeedLinks:
    """Atom entries link to pages of this site by absolute URL, as feed readers need: the feed
    query's ``atom_link`` is a path, made absolute here with the request's own scheme and host."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope.get("path", "").endswith(".atom"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1") or "localhost"
        base = f"{scope.get('scheme', 'http')}://{host}"
        start, chunks = None, []

        async def absolute_send(message):
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                return await send(message)
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks).replace(b'href="/', f'href="{escape(base)}/'.encode())
            response_headers = [
                (k, str(len(body)).encode() if k == b"content-length" else v)
                for k, v in start.get("headers", [])
            ]
            await send({**start, "headers": response_headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, absolute_send)


@hookimpl
def asgi_wrapper():
    return AbsoluteFeedLinks


@hookimpl
def prepare_connection(conn):
    conn.create_function("fts_query", 1, fts_query, deterministic=True)
    conn.create_function(
        "listing_path", 1, lambda listing_id: listing_path(str(listing_id)), deterministic=True
    )


async def home_page(datasette, request):
    # A route rather than an index.html override: Datasette's index view counts the rows of every
    # table first, which was two thirds of the home page's time on 100k listings.
    await datasette.ensure_permissions(request.actor, ["view-instance"])
    db = _site_db(datasette)
    serums = {"category": DEFAULT_CATEGORY}
    top_picks = await rows(db, TOP_PICKS_SQL, serums)
    for pick in top_picks:
        pick["red_flags"] = red_flags(pick["red_flags"])
    return Response.html(
        await datasette.render_template(
            "home.html",
            {
                "metadata": datasette.metadata(),
                "top_picks": top_picks,
                "data_as_of": ((await rows(db, DATA_AS_OF_SQL)) or [{}])[0].get("finished_at"),
                "verdict_counts": await rows(db, VERDICT_COUNTS_SQL, serums),
                "serum_category": DEFAULT_CATEGORY,
                "device_counts": await rows(db, VERDICT_COUNTS_SQL, {"category": DEVICE_CATEGORY}),
                "rubric": _load_rubric(scored_rubric()),
                "db_name": SITE_DB_NAME,
            },
            request=request,
        )
    )


@hookimpl
def extra_template_vars(view_name, request, datasette):
    async def template_vars():
        config = datasette.plugin_config("serumscope-site") or {}
        variables = {
            "listing_path": listing_path,
            "compare_max": COMPARE_MAX,
            "column_order": column_order,
            "sort_urls": sort_urls,
            "table_rows_html": table_rows_html,
            "query_rows_html": query_rows_html,
            "scores_columns_first": config.get("scores_columns_first", []),
            "query_page_rows": config.get("query_page_rows", 50),
            "page_url": lambda page: path_with_replaced_args(request, {"page": page}),
        }
        if request is not None and request.path == f"/{SITE_DB_NAME}/find":
            db = _site_db(datasette)
            choices: dict[str, list] = {name: [] for name in FIND_CHOICE_COLUMNS}
            for row in await rows(db, FIND_CHOICES_SQL):
                choices[row["choice"]].append(row["value"])
            variables["find_choices"] = choices
        return variables

    return template_vars


def column_order(names: list[str], first: list[str]) -> list[int]:
    """Positions of ``names`` with those in ``first`` leading, in that order, the rest after."""
    leading = [names.index(name) for name in first if name in names]
    return leading + [i for i in range(len(names)) if i not in leading]


def sort_urls(request, names: list[str], sort: str | None) -> dict[str, str]:
    """Each column's sort link on a table page as Datasette's _table.html makes it with
    path_with_replaced_args (descending for the column sorted ascending, else ascending), the
    query string, a dozen ``_col`` included, read and encoded once instead of once per column."""
    kept = urlencode(
        [
            (key, value)
            for key, value in parse_qsl(request.query_string)
            if key not in ("_sort", "_sort_desc", "_next")
        ]
    )
    prefix = f"{request.path}?{kept}&" if kept else f"{request.path}?"
    return {
        name: prefix + urlencode([("_sort_desc" if name == sort else "_sort", name)])
        for name in names
    }


def table_rows_html(rows, order: list[int]) -> Markup:
    """The body rows of a table page (templates/_table-serumscope-scores.html) in one call, each
    cell naming its column: Jinja's async rendering of ~1,250 cells, a fragment at a time, was
    most of the scores page's time at 100,000 listings (bench/serve.py)."""
    opening: dict[tuple[str, str], str] = {}  # each column's and value type's <td ...> tag, once
    parts = []
    for row in rows:
        parts.append("<tr>")
        for i in order:
            cell = row.cells[i]
            key = (cell["column"], cell["value_type"])
            if key not in opening:
                opening[key] = (
                    f'<td class="col-{escape(to_css_class(key[0]))} type-{escape(key[1])}"'
                    f' data-column="{escape(key[0])}">'
                )
            parts += (opening[key], cell_html(cell["value"]), "</td>")
        parts.append("</tr>\n")
    return Markup("".join(parts))


def query_rows_html(columns: list[str], rows) -> Markup:
    """A query page's result rows (templates/query-serumscope.html) in one call, for the same reason
    as table_rows_html."""
    opening = [f'<td class="col-{escape(to_css_class(column))}">' for column in columns]
    parts = []
    for row in rows:
        parts.append("<tr>")
        for tag, value in zip(opening, row, strict=False):
            parts += (tag, cell_html(value), "</td>")
        parts.append("</tr>\n")
    return Markup("".join(parts))


def cell_html(value) -> str:
    """A cell's display value as HTML: markup as it is, a number as its digits, text escaped
    (markupsafe's escape makes a new Markup even of markup or a number: ~0.5 us a cell)."""
    kind = type(value)
    if kind is Markup:
        return value
    return str(value) if kind is int or kind is float else escape(value)


def compare_checkbox(listing_id: str, name: str) -> str:
    """A checkbox of the page's compare form (``form="compare"``, templates/_compare_form.html)."""
    return (
        f'<input type="checkbox" class="compare-pick" form="compare" name="id"'
        f' value="{escape(listing_id)}" aria-label="compare {escape(name)}"> '
    )


LINKED_COLUMNS = frozenset({"url", "listing_id", "id", "name", "title"})


@lru_cache(maxsize=4096)
def listing_href(listing_id: str) -> str:
    """A listing page's path, escaped for an attribute: the same listings come back on page after
    page (top scores, a search's best matches), and tilde-encoding is most of a link's cost."""
    return str(escape(listing_path(listing_id)))


@hookimpl
def render_cell(row, value, column, table, database):
    # called for every cell of every page: most cells leave at the first test
    if column not in LINKED_COLUMNS or value is None or database != SITE_DB_NAME:
        return None
    if column == "url":
        url = safe_http_url(value)
        return (
            Markup(f'<a href="{escape(url)}" rel="nofollow noopener">{escape(value)}</a>')
            if url
            else None
        )
    if isinstance(value, dict) and column == "listing_id":  # a foreign key Datasette labelled
        listing_id, label = value.get("value"), value.get("label")
        return Markup(
            f'<a href="{listing_href(str(listing_id))}" title="{escape(listing_id)}">'
            f"{escape(label or listing_id)}</a>"
        )
    if column == "listing_id" or (column == "id" and table == "listings"):
        return Markup(f'<a href="{listing_href(str(value))}">{escape(value)}</a>')
    columns = row.keys() if column in ("name", "title") and hasattr(row, "keys") else []
    if "listing_id" in columns and row["listing_id"]:
        listing_id = row["listing_id"]
        listing_id = listing_id.get("value") if isinstance(listing_id, dict) else listing_id
        link = f'<a href="{listing_href(str(listing_id))}">{escape(value)}</a>'
        if table == "scores" or table is None and "score" in columns:  # scores and its queries
            link = compare_checkbox(str(listing_id), str(value)) + link
        return Markup(link)
    return None
