"""The Datasette site: one factory used by ``serumscope serve``, the tests and the benchmark.

The database is always mounted as ``serumscope`` whatever its file is called, so ``metadata.yml``,
the dashboards and the templates can name it. Datasette opens a mutable database read-only
(``mode=ro``) for every query and nothing here asks it to write, so a crawl may write while it serves.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from datasette.app import Datasette
from datasette.database import Database
from datasette.plugins import pm
from datasette.utils import tilde_decode, tilde_encode

from evaluator.headline import HEADLINE_FACTS
from evaluator.text import parse_field_path, resolve_field
from serumscope.paths import DATASETTE_DIR
from serumscope.store.tables import LISTING_JSON_COLUMNS

SITE_DB_NAME = "serumscope"

# Chosen for 100k listings on 2 cores (see bench/serve.py): facet suggestions cost seconds per page;
# a 64 MB page cache per connection (filled only as pages are read) made full-text search pages with
# facets ~1.7x faster; two SQL threads so one slow query does not queue every other request; and no
# query a visitor can build holds the process for long.
SETTINGS: dict[str, Any] = {
    "cache_size_kb": 65536,
    "suggest_facets": False,
    "sql_time_limit_ms": 2500,
    "facet_time_limit_ms": 1000,
    "max_returned_rows": 1000,
    "default_page_size": 50,
    "num_sql_threads": 2,
    "allow_download": False,
    "max_csv_mb": 5,  # a streamed CSV (?_stream=on, every row) stops there, saying so
    "default_cache_ttl": 60,
    # Arbitrary SQL (and _where=) only when the operator asks: `serumscope serve --allow-sql`.
    "default_allow_sql": False,
}
RATE_LIMIT_PLUGIN = "datasette-ip-rate-limit"
# datasette-render-markdown comes with datasette-dashboards for its markdown charts (this site has
# none) and looks its configuration up for every cell of every HTML table, rendering none of ours:
# a third of the scores page and half of a 500-row query page (bench/serve.py).
# datasette-atom, which serumscope no longer installs, may linger in an older environment: its
# `.atom` renderer would replace datasette/plugins/serumscope_feed.py's.
UNUSED_PLUGINS = ("render_markdown", "atom")

EVIDENCE_CONTEXT_CHARS = 70


def site_metadata(rate_limit: int | None = None) -> dict[str, Any]:
    """``datasette/metadata.yml``, with the headline facts' column descriptions
    (evaluator/headline.py) and the per-client limit of requests per minute replaced by
    ``rate_limit`` when given (0 switches it off)."""
    metadata = yaml.safe_load((DATASETTE_DIR / "metadata.yml").read_text())
    tables = metadata["databases"][SITE_DB_NAME]["tables"]
    for fact in HEADLINE_FACTS:  # described once, where they are declared
        tables["evaluations"]["columns"][fact.column] = fact.description
        if fact.on_scores:
            tables["scores"]["columns"][fact.column] = fact.description
    if rate_limit is not None:
        config = metadata["plugins"][RATE_LIMIT_PLUGIN]
        if rate_limit <= 0:
            config["enabled"] = False
        for rule in config["rules"]:
            rule.update(max_requests=rate_limit, window_seconds=60)
    return metadata


def make_datasette(
    db_path: str | Path,
    settings: dict[str, Any] | None = None,
    *,
    allow_sql: bool = False,
    rate_limit: int | None = None,
) -> Datasette:
    """A Datasette configured from ``datasette/`` serving ``db_path`` read-only as ``serumscope``.
    ``allow_sql`` lets visitors run their own read-only SQL; ``rate_limit`` replaces the requests
    per minute per client of metadata.yml (0: no limit)."""
    for plugin in UNUSED_PLUGINS:
        pm.set_blocked(plugin)
    db_path = Path(db_path)
    if not db_path.exists():
        raise FileNotFoundError(f"no database at {db_path}: run `serumscope crawl` first")
    ds = Datasette(
        config_dir=DATASETTE_DIR,
        metadata=site_metadata(rate_limit),
        settings={**SETTINGS, "default_allow_sql": allow_sql, **(settings or {})},
    )
    ds.add_database(Database(ds, path=str(db_path), is_mutable=True), name=SITE_DB_NAME)
    return ds


def listing_path(listing_id: str) -> str:
    """The site path of a listing's page (ids may hold ``:`` and whole URLs, so tilde-encoded)."""
    return "/listing/" + tilde_encode(listing_id)


def listing_id_from_path(encoded: str) -> str:
    return tilde_decode(encoded)


