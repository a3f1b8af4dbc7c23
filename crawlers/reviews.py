"""Review and complaint sites: schema.org Review/AggregateRating (JSON-LD, microdata) or CSS selectors.

Ratings are normalised to 1–5 from the page's own scale (``bestRating``/
``worstRating``, or "4/10" text). Pagination follows ``rel=next`` or the
``next`` selector and stops at the first page with nothing new (reviews are
listed newest first; ``options.stop_at_seen: false`` to read every page). The
cursor keeps the most recent review ids.
"""

from __future__ import annotations

from crawlers.base import CrawlBatch, CrawlContext, dump_cursor, load_cursor, remember
from crawlers.scrapy_job import run_spider, to_mentions
from earshot.errors import NotConfiguredError


def crawl_reviews(ctx: CrawlContext) -> CrawlBatch:
    if not ctx.source.urls:
        raise NotConfiguredError(f"source {ctx.source.name!r}: a reviews source needs 'urls' (first review pages)")
    state = load_cursor(ctx.cursor)
    seen: list[str] = list(state.get("seen") or [])
    run = run_spider("reviews", ctx, {"seen": seen})
    mentions = to_mentions(ctx, run.items)
    batch = CrawlBatch(
        mentions=mentions, seen=len(run.items) + run.skipped.get("seen", 0), skipped=run.skipped.get("seen", 0)
    )
    limit = int(ctx.option("remember", 5000))
    batch.cursor = dump_cursor({"seen": remember(seen, [m.effective_source_id() for m in mentions], limit)})
    return batch
