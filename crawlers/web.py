"""Web pages and blogs: a Scrapy crawl of listed sites within allowed domains and a depth limit.

Each page's main text, title, author and date come from trafilatura; pages
with too little text (indexes, navigation) are followed but not kept. The
cursor maps page URL → digest of its text, so a re-crawl keeps only new or
changed pages.
"""

from __future__ import annotations

from crawlers.base import CrawlBatch, CrawlContext, dump_cursor, load_cursor
from crawlers.scrapy_job import run_spider, to_mentions
from earshot.errors import NotConfiguredError


def crawl_web(ctx: CrawlContext) -> CrawlBatch:
    if not ctx.source.urls:
        raise NotConfiguredError(f"source {ctx.source.name!r}: a web source needs 'urls' (start pages)")
    state = load_cursor(ctx.cursor)
    pages: dict[str, str] = dict(state.get("pages") or {})
    run = run_spider("web", ctx, {"pages": pages})
    mentions = to_mentions(ctx, run.items)
    for item in run.items:
        digest = (item.get("raw") or {}).get("digest")
        if item.get("source_id") and digest:
            pages.pop(item["source_id"], None)
            pages[item["source_id"]] = digest
    limit = int(ctx.option("remember", 5000))
    kept = dict(list(pages.items())[-limit:])
    unchanged = run.skipped.get("unchanged", 0)
    return CrawlBatch(
        mentions=mentions, cursor=dump_cursor({"pages": kept}), seen=len(run.items) + unchanged, skipped=unchanged
    )
