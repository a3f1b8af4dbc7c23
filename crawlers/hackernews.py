"""Hacker News stories and comments via the Algolia search API (no key), since the cursor.

``GET {base_url}/api/v1/search_by_date?query=…&tags=(story,comment)&numericFilters=created_at_i>=N``
returns hits newest first. Algolia serves at most ~1000 hits per query, so a
long gap is walked in windows: when the pages of one window run out while
more hits exist, the window's upper bound moves to the oldest hit seen.
The cursor is the newest ``created_at_i`` plus the ids seen at that second
(``>=`` plus those ids means nothing posted in the same second is lost).

A first run reads back ``source.backfill`` (3 days by default). A run is
bounded by ``options.max_pages``; when that stops a later run, the hits it
did not reach (between the old cursor and the oldest hit read) are kept in
the cursor as ``gap`` and read first next run, so a backlog is caught up
over several runs instead of skipped. A stopped first run keeps only what it
read (a "limit" error says so).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

from crawlers.base import CrawlBatch, CrawlContext, Edge, UnreadRange, dump_cursor, load_cursor, search_terms
from crawlers.polite import PageTooLarge, get_json, httpx_client
from crawlers.text import clip, html_to_text, parse_date
from earshot.models import RawMention

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://hn.algolia.com"
DEFAULT_ITEM_URL = "https://news.ycombinator.com/item?id="

_Range = UnreadRange[int]


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


@dataclass
class _Walk:
    """How walking one range ended: ``done``, ``error`` or ``limit`` (then ``low``: the oldest hit read)."""

    outcome: str
    pages: int
    low: Edge[int] = field(default_factory=Edge)


def _first_run_start(ctx: CrawlContext) -> int:
    legacy = ctx.option("first_run_lookback_h", None)
    if legacy is not None and "backfill" not in ctx.source.model_fields_set:
        # Before source.backfill existed this option set the first-run window; still honoured when alone.
        from earshot.models import utcnow

        return int(utcnow().timestamp() - float(legacy) * 3600)
    return int(ctx.backfill_start().timestamp())


def _walk(
    ctx: CrawlContext,
    client: httpx.Client,
    endpoint: str,
    base: dict[str, Any],
    rng: _Range,
    budget: int,
    item_url: str,
    batch: CrawlBatch,
    got: dict[str, RawMention],
) -> _Walk:
    """Read ``rng`` newest first in at most ``budget`` pages, moving to older windows at Algolia's hit cap."""
    upper = rng.hi
    page = window_hits = pages = 0
    low: Edge[int] = Edge()
    while pages < budget:
        filters = [f"created_at_i>={rng.lo}"] + ([f"created_at_i<={upper}"] if upper is not None else [])
        params = {**base, "numericFilters": ",".join(filters), "page": page}
        try:
            data = get_json(client, endpoint, params=params, max_bytes=ctx.crawl.max_page_bytes)
        except (httpx.HTTPError, PageTooLarge, ValueError) as exc:
            ctx.errors.add("http" if isinstance(exc, httpx.HTTPError) else "malformed", str(exc)[:300], page=page)
            return _Walk("error", pages)
        pages += 1
        hits = data.get("hits") if isinstance(data, dict) else None
        if not isinstance(hits, list):
            ctx.errors.add("malformed", "answer has no 'hits' list", page=page)
            return _Walk("error", pages)
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
                low.note(ts, oid)
            if rng.known(ts, oid):
                batch.skipped += 1
                continue
            raw = _to_raw(ctx, hit, item_url)
            if raw is None:
                batch.skipped += 1
                continue
            got[oid] = raw
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
        return _Walk("done", pages)
    return _Walk("limit", pages, low)


def crawl_hackernews(ctx: CrawlContext) -> CrawlBatch:
    query = search_terms(ctx)
    base = (ctx.source.base_url or DEFAULT_BASE_URL).rstrip("/")
    # Accept both the host (https://hn.algolia.com) and the API root (…/api/v1) as base_url.
    endpoint = f"{base}/search_by_date" if base.endswith("/api/v1") else f"{base}/api/v1/search_by_date"
    item_url = str(ctx.option("item_url", DEFAULT_ITEM_URL))
    params = {
        "query": query,
        "tags": str(ctx.option("tags", "(story,comment)")),
        "hitsPerPage": int(ctx.option("hits_per_page", 100)),
    }
    max_pages = int(ctx.option("max_pages", 50))
    state = load_cursor(ctx.cursor)
    first_run = not state.get("since")
    top = _Range(_first_run_start(ctx) if first_run else int(state["since"]), set(state.get("ids", [])))
    ranges = [top]
    gap = _Range.from_cursor(state.get("gap"), lambda v: None if v is None else int(v))
    if gap is not None:
        # The hole a run stopped by max_pages left below the newest hit: read it first, so it only shrinks.
        ranges.insert(0, gap)

    batch = CrawlBatch()
    got: dict[str, RawMention] = {}
    new_gap: _Range | None = None
    budget = max_pages
    with httpx_client(ctx.crawl, max_wait_s=float(ctx.option("max_retry_wait_s", 120))) as client:
        for rng in ranges:
            walk = _walk(ctx, client, endpoint, params, rng, budget, item_url, batch, got)
            budget -= walk.pages
            if walk.outcome == "error":
                batch.mentions = list(got.values())
                return batch  # cursor None: the next run reads the same ranges again (ids make it idempotent)
            if walk.outcome == "limit":
                if first_run:
                    ctx.errors.add("limit", f"backfill stopped after max_pages={max_pages}; older hits are not read")
                else:
                    ctx.errors.add("limit", f"stopped after max_pages={max_pages}; the rest comes next run")
                    new_gap = rng.rest(walk.low)
                break
    newest: Edge[int] = Edge(top.lo, set(top.lo_ids), newest=True)
    for oid, raw in got.items():
        newest.note(int(raw.published_at.timestamp()), oid)
    batch.mentions = list(got.values())
    cursor: dict[str, Any] = {"since": newest.at, "ids": sorted(newest.ids)}
    if new_gap is not None:
        cursor["gap"] = new_gap.to_cursor(lambda t: t)
    batch.cursor = dump_cursor(cursor)
    return batch
