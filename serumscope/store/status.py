"""What the ``status`` columns mean, decided in one place: a shop's crawl, a whole crawl
(``crawl_runs``), a shop's answer after reconciling (``serumscope run``) and a run (``runs``).

Pure functions over counts: the crawler, ``reconcile`` and ``runs`` gather the figures and call these.

``ok``
    everything answered normally;
``partial``
    something was missed: errors, a limit reached, listings not stored, failed pages that list
    products;
``suspect``
    (a shop's answer) it suddenly lost most of its listings: a broken template or an emptied feed
    looks exactly like a shop that sold out everything;
``failed``
    nothing usable came back, or the crawl did not complete.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

# Exit codes of `serumscope run` / `crawl`, and what the scheduler reports for each.
EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_FAILED = 2
EXIT_LOCKED = 75  # EX_TEMPFAIL: another run holds the lock

# A shop whose run sees fewer than this share of the listings it had is not trusted to mark the rest
# gone...
SUSPECT_SHARE = 0.5
# ...but only from this many listings up: in a tiny shop, losing half is ordinary.
SUSPECT_MIN_LISTINGS = 4

NORMAL_FINISH = ("finished", "", None)


def crawler_shop_status(
    *, seen: int, errors: int, hard_errors: int, finish_reason: str | None
) -> str:
    """One shop's crawl, from its crawler's stats. ``seen``: listings stored or confirmed unchanged
    (304); ``errors`` counts every recorded problem, ``hard_errors`` those that are no soft skip
    (robots.txt, junk or off-site URLs)."""
    if seen == 0 and (errors or finish_reason not in NORMAL_FINISH):
        return "failed"
    if hard_errors or finish_reason not in NORMAL_FINISH:
        return "partial"
    return "ok"


def crawl_status(shop_statuses: Iterable[str]) -> str:
    """A crawl of several shops: failed when every shop failed, ok when every shop was."""
    statuses = set(shop_statuses)
    if not statuses or statuses == {"failed"}:
        return "failed"
    return "ok" if statuses == {"ok"} else "partial"


class ShopAnswer(NamedTuple):
    """The figures a shop's answer is judged on (``reconcile``)."""

    crawl_completed: bool
    seen: int  # listings this run stored or confirmed
    listed_before: int  # listings the shop had before this run
    errors: int
    crawler_status: str | None
    finish_reason: str | None
    limits: list[str]  # crawler limits reached (pages, listings, time, sitemaps per index)
    not_stored: int  # listings an item pipeline failed to store
    failed_catalogue_pages: int  # failed feeds, sitemaps, category pages


def shop_answer_status(answer: ShopAnswer) -> tuple[str, str]:
    """A shop's status after a run and the reason for it, the first sign of an unsound answer
    deciding. Only an ``ok`` shop may have its unseen listings marked gone."""
    seen, listed_before, errors = answer.seen, answer.listed_before, answer.errors
    if not answer.crawl_completed:
        return "failed", "the crawl did not complete"
    if seen == 0 and listed_before > 0:
        return "suspect", f"found nothing where it had {listed_before} listings"
    if listed_before >= SUSPECT_MIN_LISTINGS and seen < listed_before * SUSPECT_SHARE:
        return "suspect", f"found {seen} of its {listed_before} listings"
    if seen == 0 and (errors or answer.crawler_status == "failed"):
        return "failed", f"nothing stored, {errors} errors"
    if answer.limits:
        return "partial", "; ".join(answer.limits)
    if answer.finish_reason not in NORMAL_FINISH:
        return "failed", f"the shop's crawl ended early ({answer.finish_reason})"
    if answer.not_stored:
        return (
            "partial",
            f"{answer.not_stored} listings could not be stored (an item pipeline failed)",
        )
    if answer.failed_catalogue_pages:  # a feed page or sitemap that failed hides unknown products
        return (
            "partial",
            f"{answer.failed_catalogue_pages} failed pages that list products (feeds, sitemaps)",
        )
    return "ok", ""


def run_status(shop_statuses: list[str], evaluation_error: str | None) -> tuple[str, int]:
    """A run (crawl, reconcile, evaluate) and its exit code, from its shops' answers."""
    answered = shop_statuses.count("ok") + shop_statuses.count("partial")
    if answered == 0:
        return ("suspect" if "suspect" in shop_statuses else "failed"), EXIT_FAILED
    if answered < len(shop_statuses) or "partial" in shop_statuses:
        return ("suspect" if "suspect" in shop_statuses else "partial"), EXIT_PARTIAL
    if evaluation_error:
        return "partial", EXIT_PARTIAL
    return "ok", EXIT_OK
