"""Serve a :class:`DemoWorld` from local stand-ins on 127.0.0.1 (the crawlers area's fake servers).

The stand-ins speak each real API's format (RSS, schema.org reviews, Reddit
listings, Mastodon timelines, the HN Algolia API), so the demo runs the real
crawlers against them. They come from ``crawlers.fakes`` (stdlib only);
this module only turns demo posts into their items.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from earshot.demo.world import DemoWorld, Post

if TYPE_CHECKING:
    from crawlers.fakes import FakeWorld

#: where each demo source lives on the stand-ins (server name, path)
ENDPOINTS: dict[str, tuple[str, str]] = {
    "news": ("site", "/feeds/rss.xml"),
    "complaints": ("site", "/reviews/jsonld"),
    "reddit": ("reddit", ""),
    "mastodon": ("mastodon", ""),
    "hackernews": ("hn", ""),
}


def _item(post: Post) -> Any:
    from crawlers.fakes import Item

    return Item(
        id=post.id,
        text=post.text,
        created_at=post.created_at,
        author=post.author,
        title=post.title,
        rating=post.rating,
        channel=post.channel,
        kind=post.kind,
        body=post.text if post.source == "news" else None,
        metrics=dict(post.metrics),
    )


def fake_world(world: DemoWorld) -> FakeWorld:
    """The stand-ins' content for ``world`` (not started)."""
    from crawlers.fakes import FakeWorld

    fake = FakeWorld(
        feed=[_item(p) for p in world.by_source("news")],
        reviews=[_item(p) for p in world.by_source("complaints")],
        reddit=[_item(p) for p in world.by_source("reddit")],
        mastodon=[_item(p) for p in world.by_source("mastodon")],
        hn=[_item(p) for p in world.by_source("hackernews")],
    )
    # big pages keep the demo quick; the crawlers still follow rel=next pagination
    fake.reviews_per_page = 100
    return fake


def source_urls(fake: FakeWorld) -> dict[str, str]:
    """Base URL of each demo source on the started stand-ins."""
    return {name: fake.url(server, path) for name, (server, path) in ENDPOINTS.items()}
