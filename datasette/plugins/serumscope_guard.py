"""The public site's guard rails (docs/security.md): what a visitor cannot make the server do.

- Arbitrary SQL is Datasette's ``execute-sql`` permission, off unless ``serve --allow-sql``
  (``default_allow_sql``); the dashboards' own fixed chart queries are still allowed to run.
- Repeated ``_facet`` parameters, or more than ``max_facets`` of them, are refused with 400.
- An answer larger than ``max_response_bytes`` is refused with 400 (or cut, if it was streaming).
- No SQL value may grow past ``max_value_bytes`` (SQLite's length limit), so one step such as
  ``zeroblob(1e9)`` fails at once instead of taking gigabytes the time limit cannot stop.
- A canned query parameter the configuration names as numeric (``numeric_parameters``) that is not
  a number answers 400 with a message, instead of a query that quietly matches nothing.
- A ``_facet`` that is already one of the table's default facets is dropped (Datasette 0.65 would
  show that facet twice).
- Bad parameters (a missing sort column, an integer SQLite cannot hold, two statements in
  ``_where``...) answer 400 with the reason, not 500.

The per-client request rate is limited by the datasette-ip-rate-limit plugin (metadata.yml).
Limits are this plugin's configuration in metadata.yml (``plugins: serumscope-guard:``).
"""

from __future__ import annotations

import contextvars
import json
import re
import sqlite3
from urllib.parse import parse_qsl, urlencode

from datasette import hookimpl
from datasette.handle_exception import handle_exception as datasette_error_page
from datasette.views.base import DatasetteError

PLUGIN = "serumscope-guard"
DEFAULTS = {
    "max_facets": 5,
    "max_response_bytes": 10_000_000,
    "max_value_bytes": 10_000_000,
    "numeric_parameters": [],
}
FACET_PARAMETERS = ("_facet", "_facet_array", "_facet_date", "_facet_counted")
# Set for the request of a dashboard page or of one of its charts' fixed queries.
_dashboard_request: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "serumscope_dashboard_request", default=False
)


def _limits(datasette) -> dict:
    return {**DEFAULTS, **(datasette.plugin_config(PLUGIN) or {})}


def _normalised(sql: str) -> str:
    return " ".join(sql.split())


def dashboard_queries(datasette) -> set[str]:
    """The SQL of every datasette-dashboards chart (and filter) configured in metadata.yml."""
    queries = set()
    for dashboard in (datasette.plugin_config("datasette-dashboards") or {}).values():
        for part in ("charts", "filters"):
            for item in (dashboard.get(part) or {}).values():
                if isinstance(item, dict) and item.get("query"):
                    queries.add(_normalised(item["query"]))
    return queries


def number_problem(parameters: list[tuple[str, str]], numeric: list[str]) -> str | None:
    """Why a numeric parameter is refused (not a finite number), or None."""
    for name, value in parameters:
        if name in numeric and value.strip():
            try:
                number = float(value)
            except ValueError:
                number = None
            if number is None or number != number or number in (float("inf"), float("-inf")):
                return f"{name} must be a number, not {value[:50]!r}"
    return None


def without_default_facets(datasette, path: str, parameters: list[tuple[str, str]]):
    """``parameters`` without ``_facet`` values the table at ``path`` already facets by default."""
    parts = path.strip("/").split("/")
    if len(parts) != 2:
        return parameters
    table = re.sub(r"\.(json|csv)$", "", parts[1])
    configured = (datasette.table_metadata(parts[0], table) or {}).get("facets") or []
    # a column name, or {type: column} (the scores table's facets counted ahead)
    defaults = [f if isinstance(f, str) else next(iter(f.values())) for f in configured]
    return [
        (name, value) for name, value in parameters if not (name == "_facet" and value in defaults)
    ]


def facet_problem(parameters: list[tuple[str, str]], max_facets: int) -> str | None:
    """Why these facet parameters are refused, or None. Each facet is a grouped count over the
    whole table: a thousand of them held the server for 24 s."""
    facets = [(name, value) for name, value in parameters if name in FACET_PARAMETERS]
    if len(facets) != len(set(facets)):
        repeated = next(f for f in facets if facets.count(f) > 1)
        return f"{repeated[0]}={repeated[1]} is given more than once"
    if len(facets) > max_facets:
        return f"{len(facets)} facets asked for; at most {max_facets} per page"
    return None