def safe_http_url(url: Any) -> str | None:
    """``url`` if it is an absolute http(s) URL, else None: scraped links never become script."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if re.search(r"[\x00-\x20]", url):
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return url
    return None


def highlighted_evidence(source: str | None, evidence: dict) -> list[tuple[str, bool]]:
    """One evidence span with some text either side, as ``(text, is_evidence)`` segments."""
    return highlighted_spans(source, [evidence])


def highlighted_spans(source: str | None, evidence: list[dict]) -> list[tuple[str, bool]]:
    """Every evidence span of one field in one snippet: each span with some text either side,
    windows that touch merged, "…" where text is left out; as ``(text, is_evidence)`` segments.

    Segments, not HTML: the template escapes each one and wraps the evidence in ``<mark>``.
    Falls back to finding the quoted text when the offsets no longer match the stored field.
    """
    quotes = [item.get("text") or "" for item in evidence]
    if not source:
        return [(quote, True) for quote in dict.fromkeys(quotes) if quote]
    spans, unplaced = [], []
    for item, quote in zip(evidence, quotes, strict=True):
        start, end = item.get("start"), item.get("end")
        if not (isinstance(start, int) and isinstance(end, int) and source[start:end] == quote):
            start = source.find(quote) if quote else -1
            end = start + len(quote)
        if quote and start >= 0:
            spans.append([start, end])
        elif quote:
            unplaced.append(quote)
    marks: list[list[int]] = []  # overlapping spans ("20% vitamin C", "vitamin C") marked as one
    for span in sorted(spans):
        if marks and span[0] <= marks[-1][1]:
            marks[-1][1] = max(marks[-1][1], span[1])
        else:
            marks.append(span)
    segments: list[tuple[str, bool]] = []
    shown_to = 0
    for start, end in marks:
        context_from = max(shown_to, start - EVIDENCE_CONTEXT_CHARS)
        gap = "…" if context_from > shown_to else ""
        segments += [(gap + source[context_from:start], False), (source[start:end], True)]
        shown_to = end
        next_start = next((m[0] for m in marks if m[0] >= end), len(source))
        context_to = min(len(source), end + EVIDENCE_CONTEXT_CHARS, next_start)
        segments.append((source[end:context_to], False))
        shown_to = context_to
    if segments and shown_to < len(source):
        segments.append(("…", False))
    joined: list[tuple[str, bool]] = []
    for text, is_evidence in segments:
        if joined and not is_evidence and not joined[-1][1]:
            joined[-1] = (joined[-1][0] + text, False)
        elif text:
            joined.append((text, is_evidence))
    return joined + [(quote, True) for quote in unplaced]


def field_text(listing: dict, variants: list[dict], field: str | None) -> str | None:
    """The text an evidence ``field`` names (``description``, ``image_alts[0]``,
    ``variants[1].price``) in a stored listing row; None when the path does not lead to text."""
    decoded: dict[str, Any] = {**listing, "variants": variants}
    for column in LISTING_JSON_COLUMNS:
        if isinstance(decoded.get(column), str):
            try:
                decoded[column] = json.loads(decoded[column])
            except ValueError:
                decoded[column] = None
    return resolve_field(decoded, field or "")


FIELD_WORDS = {
    "title": "name",
    "brand": "brand",
    "description": "description",
    "description_html": "description",
    "ingredients_text": "ingredient list",
    "details": "product details",
    "image_alts": "image text",
    "tags": "shop tag",
    "categories": "category",
    "variants": "variant",
}
VARIANT_FIELD_WORDS = {
    "price": "price",
    "regular_price": "regular price",
    "size_text": "size",
    "title": "name",
    "sku": "SKU",
}
ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"]


def field_label(field: str | None) -> str:
    """An evidence field path in words: ``image_alts[1]`` "second image text",
    ``variants[0].price`` "first variant's price"; an unknown path as it is."""
    path = parse_field_path(field)
    if path is None or path[0] not in FIELD_WORDS:
        return field or ""
    name, index, key = path
    words = FIELD_WORDS[name]
    if index is not None:
        ordinal = ORDINALS[index] if index < len(ORDINALS) else f"no. {index + 1}"
        words = f"{ordinal} {words}" if name != "image_alts" or index else words
    if key is not None:
        words = f"{words}'s {VARIANT_FIELD_WORDS.get(key, key.replace('_', ' '))}"
    return words


def fts_query(text: str | None) -> str:
    """Free text as an FTS5 query of quoted terms, so no visitor input is read as FTS syntax."""
    terms = re.findall(r"[^\s\"]+", text or "")
    return " ".join('"' + term + '"' for term in terms) or '""'
