"""RSS 2.0, Atom and RSS 1.0 feeds of blogs and news (Scrapy + feedparser, optional article extraction).

The cursor keeps the most recent entry guids (feeds have no since-id), so a
second run yields only new entries; with ``follow_links`` an entry whose
summary is short is completed from its article page (trafilatura).
"""

from __future__ import annotations

from crawlers.base import CrawlBatch, CrawlContext, dump_cursor, load_cursor, remember
from crawlers.scrapy_job import run_spider, to_mentions
from earshot.errors import NotConfiguredError


def crawl_feed(ctx: CrawlContext) -> CrawlBatch:
    if not ctx.source.urls:
        raise NotConfiguredError(f"source {ctx.source.name!r}: a feed source needs 'urls' (the feed addresses)")
    state = load_cursor(ctx.cursor)
    seen: list[str] = list(state.get("seen") or [])
    run = run_spider("feed", ctx, {"seen": seen})
    mentions = to_mentions(ctx, run.items)
    batch = CrawlBatch(
        mentions=mentions, seen=len(run.items) + run.skipped.get("seen", 0), skipped=run.skipped.get("seen", 0)
    )
    limit = int(ctx.option("remember", 5000))
    # Remember every guid read, also those of an article another feed already gave us.
    new_ids = [m.effective_source_id() for m in mentions] + run.skipped_ids
    batch.cursor = dump_cursor({"seen": remember(seen, new_ids, limit)})
    return batch
