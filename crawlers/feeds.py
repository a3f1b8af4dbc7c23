"""RSS 2.0, Atom and RSS 1.0 feeds of blogs and news (Scrapy + feedparser, optional article extraction).

The cursor keeps the most recent entry guids (feeds have no since-id), so a
second run yields only new entries; with ``follow_links`` an entry whose
summary is short is completed from its article page (trafilatura).
"""

from __future__ import annotations

from crawlers.base import CrawlBatch, CrawlContext
from crawlers.scrapy_job import crawl_remembering_ids
from earshot.errors import NotConfiguredError


def crawl_feed(ctx: CrawlContext) -> CrawlBatch:
    if not ctx.source.urls:
        raise NotConfiguredError(f"source {ctx.source.name!r}: a feed source needs 'urls' (the feed addresses)")
    # Remember every guid read, also those of an article another feed already gave us.
    return crawl_remembering_ids(ctx, "feed", remember_skipped=True)
