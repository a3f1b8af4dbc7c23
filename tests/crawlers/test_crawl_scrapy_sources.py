"""Feeds, web pages and review sites: the real Scrapy spiders (in their child process) against the fake site."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawlers.fakes import Item
from crawlers.feeds import crawl_feed
from crawlers.reviews import crawl_reviews
from crawlers.web import crawl_web
from earshot.config import Source
from earshot.errors import NotConfiguredError

from .conftest import make_ctx


def test_feeds_all_formats_broken_documents_and_follow_links(world, crawl_cfg, settings):
    site = world.url("site")
    names = ("rss.xml", "atom.xml", "rdf.xml", "broken.xml", "latin1.xml", "empty.xml", "huge.xml", "missing.xml")
    src = Source(name="news", kind="feed", urls=[f"{site}/feeds/{n}" for n in names], follow_links=True)
    crawl_cfg = crawl_cfg.model_copy(update={"max_page_bytes": 100_000})
    ctx = make_ctx(src, crawl_cfg, settings)
    batch = crawl_feed(ctx)
    by_url = {m.url: m for m in batch.mentions}
    # Three articles, each listed by several feeds: one mention per article.
    assert sorted(by_url) == [f"{site}/articles/f1", f"{site}/articles/f2", f"{site}/articles/f3"]
    f1 = by_url[f"{site}/articles/f1"]
    assert "Analysts welcomed the move" in f1.text  # summary completed from the article (trafilatura)
    assert f1.author == "Kari Nordmann" and f1.title == "Nordlys adds Tromsø"
    f3 = by_url[f"{site}/articles/f3"]
    assert f3.raw.get("date_missing") is True  # no pubDate: kept, dated when collected
    kinds = sorted(m.split(":")[0] for m in ctx.errors.messages)
    # broken XML, wrong encoding, empty document, over the page-size cap, 404 — each counted, none fatal
    assert kinds == ["empty", "http", "http", "malformed", "malformed"], ctx.errors.messages
    assert any("404" in m for m in ctx.errors.messages)
    assert any("huge.xml" in m for m in ctx.errors.messages)
    assert all(ua.startswith("EarshotBot/0.1 (+mailto:crawler-tests@example.org)") for _, _, ua in world.requests)

    world.feed.append(Item("f4", "Nordlys opens a lounge in Oslo.", datetime.now(UTC), "Kari", "Lounge"))
    again = crawl_feed(make_ctx(src, crawl_cfg, settings, cursor=batch.cursor))
    assert [m.url for m in again.mentions] == [f"{site}/articles/f4"]


def test_web_crawl_obeys_robots_domains_depth_and_survives_bad_pages(world, crawl_cfg, settings):
    src = Source(name="blog", kind="web", urls=[world.url("site", "/blog/"), world.url("site", "/loop/a")], max_depth=1)
    ctx = make_ctx(src, crawl_cfg, settings)
    batch = crawl_web(ctx)
    pages = {m.url.rsplit("/", 1)[1]: m for m in batch.mentions}
    assert set(pages) == {"b1", "b2"}  # the index and the empty page are not articles
    assert pages["b2"].title == "Nordlys lost my bag" and pages["b2"].author == "Angry Anders"
    assert not pages["b2"].text.startswith("Nordlys lost my bag\n")  # the headline is the title, not the text
    assert world.hits("site", "/private/") == 0  # robots.txt: Disallow: /private/
    assert world.hits("site", "/robots.txt") == 1
    joined = " | ".join(ctx.errors.messages)
    assert "empty document" in joined and "max redirections" in joined
    assert ctx.errors.count == 2

    again = crawl_web(make_ctx(src, crawl_cfg, settings, cursor=batch.cursor))
    assert again.mentions == [] and again.skipped == 2  # unchanged pages are not re-emitted


# microdata and CSS-selector pages are also parsed in-process in test_crawl_spider_parsing.py;
# here the whole crawl (child process, robots, pagination, 429) runs for JSON-LD and selectors.
@pytest.mark.parametrize("fmt", ["jsonld", "plain"])
def test_reviews_structured_data_or_selectors_with_pagination(world, crawl_cfg, settings, fmt):
    selectors = (
        {
            "review": "div.complaint",
            "body": ".text",
            "author": ".who",
            "date": ".when",
            "rating": ".stars",
            "title": ".subject",
            "id": "::attr(data-id)",
            "next": "a.next-page",
        }
        if fmt == "plain"
        else {}
    )
    world.reviews_per_page = 3
    if fmt == "jsonld":
        world.faults.rate_limit["site:/reviews/"] = 1
    src = Source(
        name=f"rev-{fmt}", kind="reviews", urls=[world.url("site", f"/reviews/{fmt}?page=1")], selectors=selectors
    )
    ctx = make_ctx(src, crawl_cfg, settings)
    batch = crawl_reviews(ctx)
    assert ctx.errors.count == 0, ctx.errors.messages
    assert len(batch.mentions) == 7  # three pages
    by_author = {m.author: m for m in batch.mentions if m.author}
    assert by_author["Per"].rating == 1.0 and by_author["Eva"].rating == 5.0  # 0–10 on the jsonld page → 1–5
    assert by_author["Nils"].rating == 4.0
    assert by_author["Eva"].published_at.year >= 2026
    assert any(m.author is None for m in batch.mentions)  # an anonymous review is kept
    if fmt != "plain":
        assert by_author["Per"].raw["product"] == "Nordlys Air"

    world.reviews.append(
        Item("r99", "Nordlys changed my seat for free, great.", datetime.now(UTC), "Ada", "Nice", rating=5.0)
    )
    before = world.hits("site", "/reviews/")
    again = crawl_reviews(make_ctx(src, crawl_cfg, settings, cursor=batch.cursor))
    assert [m.author for m in again.mentions] == ["Ada"]
    # Page 1 had something new, so page 2 is read; it has nothing new, so page 3 is not.
    assert world.hits("site", "/reviews/") - before == 2


def test_reviews_broken_json_ld_is_counted_and_other_pages_still_read(world, crawl_cfg, settings):
    src = Source(name="rev", kind="reviews", urls=[world.url("site", "/reviews/broken?page=1")])
    ctx = make_ctx(src, crawl_cfg, settings)
    batch = crawl_reviews(ctx)
    assert len(batch.mentions) == 2  # page 1 is truncated JSON-LD; page 2 is fine
    assert any("json-ld" in m for m in ctx.errors.messages)


def test_scrapy_sources_need_urls(crawl_cfg, settings):
    for fn, kind in ((crawl_feed, "feed"), (crawl_web, "web"), (crawl_reviews, "reviews")):
        with pytest.raises(NotConfiguredError, match="urls"):
            fn(make_ctx(Source(name="x", kind=kind), crawl_cfg, settings))
