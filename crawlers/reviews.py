"""Review and complaint sites: schema.org Review/AggregateRating (JSON-LD, microdata) or CSS selectors.

Ratings are normalised to 1–5 from the page's own scale (``bestRating``/
``worstRating``, or "4/10" text). Pagination follows ``rel=next`` or the
``next`` selector and stops at the first page with nothing new (reviews are
listed newest first; ``options.stop_at_seen: false`` to read every page). The
cursor keeps the most recent review ids.
"""

from __future__ import annotations

from crawlers.base import CrawlBatch, CrawlContext
from crawlers.scrapy_job import crawl_remembering_ids
from earshot.errors import NotConfiguredError


def crawl_reviews(ctx: CrawlContext) -> CrawlBatch:
    if not ctx.source.urls:
        raise NotConfiguredError(f"source {ctx.source.name!r}: a reviews source needs 'urls' (first review pages)")
    return crawl_remembering_ids(ctx, "reviews", remember_skipped=False)
