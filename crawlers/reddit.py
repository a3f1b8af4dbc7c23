"""Reddit via praw (read-only script app): search configured subreddits for the brand terms, plus new comments.

Credentials come from the environment (``EARSHOT_REDDIT_CLIENT_ID``,
``EARSHOT_REDDIT_CLIENT_SECRET``); without them the source reports "not
configured". ``base_url`` points praw's ``oauth_url`` and ``reddit_url`` at a
mirror or a local stand-in. Listings are newest first, so a run stops paging
once it reaches the cursor (the newest ``created_utc`` seen, plus the ids at
that second). praw's own HTTP goes through a ``requests`` session with our
retry policy (429/5xx with backoff, ``Retry-After`` honoured).
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from crawlers.base import CrawlBatch, CrawlContext, dump_cursor, load_cursor, search_terms
from crawlers.polite import requests_session, user_agent
from crawlers.text import clip, parse_date
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


def crawl_reddit(ctx: CrawlContext) -> CrawlBatch:
    reddit = _reddit_client(ctx)
    prawcore = require("prawcore", "crawl")
    query = search_terms(ctx)
    terms = _terms(query)
    subs = "+".join(ctx.source.subreddits) or "all"
    base = (ctx.source.base_url or "https://www.reddit.com").rstrip("/")
    web_base = str(ctx.option("permalink_base", "https://www.reddit.com"))
    limit = int(ctx.option("limit", 500))
    state = load_cursor(ctx.cursor)
    since = float(state.get("since", 0))
    seen_at_since = set(state.get("ids", []))
    batch = CrawlBatch()
    got: dict[str, RawMention] = {}
    newest, newest_ids = since, set(seen_at_since)
    complete = True
    subreddit = reddit.subreddit(subs)
    streams: list[tuple[str, Any]] = [
        ("search", subreddit.search(query, sort="new", time_filter=str(ctx.option("time_filter", "week")), limit=limit))
    ]
    if ctx.source.subreddits:
        # New comments are not searchable, and search lags behind new posts: read the configured
        # subreddits' new submissions and comments too, keeping those that contain a query word.
        streams.append(("new", subreddit.new(limit=limit)))
        streams.append(("comments", subreddit.comments(limit=limit)))
    for stream_name, listing in streams:
        while True:
            try:
                thing = next(listing)
            except StopIteration:
                break
            except (prawcore.exceptions.PrawcoreException, ValueError, KeyError, TypeError) as exc:  # type: ignore[attr-defined]
                # praw keeps its paging state when a fetch fails; we stop this stream and keep what we have.
                ctx.errors.add(
                    "http" if isinstance(exc, prawcore.exceptions.PrawcoreException) else "malformed",  # type: ignore[attr-defined]
                    f"{stream_name}: {exc}"[:300],
                )
                complete = False
                break
            batch.seen += 1
            fields = vars(thing)
            created = float(fields.get("created_utc") or 0)
            fullname = str(fields.get("name") or fields.get("id") or "")
            if created < since or (created == since and fullname in seen_at_since):
                break  # newest first: everything after this was collected by an earlier run
            raw = _to_raw(ctx, thing, fullname, stream_name, terms, web_base or base)
            if raw is None:
                batch.skipped += 1
                continue
            got[fullname] = raw
            if created > newest:
                newest, newest_ids = created, {fullname}
            elif created == newest:
                newest_ids.add(fullname)
            ctx.report(len(got))
    batch.mentions = list(got.values())
    if complete:
        batch.cursor = dump_cursor({"since": newest, "ids": sorted(newest_ids)})
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
