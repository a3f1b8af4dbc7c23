"""What every source crawler shares: its context, its batch result, error counting, the kind registry.

A crawler is a function ``crawl(ctx) -> CrawlBatch``: it reads the source's
cursor from ``ctx.cursor``, collects what is new and returns the items with the
cursor to persist once they are stored. A crawler never raises for a bad
document or an HTTP error: it records the problem in ``ctx.errors`` and goes on.
It returns ``cursor=None`` when the run was incomplete in a way that could skip
items (a later page failed), so the runner keeps the old cursor and the next
run fetches the gap again (ids make that idempotent).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from earshot.config import Crawl, Source, parse_duration
from earshot.errors import NotConfiguredError
from earshot.models import RawMention
from earshot.settings import Settings

logger = logging.getLogger(__name__)

#: at most this many error messages are kept per run (the count is exact)
MAX_ERROR_MESSAGES = 20


@dataclass
class ErrorLog:
    """Counts and logs the problems of one source run; never raises."""

    source: str
    count: int = 0
    messages: list[str] = field(default_factory=list)

    def add(self, kind: str, message: str, **context: Any) -> None:
        self.count += 1
        extra = " ".join(f"{k}={v!r}" for k, v in context.items())
        line = f"{kind}: {message}" + (f" ({extra})" if extra else "")
        if len(self.messages) < MAX_ERROR_MESSAGES:
            self.messages.append(line[:500])
        logger.warning("crawl_error source=%s kind=%s message=%r %s", self.source, kind, message, extra)


@dataclass
class CrawlContext:
    """Everything a crawler needs for one run of one source."""

    source: Source
    crawl: Crawl
    settings: Settings
    cursor: str | None = None
    #: brand names and aliases from the watch config: the default search terms
    brand_terms: list[str] = field(default_factory=list)
    errors: ErrorLog = field(init=False)
    #: called with the number of items collected so far (progress display)
    progress: Callable[[int], None] | None = None

    def __post_init__(self) -> None:
        self.errors = ErrorLog(self.source.name)

    def option(self, name: str, default: Any) -> Any:
        return self.source.options.get(name, default)

    def report(self, n: int) -> None:
        if self.progress is not None:
            self.progress(n)

    def backfill_start(self) -> datetime:
        """How far back a first run (no cursor yet) reads: now − ``source.backfill``."""
        from earshot.models import utcnow

        return utcnow() - parse_duration(self.source.backfill)


@dataclass
class CrawlBatch:
    """The items one run collected and the cursor to store after they are stored."""

    mentions: list[RawMention] = field(default_factory=list)
    cursor: str | None = None
    seen: int = 0
    #: items dropped on purpose (deleted/removed bodies, already seen ids)
    skipped: int = 0


Crawler = Callable[[CrawlContext], CrawlBatch]


def load_cursor(raw: str | None) -> dict[str, Any]:
    """Cursor JSON → dict; a corrupt cursor is treated as none (a full re-crawl, ids dedupe it)."""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        logger.warning("cursor_unreadable value=%r; starting without a cursor", raw[:80])
        return {}
    return value if isinstance(value, dict) else {}


def dump_cursor(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def remember(seen: list[str], new_ids: list[str], limit: int = 5000) -> list[str]:
    """Most recent ``limit`` ids, newest last: a bounded since-set for sources without since-ids."""
    fresh = set(new_ids)
    merged = [i for i in seen if i not in fresh] + new_ids
    return merged[-limit:]


def crawler_for(kind: str) -> Crawler:
    """The crawl function of a source kind (imports stay lazy: each module pulls its own library)."""
    if kind == "feed":
        from crawlers.feeds import crawl_feed

        return crawl_feed
    if kind == "web":
        from crawlers.web import crawl_web

        return crawl_web
    if kind == "reviews":
        from crawlers.reviews import crawl_reviews

        return crawl_reviews
    if kind == "reddit":
        from crawlers.reddit import crawl_reddit

        return crawl_reddit
    if kind == "hackernews":
        from crawlers.hackernews import crawl_hackernews

        return crawl_hackernews
    if kind == "mastodon":
        from crawlers.mastodon_source import crawl_mastodon

        return crawl_mastodon
    if kind == "bluesky":
        from crawlers.bluesky import crawl_bluesky

        return crawl_bluesky
    raise NotConfiguredError(
        f"unknown source kind {kind!r}; use one of feed, web, reviews, reddit, hackernews, mastodon, bluesky"
    )


def search_terms(ctx: CrawlContext) -> str:
    """The source's ``query``, else the configured brand names and aliases joined by OR."""
    if ctx.source.query:
        return ctx.source.query
    if ctx.brand_terms:
        return " OR ".join(f'"{b}"' if " " in b else b for b in ctx.brand_terms)
    raise NotConfiguredError(
        f"source {ctx.source.name!r} has no 'query' and the config has no brands; set sources[].query"
    )


_At = TypeVar("_At")


@dataclass
class UnreadRange(Generic[_At]):
    """A stretch of a time-ordered feed still to read: ``lo`` to ``hi`` (``None``: now), both inclusive, less the
    ids already read at each end (items sharing a boundary timestamp). Sources that page newest-first keep one in
    their cursor so a run cut short by ``max_pages`` resumes there instead of skipping the rest."""

    lo: _At
    lo_ids: set[str]
    hi: _At | None = None
    hi_ids: set[str] = field(default_factory=set)

    def known(self, at: _At | None, item_id: str) -> bool:
        return at is not None and (
            (at == self.lo and item_id in self.lo_ids) or (at == self.hi and item_id in self.hi_ids)
        )

    def rest(self, low: Edge[Any]) -> UnreadRange[_At] | None:
        """What a newest-first walk of this range left unread when it stopped with ``low`` the oldest item read:
        ``lo`` up to ``low`` (its ids excluded). If nothing was read, the range itself, when it has an end."""
        if low.at is None:
            return self if self.hi is not None else None
        return UnreadRange(self.lo, self.lo_ids, low.at, low.ids | (self.hi_ids if low.at == self.hi else set()))

    def to_cursor(self, fmt: Callable[[_At], Any]) -> dict[str, Any]:
        """The range as a cursor entry (``since``/``ids``/``until``/``until_ids``), times written by ``fmt``."""
        return {
            "since": fmt(self.lo),
            "ids": sorted(self.lo_ids),
            "until": fmt(self.hi) if self.hi is not None else None,
            "until_ids": sorted(self.hi_ids),
        }

    @classmethod
    def from_cursor(cls, value: Any, parse: Callable[[Any], _At | None]) -> UnreadRange[_At] | None:
        """The range :meth:`to_cursor` wrote; ``None`` for anything else (no entry, or an end missing)."""
        if not isinstance(value, dict):
            return None
        lo, hi = parse(value.get("since")), parse(value.get("until"))
        if lo is None or hi is None:
            return None
        return cls(lo, set(value.get("ids", [])), hi, set(value.get("until_ids", [])))


_Time = TypeVar("_Time", int, float, datetime)


@dataclass
class Edge(Generic[_Time]):
    """The oldest (or, with ``newest``, the newest) time met so far and the ids of the items at that time."""

    at: _Time | None = None
    ids: set[str] = field(default_factory=set)
    newest: bool = False

    def note(self, at: _Time, item_id: str) -> None:
        if self.at is None or (at > self.at if self.newest else at < self.at):
            self.at, self.ids = at, {item_id}
        elif at == self.at:
            self.ids.add(item_id)
