"""Reddit via praw (read-only script app): search configured subreddits for the brand terms, plus new comments.

Credentials come from the environment (``EARSHOT_REDDIT_CLIENT_ID``,
``EARSHOT_REDDIT_CLIENT_SECRET``); without them the source reports "not
configured". ``base_url`` points praw's ``oauth_url`` and ``reddit_url`` at a
mirror or a local stand-in. Listings are newest first, so a run stops paging
once it reaches its stream's cursor (the newest ``created_utc`` seen, plus the
ids at that second) or, on a first run, the start of ``source.backfill`` (3
days by default). At most ``options.limit`` items are read per stream and
run; when that stops a later run, the listing position reached (``after``) is
kept in the cursor and read first next run, so a backlog is not skipped
(Reddit lists only the newest ~1,000 things, so a deeper backlog is lost).
praw's own HTTP goes through a ``requests`` session with our retry policy
(429/5xx with backoff, ``Retry-After`` honoured).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from crawlers.base import CrawlBatch, CrawlContext, Edge, dump_cursor, load_cursor, search_terms
from crawlers.polite import requests_session, user_agent
from crawlers.text import clip, parse_date
from earshot.config import parse_duration
from earshot.errors import NotConfiguredError, require
from earshot.models import RawMention

logger = logging.getLogger(__name__)

REMOVED_BODIES = {"[deleted]", "[removed]", ""}


def _reddit_client(ctx: CrawlContext) -> Any:
    praw = require("praw", "crawl")
    s = ctx.settings
    secret = s.reddit_client_secret.get_secret_value() if s.reddit_client_secret else None
    if not s.reddit_client_id or not secret:
        raise NotConfiguredError(
            f"source {ctx.source.name!r}: Reddit needs EARSHOT_REDDIT_CLIENT_ID and EARSHOT_REDDIT_CLIENT_SECRET "
            "(a 'script' app from https://www.reddit.com/prefs/apps)"
        )
    base = (ctx.source.base_url or "").rstrip("/")
    urls: dict[str, str] = {}
    if base:
        # The real API splits hosts: tokens from www.reddit.com, calls to oauth.reddit.com. A mirror or
        # local stand-in serves both from one base; options.reddit_url overrides the token host.
        urls["oauth_url"] = base
        if urlsplit(base).hostname != "oauth.reddit.com":
            urls["reddit_url"] = base
    if ctx.option("reddit_url", None):
        urls["reddit_url"] = str(ctx.option("reddit_url", ""))
    return praw.Reddit(  # type: ignore[attr-defined]
        client_id=s.reddit_client_id,
        client_secret=secret,
        user_agent=s.reddit_user_agent or user_agent(ctx.crawl),
        check_for_updates=False,
        check_for_async=False,
        timeout=ctx.crawl.timeout_s,
        ratelimit_seconds=int(ctx.option("ratelimit_seconds", 60)),
        requestor_kwargs={
            "session": requests_session(ctx.crawl, max_wait_s=float(ctx.option("max_retry_wait_s", 120)))
        },
        **urls,
    )


def _terms(query: str) -> list[str]:
    return [w for w in re.findall(r"\w+", query.casefold()) if w not in {"or", "and", "not"}]


def _author(d: dict[str, Any]) -> str | None:
    author = d.get("author")
    if author is None:
        return None  # a deleted account
    name = str(getattr(author, "name", author))
    return None if name in {"[deleted]", ""} else name


def _time_filter(ctx: CrawlContext) -> str:
    """The search's ``t``: the option, else the smallest of Reddit's that covers the backfill (at least a week)."""
    if ctx.option("time_filter", None):
        return str(ctx.option("time_filter", "week"))
    days = parse_duration(ctx.source.backfill).total_seconds() / 86400
    return "week" if days <= 7 else "month" if days <= 31 else "year" if days <= 365 else "all"


@dataclass
class _Stream:
    """One listing's cursor: the newest ``created_utc`` read (and the ids at that second), plus an unread gap.

    The gap is what a run stopped by ``limit`` did not reach: the listing after ``after`` (the last thing it
    read) down to ``gap_since``/``gap_ids``, the newest read before that run.
    """

    since: float
    ids: set[str]
    after: str | None = None
    gap_since: float = 0.0
    gap_ids: set[str] = field(default_factory=set)

    def dump(self) -> dict[str, Any]:
        out: dict[str, Any] = {"since": self.since, "ids": sorted(self.ids)}
        if self.after:
            out["gap"] = {"after": self.after, "since": self.gap_since, "ids": sorted(self.gap_ids)}
        return out


def _load_stream(state: dict[str, Any], name: str) -> _Stream | None:
    value = (state.get("streams") or {}).get(name)
    if not isinstance(value, dict):
        # A cursor from before per-stream cursors: one newest time for every stream.
        value = state
    if not value.get("since"):
        return None
    gap: dict[str, Any] = value["gap"] if isinstance(value.get("gap"), dict) else {}
    return _Stream(
        float(value["since"]),
        set(value.get("ids", [])),
        gap.get("after") or None,
        float(gap.get("since", 0)),
        set(gap.get("ids", [])),
    )


def crawl_reddit(ctx: CrawlContext) -> CrawlBatch:
    reddit = _reddit_client(ctx)
    prawcore = require("prawcore", "crawl")
    query = search_terms(ctx)
    terms = _terms(query)
    subs = "+".join(ctx.source.subreddits) or "all"
    base = (ctx.source.base_url or "https://www.reddit.com").rstrip("/")
    web_base = str(ctx.option("permalink_base", "https://www.reddit.com"))
    limit = int(ctx.option("limit", 500))
    time_filter = _time_filter(ctx)
    state = load_cursor(ctx.cursor)
    cutoff = ctx.backfill_start().timestamp()
    batch = CrawlBatch()
    got: dict[str, RawMention] = {}
    complete = True
    subreddit = reddit.subreddit(subs)

    def listing(name: str, n: int, after: str | None) -> Any:
        params = {"after": after} if after else {}
        if name == "search":
            return subreddit.search(query, sort="new", time_filter=time_filter, limit=n, params=params)
        return (subreddit.new if name == "new" else subreddit.comments)(limit=n, params=params)

    names = ["search"]
    if ctx.source.subreddits:
        # New comments are not searchable, and search lags behind new posts: read the configured
        # subreddits' new submissions and comments too, keeping those that contain a query word.
        names += ["new", "comments"]
    new_streams: dict[str, Any] = {}
    for name in names:
        old = _load_stream(state, name)
        first_run = old is None
        cur = old or _Stream(cutoff, set())
        # (after, stop at or below this time, ids read at it): the old gap first, so it only shrinks
        ranges = ([(cur.after, cur.gap_since, cur.gap_ids)] if cur.after else []) + [(None, cur.since, cur.ids)]
        newest: Edge[float] = Edge(cur.since, set(cur.ids), newest=True)
        left = limit
        gap: tuple[str, float, set[str]] | None = None
        failed = False
        for after, since, seen_at_since in ranges:
            if left <= 0:
                gap = (after, since, seen_at_since) if after else None
                break
            requested = left
            things = listing(name, requested, after)
            pulled, last, reached = 0, after, False
            while True:
                try:
                    thing = next(things)
                except StopIteration:
                    break
                except (prawcore.exceptions.PrawcoreException, ValueError, KeyError, TypeError) as exc:  # type: ignore[attr-defined]
                    exceptions = prawcore.exceptions  # type: ignore[attr-defined]
                    http = isinstance(exc, exceptions.PrawcoreException) and not isinstance(exc, exceptions.BadJSON)
                    ctx.errors.add("http" if http else "malformed", f"{name}: {exc}"[:300])
                    failed = True
                    break
                pulled += 1
                batch.seen += 1
                fields = vars(thing)
                created = float(fields.get("created_utc") or 0)
                fullname = str(fields.get("name") or fields.get("id") or "")
                last = fullname or last
                if created < since or (created == since and fullname in seen_at_since):
                    reached = True
                    break  # newest first: everything after this was read before (or is older than the backfill)
                newest.note(created, fullname)
                raw = _to_raw(ctx, thing, fullname, name, terms, web_base or base)
                if raw is None:
                    batch.skipped += 1
                    continue
                got[fullname] = raw
                ctx.report(len(got))
            left -= pulled
            if failed:
                break
            if not reached and pulled >= requested:
                # The listing ended because `limit` was reached, not because it reached the cursor.
                if first_run:
                    ctx.errors.add("limit", f"{name}: backfill stopped after limit={limit} items")
                else:
                    ctx.errors.add("limit", f"{name}: stopped after limit={limit} items; the rest comes next run")
                    gap = (str(last), since, seen_at_since)
                break
        if failed:
            complete = False
            continue
        stream = _Stream(newest.at if newest.at is not None else cur.since, newest.ids)
        if gap is not None:
            stream.after, stream.gap_since, stream.gap_ids = gap
        new_streams[name] = stream.dump()
    batch.mentions = list(got.values())
    if complete:
        batch.cursor = dump_cursor({"streams": new_streams})
    return batch


def _to_raw(
    ctx: CrawlContext, thing: Any, fullname: str, stream: str, terms: list[str], base: str
) -> RawMention | None:
    # Read the fetched fields directly: getattr on a missing praw attribute triggers a lazy re-fetch.
    d: dict[str, Any] = vars(thing)
    is_comment = fullname.startswith("t1_") or "body" in d
    body = str(d.get("body" if is_comment else "selftext") or "").strip()
    title = None if is_comment else (str(d.get("title") or "").strip() or None)
    if is_comment and body in REMOVED_BODIES:
        return None
    if body in REMOVED_BODIES:
        body = ""
    if not body and not title:
        return None
    if stream != "search" and terms and not any(t in f"{title or ''} {body}".casefold() for t in terms):
        return None
    published = parse_date(d.get("created_utc"))
    if published is None:
        ctx.errors.add("malformed", "item without created_utc", id=fullname)
        return None
    permalink = str(d.get("permalink") or "")
    sub = d.get("subreddit")
    sub_name = str(getattr(sub, "display_name", sub) or "") if sub is not None else ""
    metrics: dict[str, float] = {}
    for attr, name in (("score", "score"), ("num_comments", "comments")):
        value = d.get(attr)
        if isinstance(value, int | float) and not isinstance(value, bool):
            metrics[name] = float(value)
    return RawMention(
        source=ctx.source.name,
        source_id=fullname,
        url=f"{base}{permalink}" if permalink.startswith("/") else (permalink or None),
        author=_author(d),
        title=title,
        text=clip(body or title or ""),
        published_at=published,
        metrics=metrics,
        raw={"kind": "comment" if is_comment else "submission", "subreddit": sub_name},
    )
