"""The time stamps of the run tables: ISO 8601 UTC to the second (``2026-11-22T06:00:00Z``)."""

from __future__ import annotations

from datetime import UTC, datetime

ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"


def utc_now() -> str:
    return datetime.now(UTC).strftime(ISO_UTC)