async def _send_error(send, status: int, message: str, as_json: bool) -> None:
    if as_json:
        body = json.dumps({"ok": False, "error": message, "status": status}).encode()
        content_type = b"application/json; charset=utf-8"
    else:
        body = f"{status}: {message}\n".encode()
        content_type = b"text/plain; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type), (b"cache-control", b"no-store")],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Guard:
    def __init__(self, app, datasette):
        self.app = app
        self.datasette = datasette

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limits = _limits(self.datasette)
        path = scope.get("path") or ""
        as_json = ".json" in path
        # decoded as Datasette decodes it, so the guard judges the same query Datasette would run
        query = (scope.get("query_string") or b"").decode("utf-8", "replace")
        parameters = parse_qsl(query, True)
        if problem := facet_problem(parameters, int(limits["max_facets"])):
            return await _send_error(send, 400, problem, as_json)
        if problem := number_problem(parameters, list(limits["numeric_parameters"])):
            return await _send_error(send, 400, problem, as_json)
        if "_facet" in query:
            kept = without_default_facets(self.datasette, path, parameters)
            if kept != parameters:
                parameters = kept
                scope = {**scope, "query_string": urlencode(kept).encode()}
        sqls = [value for name, value in parameters if name == "sql"]
        if len(sqls) > 1:
            return await _send_error(send, 400, "give the sql parameter once", as_json)
        sql = sqls[0] if sqls else None
        dashboard = path.startswith("/-/dashboards") or (
            sql is not None and _normalised(sql) in dashboard_queries(self.datasette)
        )
        token = _dashboard_request.set(dashboard)
        try:
            await self.app(scope, receive, self.capped(send, int(limits["max_response_bytes"])))
        finally:
            _dashboard_request.reset(token)

    @staticmethod
    def capped(send, cap: int):
        """``send`` that refuses (400) an answer over ``cap`` bytes, or cuts one already streaming."""
        state = {"start": None, "sent": 0, "done": False}

        async def capped_send(message):
            if state["done"]:
                return
            if message["type"] == "http.response.start":
                state["start"] = message
                return
            if message["type"] != "http.response.body":
                return await send(message)
            state["sent"] += len(message.get("body", b""))
            if state["sent"] > cap:
                state["done"] = True
                if state["start"] is not None:
                    json_type = any(
                        k == b"content-type" and b"json" in v
                        for k, v in state["start"].get("headers", [])
                    )
                    message = (
                        f"the answer is larger than the site's limit of {cap:,} bytes: "
                        "ask for fewer rows (_size=) or columns (_col=)"
                    )
                    return await _send_error(send, 400, message, json_type)
                return await send({"type": "http.response.body", "body": b"", "more_body": False})
            if state["start"] is not None:
                await send(state["start"])
                state["start"] = None
            await send(message)

        return capped_send


@hookimpl
def asgi_wrapper(datasette):
    return lambda app: Guard(app, datasette)


@hookimpl(trylast=True)
def permission_allowed(action):
    # trylast: Datasette keeps the last answer, so this one wins over default_allow_sql = off.
    if action == "execute-sql" and _dashboard_request.get():
        return True
    return None


@hookimpl
def prepare_connection(conn, datasette):
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, int(_limits(datasette)["max_value_bytes"]))


# Errors that visitor input causes inside Datasette's views (found by trying them: issue 10).
_BAD_INPUT_TYPES = (OverflowError, ValueError, KeyError, sqlite3.ProgrammingError, sqlite3.Warning)
_BAD_INPUT_MESSAGES = re.compile(
    r"Cannot sort table by|no such column|string or blob too big|syntax error|unrecognized token"
    r"|one statement at a time",
    re.I,
)


def bad_request_reason(exception: Exception) -> str | None:
    """The message for a 400 when ``exception`` came from a bad parameter, else None."""
    if isinstance(exception, DatasetteError) and exception.status != 500:
        return None
    text = str(exception) or type(exception).__name__
    if isinstance(exception, _BAD_INPUT_TYPES) or _BAD_INPUT_MESSAGES.search(text):
        if isinstance(exception, OverflowError) or "too large to convert" in text:
            text = "a number in the request is too large"
        elif isinstance(exception, KeyError | json.JSONDecodeError):
            text = f"a parameter could not be read ({type(exception).__name__}: {text})"
        return text
    return None


@hookimpl
def handle_exception(datasette, request, exception):
    if not request.query_string:  # a parameterless page that fails is our bug: keep the 500
        return None
    reason = bad_request_reason(exception)
    if reason is None:
        return None
    return datasette_error_page(
        datasette, request, DatasetteError(f"Bad request: {reason}", status=400)
    )
