"""Reddit (praw), Hacker News (httpx), Mastodon (Mastodon.py) and Bluesky (atproto) against local fakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawlers.bluesky import crawl_bluesky
from crawlers.fakes import Item
from crawlers.hackernews import crawl_hackernews
from crawlers.mastodon_source import crawl_mastodon
from crawlers.reddit import crawl_reddit
from earshot.config import Source
from earshot.errors import NotConfiguredError
from earshot.settings import Settings

from .conftest import make_ctx


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# ---- Hacker News -----------------------------------------------------------------------------------


def test_hn_pages_through_results_and_maps_fields(world, crawl_cfg, settings):
    for n in range(5):
        world.hn.append(
            Item(str(9100 + n), f"Nordlys comment {n}", _now() - timedelta(minutes=n), "dev", kind="comment")
        )
    src = Source(name="hn", kind="hackernews", base_url=world.url("hn"), options={"hits_per_page": 2})
    ctx = make_ctx(src, crawl_cfg, settings)
    batch = crawl_hackernews(ctx)
    ids = {m.source_id for m in batch.mentions}
    assert ids == {"9001", "9002", "9100", "9101", "9102", "9103", "9104"}
    assert world.hits("hn") == 4  # 7 hits, 2 per page
    story = next(m for m in batch.mentions if m.source_id == "9001")
    assert story.title == "Nordlys goes Rust" and story.author == "pg_fan"
    assert story.metrics == {"score": 42.0, "comments": 7.0}
    assert story.url.endswith("item?id=9001")
    assert ctx.errors.count == 0 and batch.cursor


def test_hn_second_run_collects_only_new(world, crawl_cfg, settings):
    src = Source(name="hn", kind="hackernews", base_url=world.url("hn"))
    first = crawl_hackernews(make_ctx(src, crawl_cfg, settings))
    assert len(first.mentions) == 2
    again = crawl_hackernews(make_ctx(src, crawl_cfg, settings, cursor=first.cursor))
    assert again.mentions == []
    world.hn.append(Item("9500", "Nordlys outage today", _now() + timedelta(seconds=5), "ops", kind="comment"))
    third = crawl_hackernews(make_ctx(src, crawl_cfg, settings, cursor=again.cursor))
    assert [m.source_id for m in third.mentions] == ["9500"]


def test_hn_429_is_retried_after_retry_after(world, crawl_cfg, settings):
    world.faults.rate_limit["hn"] = 1
    # The API root as base_url (as in config/example.yaml) works as well as the host.
    src = Source(name="hn", kind="hackernews", base_url=world.url("hn", "/api/v1"))
    ctx = make_ctx(src, crawl_cfg, settings)
    batch = crawl_hackernews(ctx)
    assert len(batch.mentions) == 2 and ctx.errors.count == 0
    assert world.hits("hn") == 2


def test_hn_broken_json_and_http_errors_are_counted_not_raised(world, crawl_cfg, settings):
    src = Source(name="hn", kind="hackernews", base_url=world.url("hn"))
    world.faults.broken["hn"] = 1
    ctx = make_ctx(src, crawl_cfg, settings)
    batch = crawl_hackernews(ctx)
    assert batch.mentions == [] and batch.cursor is None  # nothing skipped past: keep the old cursor
    assert ctx.errors.count == 1 and "malformed" in ctx.errors.messages[0]
    world.faults.status["hn"] = 500
    ctx = make_ctx(src, crawl_cfg, settings)
    assert crawl_hackernews(ctx).cursor is None
    assert ctx.errors.count == 1 and "500" in ctx.errors.messages[0]


# ---- Reddit ----------------------------------------------------------------------------------------------


def _reddit_source(world) -> Source:
    return Source(
        name="reddit",
        kind="reddit",
        base_url=world.url("reddit"),
        subreddits=["travel"],
        options={"permalink_base": "https://www.reddit.com"},
    )


def test_reddit_search_and_comments_with_paging_and_deleted_users(world, crawl_cfg, settings):
    world.reddit_page_size = 1  # praw must follow `after`
    world.faults.rate_limit["reddit:/r/travel/search"] = 1
    ctx = make_ctx(_reddit_source(world), crawl_cfg, settings)
    batch = crawl_reddit(ctx)
    by_id = {m.source_id: m for m in batch.mentions}
    assert set(by_id) == {"t3_s1", "t3_s2", "t1_c1"}  # c2 is a "[deleted]" body: skipped
    assert world.hits("reddit", "/r/travel/new") >= 2  # new submissions are read too (search can lag)
    assert by_id["t3_s2"].author is None  # deleted account
    assert by_id["t3_s1"].title == "Nordlys experiences?" and by_id["t3_s1"].metrics["score"] == 12
    assert by_id["t1_c1"].url.startswith("https://www.reddit.com/r/travel/comments/")
    assert world.hits("reddit", "/r/travel/search") >= 3  # 429 once, then two pages
    assert ctx.errors.count == 0
    again = crawl_reddit(make_ctx(_reddit_source(world), crawl_cfg, settings, cursor=batch.cursor))
    assert again.mentions == []


def test_reddit_without_credentials_is_not_configured(world, crawl_cfg):
    with pytest.raises(NotConfiguredError, match="EARSHOT_REDDIT_CLIENT_ID"):
        crawl_reddit(make_ctx(_reddit_source(world), crawl_cfg, Settings(env="test")))


def test_reddit_server_errors_are_counted(world, crawl_cfg, settings):
    world.faults.status["reddit:/r/"] = 403  # not retried (429/5xx retries are tested above)
    ctx = make_ctx(_reddit_source(world), crawl_cfg, settings)
    batch = crawl_reddit(ctx)
    assert batch.mentions == [] and batch.cursor is None
    assert ctx.errors.count == 3  # the search, the new posts and the comment stream


# ---- Mastodon ------------------------------------------------------------------------------------------


def test_mastodon_hashtag_and_search_incremental(world, crawl_cfg, settings):
    src = Source(
        name="masto", kind="mastodon", instances=[world.url("mastodon")], hashtags=["#nordlys"], options={"limit": 2}
    )
    ctx = make_ctx(src, crawl_cfg, settings)
    first = crawl_mastodon(ctx)
    assert ctx.errors.count == 0
    texts = sorted(m.text for m in first.mentions)
    assert len(texts) == 3  # the first run pages back (limit 2 a page) through the backfill window
    gone = [m for m in first.mentions if m.author == "gone"]
    assert all("lounge" in m.text for m in gone)
    for n in range(3):
        world.mastodon.append(Item(str(300 + n), f"#nordlys update {n}", _now(), "news", channel="nordlys"))
    world.faults.rate_limit["mastodon:/api/v1/timelines"] = 1
    ctx = make_ctx(src, crawl_cfg, settings, cursor=first.cursor)
    second = crawl_mastodon(ctx)
    assert sorted(m.text for m in second.mentions) == [f"#nordlys update {n}" for n in range(3)]
    assert ctx.errors.count == 0
    third = crawl_mastodon(make_ctx(src, crawl_cfg, settings, cursor=second.cursor))
    assert third.mentions == []


def test_mastodon_error_keeps_that_streams_cursor(world, crawl_cfg, settings):
    src = Source(name="masto", kind="mastodon", instances=[world.url("mastodon")], hashtags=["nordlys"])
    first = crawl_mastodon(make_ctx(src, crawl_cfg, settings))
    world.faults.status["mastodon:/api/v2/search"] = 500
    ctx = make_ctx(src, crawl_cfg, settings, cursor=first.cursor)
    crawl_mastodon(ctx)
    assert ctx.errors.count == 1 and "search" in ctx.errors.messages[0]


# ---- Bluesky ---------------------------------------------------------------------------------------------


def test_bluesky_search_pages_and_is_incremental(world, crawl_cfg, settings):
    src = Source(name="bsky", kind="bluesky", base_url=world.url("bluesky"), options={"limit": 1})
    world.faults.rate_limit["bluesky:/xrpc/app.bsky.feed.searchPosts"] = 1
    ctx = make_ctx(src, crawl_cfg, settings)
    first = crawl_bluesky(ctx)
    assert ctx.errors.count == 0
    assert {m.author for m in first.mentions} == {"happy.bsky.social", "tall.bsky.social"}
    assert first.mentions[0].url.startswith("https://bsky.app/profile/")
    assert world.hits("bluesky", "/xrpc/app.bsky.feed.searchPosts") == 3  # 429 + two pages
    world.bluesky.append(Item("3k9", "Nordlys new lounge is great", _now() + timedelta(seconds=2), "new.bsky.social"))
    second = crawl_bluesky(make_ctx(src, crawl_cfg, settings, cursor=first.cursor))
    assert [m.author for m in second.mentions] == ["new.bsky.social"]


def test_bluesky_without_credentials_is_not_configured_and_bad_password_is_counted(world, crawl_cfg):
    src = Source(name="bsky", kind="bluesky", base_url=world.url("bluesky"))
    with pytest.raises(NotConfiguredError, match="EARSHOT_BLUESKY_HANDLE"):
        crawl_bluesky(make_ctx(src, crawl_cfg, Settings(env="test")))
    wrong = Settings(env="test", bluesky_handle="earshot.test", bluesky_app_password="nope")  # type: ignore[arg-type]
    ctx = make_ctx(src, crawl_cfg, wrong)
    batch = crawl_bluesky(ctx)
    assert batch.mentions == [] and batch.cursor is None
    assert ctx.errors.count == 1 and "login failed" in ctx.errors.messages[0]
