"""Hacker News stories and comments via the Algolia search API (no key), since the cursor.

``GET {base_url}/api/v1/search_by_date?query=…&tags=(story,comment)&numericFilters=created_at_i>=N``
returns hits newest first. Algolia serves at most ~1000 hits per query, so a
long gap is walked in windows: when the pages of one window run out while
more hits exist, the window's upper bound moves to the oldest hit seen.
The cursor is the newest ``created_at_i`` plus the ids seen at that second
(``>=`` plus those ids means nothing posted in the same second is lost).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from crawlers.base import CrawlBatch, CrawlContext, dump_cursor, load_cursor, search_terms
from crawlers.polite import PageTooLarge, get_json, httpx_client
from crawlers.text import clip, html_to_text, parse_date
from earshot.models import RawMention

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://hn.algolia.com"
DEFAULT_ITEM_URL = "https://news.ycombinator.com/item?id="


def _to_raw(ctx: CrawlContext, hit: dict[str, Any], item_url: str) -> RawMention | None:
    oid = str(hit.get("objectID") or "").strip()
    if not oid:
        ctx.errors.add("malformed", "hit without objectID")
        return None
    tags = hit.get("_tags") or []
    is_comment = "comment" in tags or bool(hit.get("comment_text"))
    published = parse_date(hit.get("created_at_i")) or parse_date(hit.get("created_at"))
    if published is None:
        ctx.errors.add("malformed", "hit without a date", id=oid)
        return None
    title = None if is_comment else (hit.get("title") or None)
    body = html_to_text(hit.get("comment_text") if is_comment else hit.get("story_text"))
    if not body and not title:
        return None  # a deleted or dead item: nothing to keep
    metrics: dict[str, float] = {}
    for key, name in (("points", "score"), ("num_comments", "comments")):
        value = hit.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            metrics[name] = float(value)
    raw: dict[str, Any] = {"kind": "comment" if is_comment else "story"}
    for key in ("story_id", "parent_id", "story_title"):
        if hit.get(key) is not None:
            raw[key] = hit[key]
    if hit.get("url"):
        raw["link"] = hit["url"]
    return RawMention(
        source=ctx.source.name,
        source_id=oid,
        url=f"{item_url}{oid}",
        author=hit.get("author") or None,
        title=title,
        text=clip(body or title or ""),
        published_at=published,
        metrics=metrics,
        raw=raw,
    )


def crawl_hackernews(ctx: CrawlContext) -> CrawlBatch:
    query = search_terms(ctx)
    base = (ctx.source.base_url or DEFAULT_BASE_URL).rstrip("/")
    # Accept both the host (https://hn.algolia.com) and the API root (…/api/v1) as base_url.
    endpoint = f"{base}/search_by_date" if base.endswith("/api/v1") else f"{base}/api/v1/search_by_date"
    item_url = str(ctx.option("item_url", DEFAULT_ITEM_URL))
    per_page = int(ctx.option("hits_per_page", 100))
    max_pages = int(ctx.option("max_pages", 50))
    tags = str(ctx.option("tags", "(story,comment)"))
    state = load_cursor(ctx.cursor)
    since = int(state.get("since", 0))
    seen_at_since = set(state.get("ids", []))
    if not since:
        # First run: look back a bounded time rather than all of history.
        lookback_h = float(ctx.option("first_run_lookback_h", 72))
        from earshot.models import utcnow

        since = int(utcnow().timestamp() - lookback_h * 3600)

    batch = CrawlBatch()
    got: dict[str, RawMention] = {}
    newest = since
    newest_ids: set[str] = set(seen_at_since)
    upper: int | None = None
    complete = True
    pages = 0
    with httpx_client(ctx.crawl, max_wait_s=float(ctx.option("max_retry_wait_s", 120))) as client:
        page = 0
        window_hits = 0
        while pages < max_pages:
            filters = [f"created_at_i>={since}"] + ([f"created_at_i<={upper}"] if upper is not None else [])
            params = {
                "query": query,
                "tags": tags,
                "numericFilters": ",".join(filters),
                "hitsPerPage": per_page,
                "page": page,
            }
            try:
                data = get_json(client, endpoint, params=params, max_bytes=ctx.crawl.max_page_bytes)
            except (httpx.HTTPError, PageTooLarge, ValueError) as exc:
                ctx.errors.add("http" if isinstance(exc, httpx.HTTPError) else "malformed", str(exc)[:300], page=page)
                complete = False
                break
            pages += 1
            hits = data.get("hits") if isinstance(data, dict) else None
            if not isinstance(hits, list):
                ctx.errors.add("malformed", "answer has no 'hits' list", page=page)
                complete = False
                break
            oldest: int | None = None
            for hit in hits:
                if not isinstance(hit, dict):
                    ctx.errors.add("malformed", "hit is not an object", page=page)
                    continue
                batch.seen += 1
                ts = hit.get("created_at_i")
                ts = int(ts) if isinstance(ts, int | float) and not isinstance(ts, bool) else None
                oid = str(hit.get("objectID") or "")
                if ts is not None:
                    oldest = ts if oldest is None else min(oldest, ts)
                if ts == since and oid in seen_at_since:
                    batch.skipped += 1
                    continue
                raw = _to_raw(ctx, hit, item_url)
                if raw is None:
                    batch.skipped += 1
                    continue
                got[oid] = raw
                if ts is not None:
                    if ts > newest:
                        newest, newest_ids = ts, {oid}
                    elif ts == newest:
                        newest_ids.add(oid)
            ctx.report(len(got))
            window_hits += len(hits)
            nb_pages = int(data.get("nbPages") or 0)
            nb_hits = int(data.get("nbHits") or 0)
            if page + 1 < nb_pages and hits:
                page += 1
                continue
            if window_hits < nb_hits and oldest is not None and hits and oldest != upper:
                # Algolia stops paging at its hit cap; continue in an older window.
                upper, page, window_hits = oldest, 0, 0
                continue
            break
        else:
            ctx.errors.add("limit", f"stopped after max_pages={max_pages}; the rest comes next run")
            complete = False
    batch.mentions = list(got.values())
    if complete:
        batch.cursor = dump_cursor({"since": newest, "ids": sorted(newest_ids)})
    return batch
