"""Bluesky post search with the atproto SDK (``app.bsky.feed.searchPosts``), since the cursor.

Needs ``EARSHOT_BLUESKY_HANDLE`` and ``EARSHOT_BLUESKY_APP_PASSWORD``; without
them the source is skipped with status "not configured". ``base_url`` is the
PDS/AppView (``https://bsky.social`` by default; a local stand-in in tests).
Search is newest first (``sort=latest``) with ``since`` = the cursor's newest
``createdAt``; the ids seen at that instant are kept so nothing is lost or
repeated at the boundary. A first run reads back ``source.backfill`` (3 days
by default). A run reads at most ``options.max_pages`` pages; when that stops
a later run, the posts it did not reach are kept in the cursor as ``gap``
(``since``/``until``) and read first next run. HTTP goes through our
retrying httpx transport.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from crawlers.base import CrawlBatch, CrawlContext, Edge, UnreadRange, dump_cursor, load_cursor, search_terms
from crawlers.polite import RetryTransport, user_agent
from crawlers.text import clip, parse_date
from earshot.errors import NotConfiguredError, require
from earshot.models import RawMention

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://bsky.social"

_Range = UnreadRange[datetime]


def _client(ctx: CrawlContext) -> Any:
    require("atproto", "crawl")
    import httpx
    from atproto import Client
    from atproto_client.request import Request

    s = ctx.settings
    password = s.bluesky_app_password.get_secret_value() if s.bluesky_app_password else None
    if not s.bluesky_handle or not password:
        raise NotConfiguredError(
            f"source {ctx.source.name!r}: Bluesky needs EARSHOT_BLUESKY_HANDLE and EARSHOT_BLUESKY_APP_PASSWORD "
            "(an app password from Settings → App passwords)"
        )
    request = Request(
        transport=RetryTransport(retries=ctx.crawl.retries, max_wait_s=float(ctx.option("max_retry_wait_s", 120))),
        timeout=httpx.Timeout(ctx.crawl.timeout_s),
        headers={"User-Agent": user_agent(ctx.crawl)},
    )
    client = Client(base_url=ctx.source.base_url or DEFAULT_BASE_URL, request=request)
    client.login(s.bluesky_handle, password, fetch_bsky_profile=False)
    return client


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _post_url(uri: str, handle: str | None, web_base: str) -> str:
    rkey = uri.rsplit("/", 1)[-1]
    return f"{web_base}/profile/{handle or uri.split('/')[2]}/post/{rkey}"


def _to_raw(ctx: CrawlContext, post: Any, web_base: str) -> RawMention | None:
    record = post.record
    text = str(getattr(record, "text", "") or "").strip()
    if not text:
        return None
    published = parse_date(getattr(record, "created_at", None)) or parse_date(getattr(post, "indexed_at", None))
    if published is None:
        ctx.errors.add("malformed", "post without createdAt", uri=post.uri)
        return None
    author = getattr(post, "author", None)
    handle = getattr(author, "handle", None) if author is not None else None
    metrics: dict[str, float] = {}
    for attr, name in (("like_count", "likes"), ("repost_count", "reposts"), ("reply_count", "replies")):
        value = getattr(post, attr, None)
        if isinstance(value, int | float) and not isinstance(value, bool):
            metrics[name] = float(value)
    langs = getattr(record, "langs", None) or []
    return RawMention(
        source=ctx.source.name,
        source_id=str(post.uri),
        url=_post_url(str(post.uri), handle, web_base),
        author=handle if handle and handle != "handle.invalid" else None,
        text=clip(text),
        published_at=published,
        language=langs[0] if langs else None,
        metrics=metrics,
        raw={"kind": "post", "cid": str(getattr(post, "cid", "") or "")},
    )


def crawl_bluesky(ctx: CrawlContext) -> CrawlBatch:
    from atproto_client.exceptions import AtProtocolError

    query = search_terms(ctx)
    try:
        client = _client(ctx)
    except (AtProtocolError, ValueError) as exc:  # wrong app password, server down, a garbled answer: count it
        ctx.errors.add("auth", f"login failed: {exc}"[:300])
        return CrawlBatch()
    web_base = str(ctx.option("web_base", "https://bsky.app"))
    limit = int(ctx.option("limit", 100))
    max_pages = int(ctx.option("max_pages", 20))
    state = load_cursor(ctx.cursor)
    since = parse_date(state.get("since"))
    first_run = since is None
    top = _Range(since or ctx.backfill_start(), set(state.get("ids", [])))
    gap = _Range.from_cursor(state.get("gap"), parse_date)
    # The hole a run stopped by max_pages left below the newest post: read it first, so it only shrinks.
    ranges = [gap, top] if gap is not None else [top]
    batch = CrawlBatch()
    got: dict[str, RawMention] = {}
    new_gap: _Range | None = None
    pages = 0
    stopped = False
    for rng in ranges:
        page_cursor: str | None = None
        low: Edge[datetime] = Edge()
        while True:
            if pages >= max_pages:
                stopped = True
                if first_run:
                    ctx.errors.add("limit", f"backfill stopped after max_pages={max_pages}; older posts are not read")
                else:
                    ctx.errors.add("limit", f"stopped after max_pages={max_pages}; the rest comes next run")
                    new_gap = rng.rest(low)
                break
            params: dict[str, Any] = {"q": query, "sort": "latest", "limit": limit, "since": _iso(rng.lo)}
            if rng.hi is not None:
                params["until"] = _iso(rng.hi + timedelta(milliseconds=1))  # until is exclusive
            if page_cursor:
                params["cursor"] = page_cursor
            try:
                response = client.app.bsky.feed.search_posts(params)
            except (AtProtocolError, ValueError) as exc:
                ctx.errors.add("http" if isinstance(exc, AtProtocolError) else "malformed", str(exc)[:300])
                batch.mentions = list(got.values())
                return batch  # cursor None: the next run reads the same ranges again (uris make it idempotent)
            pages += 1
            for post in response.posts:
                batch.seen += 1
                uri = str(post.uri)
                at = parse_date(getattr(post.record, "created_at", None))
                if at is not None:
                    low.note(at, uri)
                raw = _to_raw(ctx, post, web_base)
                if raw is None or rng.known(raw.published_at, uri):
                    batch.skipped += 1
                    continue
                got[uri] = raw
            ctx.report(len(got))
            page_cursor = response.cursor
            if not page_cursor or not response.posts:
                break
        if stopped:
            break
    newest: Edge[datetime] = Edge(top.lo, set(top.lo_ids), newest=True)
    for uri, raw in got.items():
        newest.note(raw.published_at, uri)
    batch.mentions = list(got.values())
    cursor: dict[str, Any] = {"since": _iso(newest.at if newest.at is not None else top.lo), "ids": sorted(newest.ids)}
    if new_gap is not None:
        cursor["gap"] = new_gap.to_cursor(_iso)
    batch.cursor = dump_cursor(cursor)
    return batch
