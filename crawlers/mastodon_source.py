"""Mastodon via Mastodon.py: public hashtag timelines and status search on configured instances.

Each instance is ``source.instances`` (or ``base_url``); each stream (a
hashtag, or the search) keeps its own newest status id in the cursor, and a
run pages forward with ``min_id`` until it is caught up (at most
``options.max_pages`` pages; a longer backlog is continued next run, with no
hole). A first run pages back with ``max_id`` through ``source.backfill``
(3 days by default), at most ``max_pages`` pages. An access token
(``EARSHOT_MASTODON_ACCESS_TOKEN``) is optional: hashtag timelines are
public, while many instances answer search only with a token. HTTP goes
through a ``requests`` session with our retry policy.
"""

from __future__ import annotations

import logging
from typing import Any

from crawlers.base import CrawlBatch, CrawlContext, dump_cursor, load_cursor, search_terms
from crawlers.polite import requests_session, user_agent
from crawlers.text import clip, html_to_text, parse_date
from earshot.errors import NotConfiguredError, require
from earshot.models import RawMention

logger = logging.getLogger(__name__)


def _client(ctx: CrawlContext, base_url: str) -> Any:
    mastodon = require("mastodon", "crawl")
    token = ctx.settings.mastodon_access_token
    return mastodon.Mastodon(  # type: ignore[attr-defined]
        api_base_url=base_url,
        access_token=token.get_secret_value() if token else None,
        request_timeout=ctx.crawl.timeout_s,
        # Our session retries 429s honouring Retry-After; if it gives up, raise instead of sleeping here.
        ratelimit_method="throw",
        # "created" with an explicit version: no instance lookup, and version-gated params (min_id) work.
        version_check_mode="created",
        mastodon_version=str(ctx.option("mastodon_version", "4.2.0")),
        session=requests_session(ctx.crawl, max_wait_s=float(ctx.option("max_retry_wait_s", 120))),
        user_agent=user_agent(ctx.crawl),
    )


def _id(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _to_raw(ctx: CrawlContext, status: Any, instance: str, stream: str) -> RawMention | None:
    get = status.get if hasattr(status, "get") else (lambda k, d=None: getattr(status, k, d))
    sid = str(get("id") or "")
    text = html_to_text(get("content"))
    spoiler = str(get("spoiler_text") or "").strip()
    if not text and not spoiler:
        return None  # a boost without text or a deleted status
    published = parse_date(get("created_at"))
    if published is None:
        ctx.errors.add("malformed", "status without created_at", id=sid)
        return None
    account = get("account") or {}
    acct = account.get("acct") if hasattr(account, "get") else None
    metrics: dict[str, float] = {}
    for key, name in (("replies_count", "replies"), ("reblogs_count", "shares"), ("favourites_count", "likes")):
        value = get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            metrics[name] = float(value)
    return RawMention(
        source=ctx.source.name,
        source_id=str(get("uri") or f"{instance}#{sid}"),
        url=get("url") or get("uri"),
        author=str(acct) if acct else None,
        title=spoiler or None,
        text=clip(text or spoiler),
        published_at=published,
        language=get("language") or None,
        metrics=metrics,
        raw={"kind": "status", "instance": instance, "stream": stream, "id": sid},
    )


def _page(ctx: CrawlContext, client: Any, stream: str, page_size: int, **ids: str | None) -> list[Any]:
    if stream == "search":
        result = client.search_v2(search_terms(ctx), result_type="statuses", limit=page_size, resolve=False, **ids)
        return list(result.get("statuses") or [])
    return list(client.timeline_hashtag(stream[4:], limit=page_size, **ids))


def crawl_mastodon(ctx: CrawlContext) -> CrawlBatch:
    require("mastodon", "crawl")
    from mastodon.errors import MastodonError

    instances = [
        u.rstrip("/") for u in (ctx.source.instances or ([ctx.source.base_url] if ctx.source.base_url else []))
    ]
    if not instances:
        raise NotConfiguredError(f"source {ctx.source.name!r}: set 'instances' (or 'base_url') to Mastodon servers")
    streams: list[str] = [f"tag:{t.lstrip('#')}" for t in ctx.source.hashtags]
    if ctx.source.query or ctx.brand_terms or not streams:
        streams.append("search")
    state = load_cursor(ctx.cursor)
    page_size = int(ctx.option("limit", 40))
    max_pages = int(ctx.option("max_pages", 20))
    cutoff = ctx.backfill_start()
    batch = CrawlBatch()
    got: dict[str, RawMention] = {}
    new_state = dict(state)
    for instance in instances:
        client = _client(ctx, instance)
        for stream in streams:
            key = f"{instance}|{stream}"
            last = state.get(key)
            backfill = not last
            newest = _id(last) if last else 0
            # Forward: min_id pages up from the cursor, oldest page first, so a run stopped by max_pages
            # leaves no hole (the next run goes on from the newest id read). First run: max_id pages back
            # from the newest status until the backfill window ends.
            min_id: str | None = None if backfill else str(last)
            max_id: str | None = None
            for _ in range(max_pages):
                try:
                    page = _page(ctx, client, stream, page_size, min_id=min_id, max_id=max_id)
                except (MastodonError, ValueError, KeyError, TypeError) as exc:
                    ctx.errors.add(
                        "http" if isinstance(exc, MastodonError) else "malformed", f"{instance} {stream}: {exc}"[:300]
                    )
                    newest = -1  # incomplete: keep this stream's old cursor (or none: the next run backfills again)
                    break
                if not page:
                    break
                ids = [sid for sid in (_id(s.get("id")) for s in page) if sid > 0]
                older = False
                for status in page:
                    batch.seen += 1
                    published = parse_date(status.get("created_at"))
                    if backfill and published is not None and published < cutoff:
                        older = True
                        batch.skipped += 1
                        continue
                    raw = _to_raw(ctx, status, instance, stream)
                    if raw is None:
                        batch.skipped += 1
                    else:
                        got[raw.effective_source_id()] = raw
                if newest >= 0 and ids:
                    newest = max(newest, *ids)
                ctx.report(len(got))
                if not ids:
                    ctx.errors.add("malformed", f"{instance} {stream}: a page without status ids")
                    newest = -1
                    break
                if older:
                    break  # backfill: reached the start of the window
                if backfill:
                    max_id = str(min(ids))
                else:
                    min_id = str(max(ids))
            else:
                what = "backfill" if backfill else "catch-up"
                ctx.errors.add("limit", f"{instance} {stream}: {what} stopped after max_pages={max_pages}")
            if newest > 0:
                new_state[key] = str(newest)
    batch.mentions = list(got.values())
    batch.cursor = dump_cursor(new_state)
    return batch
