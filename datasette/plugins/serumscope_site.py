"""serumscope's Datasette hooks: the listing and methodology pages, home page data, cell links.

Everything shown comes from shops and is untrusted: templates autoescape it, links are only made
from http(s) URLs, and the only scraped HTML rendered (a description as the shop formatted it) is
first cut down by nh3 to a few formatting tags without attributes.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import nh3
from datasette import hookimpl
from datasette.utils.asgi import NotFound, Response
from markupsafe import Markup, escape

from evaluator import load_rubric
from evaluator.rubrics import scored_rubric
from evaluator.vocab import RUBRIC_DIR
from serumscope.site import (
    SITE_DB_NAME,
    field_text,
    fts_query,
    highlighted_evidence,
    listing_id_from_path,
    listing_path,
    safe_http_url,
)

TOP_PICKS_SQL = """
select s.listing_id, s.name, s.brand, s.shop, s.score, s.verdict, s.verdict_reason,
  s.price_per_30ml, s.vitamin_c_percent, s.light, e.red_flags
from scores as s
left join evaluations as e on e.listing_id = s.listing_id and e.rubric = s.rubric
where s.verdict = 'recommend' and s.gone_since is null
order by s.score desc, s.price_per_30ml
limit 10
"""
VERDICT_COUNTS_SQL = """
select verdict, count(*) as listings from scores
where verdict is not null and gone_since is null group by verdict
order by case verdict when 'recommend' then 0 when 'consider' then 1 when 'avoid' then 2 else 3 end
"""
# "Data as of": when the last crawl that finished without trouble ended.
DATA_AS_OF_SQL = "select max(finished_at) as finished_at from crawl_runs where status = 'ok'"
LISTING_SQL = "select * from listings where id = ?"
# A listing page shows this many variants (a shop listing 100,000 made a 28 MB page), and links to
# the variants table for the rest; the price history shows its latest changes only.
VARIANTS_SHOWN = 100
PRICE_CHANGES_SHOWN = 500
VARIANTS_SQL = (
    "select * from variants where listing_id = ? and gone_since is null order by position"
    f" limit {VARIANTS_SHOWN}"
)
VARIANT_COUNT_SQL = "select count(*) as n from variants where listing_id = ? and gone_since is null"
EVALUATIONS_SQL = "select * from evaluations where listing_id = ? order by rubric = ? desc, rubric"
INGREDIENTS_SQL = "select * from ingredients where listing_id = ? order by position"
PRICE_HISTORY_SQL = f"""
select h.changed_at, h.price, h.currency, coalesce(v.title, v.size_text, 'price') as variant
from variant_history as h left join variants as v on v.id = h.variant_id
where h.listing_id = ? and h.price is not null
order by h.id desc
limit {PRICE_CHANGES_SHOWN}
"""


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


async def _rows(db, sql: str, params=()) -> list[dict]:
    try:
        return [dict(row) for row in (await db.execute(sql, params)).rows]
    except Exception as error:  # a table another stage creates may not exist yet
        if "no such table" in str(error):
            return []
        raise


def _decoded(value):
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


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
    listings = await _rows(db, LISTING_SQL, [listing_id])
    if not listings:
        raise NotFound(f"No listing {listing_id!r}")
    listing = listings[0]
    variants = await _rows(db, VARIANTS_SQL, [listing_id])
    evaluations = await _rows(db, EVALUATIONS_SQL, [listing_id, scored_rubric()])
    for evaluation in evaluations:
        evaluation["vitamin_c_forms"] = _decoded(evaluation["vitamin_c_forms"]) or []
        evaluation["red_flags"] = _red_flags(evaluation.get("red_flags"))
        breakdown = _decoded(evaluation["breakdown"]) or []
        for criterion in breakdown if isinstance(breakdown, list) else []:
            criterion["quotes"] = [
                {
                    "field": item.get("field"),
                    "segments": highlighted_evidence(
                        field_text(listing, variants, item.get("field")), item
                    ),
                }
                for item in criterion.get("evidence") or []
            ]
        evaluation["breakdown"] = breakdown if isinstance(breakdown, list) else []
    price_history = list(reversed(await _rows(db, PRICE_HISTORY_SQL, [listing_id])))
    variant_count = (await _rows(db, VARIANT_COUNT_SQL, [listing_id]))[0]["n"]
    return Response.html(
        await datasette.render_template(
            "listing.html",
            {
                "listing": listing,
                "shop_url": safe_http_url(listing.get("url")),
                "description_formatted": sanitised_description(listing.get("description_html")),
                "variants": variants,
                "variant_count": variant_count,
                "all_variants_url": datasette.urls.table(SITE_DB_NAME, "variants")
                + "?"
                + urlencode(
                    {"listing_id": listing_id, "gone_since__isnull": "1", "_sort": "position"}
                ),
                "evaluations": evaluations,
                "ingredients": await _rows(db, INGREDIENTS_SQL, [listing_id]),
                "price_history": price_history,
                "price_history_json": json.dumps(
                    [
                        {
                            "changed_at": row["changed_at"],
                            "price": float(row["price"]),
                            "variant": row["variant"],
                        }
                        for row in price_history
                        if _is_number(row["price"])
                    ]
                ),
                "db_name": SITE_DB_NAME,
            },
            request=request,
        )
    )


# The shop's own formatting of its description, without links, images, styles or scripts.
DESCRIPTION_TAGS = {"p", "br", "ul", "ol", "li", "strong", "b", "em", "i", "h2", "h3", "h4", "h5"}


def sanitised_description(description_html: str | None) -> Markup | None:
    if not description_html:
        return None
    return Markup(nh3.clean(description_html, tags=DESCRIPTION_TAGS, attributes={}))


def _red_flags(stored) -> list[dict]:
    """The stored red flags (evaluator/red_flags.py), or none when unreadable."""
    flags = _decoded(stored)
    return [f for f in flags if isinstance(f, dict)] if isinstance(flags, list) else []


def _is_number(text) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


async def methodology_page(datasette, request):
    await datasette.ensure_permissions(request.actor, ["view-instance"])
    rubrics = [rubric for rubric in map(_load_rubric, _rubric_names()) if rubric]
    return Response.html(
        await datasette.render_template(
            "methodology.html", {"rubrics": rubrics, "db_name": SITE_DB_NAME}, request=request
        )
    )


@hookimpl
def register_routes():
    return [
        (r"^/$", home_page),
        (r"^/listing/(?P<listing_id>[^/]+)$", listing_page),
        (r"^/methodology$", methodology_page),
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
    top_picks = await _rows(db, TOP_PICKS_SQL)
    for pick in top_picks:
        pick["red_flags"] = _red_flags(pick["red_flags"])
    return Response.html(
        await datasette.render_template(
            "home.html",
            {
                "metadata": datasette.metadata(),
                "top_picks": top_picks,
                "data_as_of": ((await _rows(db, DATA_AS_OF_SQL)) or [{}])[0].get("finished_at"),
                "verdict_counts": await _rows(db, VERDICT_COUNTS_SQL),
                "rubric": _load_rubric(scored_rubric()),
                "db_name": SITE_DB_NAME,
            },
            request=request,
        )
    )


@hookimpl
def extra_template_vars():
    return {"listing_path": listing_path}


@hookimpl
def render_cell(row, value, column, table, database):
    if database != SITE_DB_NAME or value is None:
        return None
    columns = row.keys() if hasattr(row, "keys") else []
    if column == "url":
        url = safe_http_url(value)
        return (
            Markup(f'<a href="{escape(url)}" rel="nofollow noopener">{escape(value)}</a>')
            if url
            else None
        )
    if isinstance(value, dict) and column == "listing_id":  # a foreign key Datasette labelled
        listing_id, label = value.get("value"), value.get("label")
        href = escape(listing_path(str(listing_id)))
        return Markup(
            f'<a href="{href}" title="{escape(listing_id)}">{escape(label or listing_id)}</a>'
        )
    if column == "listing_id" or (column == "id" and table == "listings"):
        return Markup(f'<a href="{escape(listing_path(str(value)))}">{escape(value)}</a>')
    if column in ("name", "title") and "listing_id" in columns and row["listing_id"]:
        href = listing_path(str(row["listing_id"]))
        return Markup(f'<a href="{escape(href)}">{escape(value)}</a>')
    return None
