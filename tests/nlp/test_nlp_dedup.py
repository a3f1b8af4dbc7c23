"""Canonical URLs and the near-duplicate detector."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from earshot.errors import ConfigError
from earshot.models import Mention
from earshot.pipeline import Deduplicator
from nlp.dedup import NearDuplicateDetector, shingles
from nlp.urls import canonical_url

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)
RELEASE = (
    "Acme Corp announces record quarterly earnings driven by strong demand for its new widget line "
    "across Europe and Asia, chief executive Jane Doe said on Tuesday in a statement to investors"
)


def mention(i: int, text: str, *, url: str | None = None, hours: float = 0, source: str = "feed") -> Mention:
    return Mention(id=f"m{i}", source=source, source_id=str(i), text=text, url=url,
                   published_at=T0 + timedelta(hours=hours))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://WWW.Example.COM/a/b/?utm_source=x&b=2&a=1#frag", "https://example.com/a/b?a=1&b=2"),
        ("https://m.example.com/news/story/amp?amp=1", "https://example.com/news/story"),
        ("https://example.com/amp/news/story", "https://example.com/news/story"),
        ("https://example.com:443/news/story.amp", "https://example.com/news/story"),
        ("https://example.com/p?fbclid=abc&gclid=1&id=7&mc_cid=x", "https://example.com/p?id=7"),
        ("https://example.com:8080/x", "https://example.com:8080/x"),
        ("https://example.com", "https://example.com/"),
        ("https://amp.example.co.uk/story/", "https://example.co.uk/story"),
        ("mailto:pr@example.com", "mailto:pr@example.com"),
        ("  not a url  ", "not a url"),
        ("http://[::1", "http://[::1"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_short_host_is_not_mistaken_for_mobile_prefix() -> None:
    assert canonical_url("https://m.co/x") == "https://m.co/x"


def test_implements_protocol() -> None:
    assert isinstance(NearDuplicateDetector(), Deduplicator)


def test_retweet_copy_and_near_copy_point_at_first_seen() -> None:
    d = NearDuplicateDetector(threshold=0.7)
    assert d.check(mention(1, RELEASE)) is None
    assert d.check(mention(2, f"RT @newsbot: {RELEASE} https://t.co/xyz", hours=1)) == "m1"
    near = RELEASE.replace("Tuesday", "Wednesday") + " (updated)"
    assert d.check(mention(3, near, hours=2)) == "m1"
    assert d.check(mention(4, "The weather in Paris was lovely today, we walked along the river for hours")) is None


def test_duplicate_of_a_duplicate_points_at_the_root() -> None:
    d = NearDuplicateDetector(threshold=0.7)
    d.check(mention(1, RELEASE))
    d.check(mention(2, RELEASE + " via wire", hours=1))
    assert d.check(mention(3, RELEASE + " via wire", hours=2)) == "m1"


def test_window_limits_links_and_evicts_old_entries() -> None:
    d = NearDuplicateDetector(window=timedelta(days=1))
    d.check(mention(1, RELEASE))
    assert d.check(mention(2, RELEASE, hours=30)) is None  # beyond the window: a new story, a new root
    assert d.check(mention(3, RELEASE, hours=31)) == "m2"
    assert len(d) == 2  # m1 was evicted when m2 (30 h later) arrived


def test_same_canonical_url_is_duplicate_unless_texts_clearly_differ() -> None:
    d = NearDuplicateDetector()
    d.check(mention(1, "Acme recalls widgets", url="https://www.news.example/acme-recall?utm_source=rss"))
    assert d.check(mention(2, "Acme widget recall", url="https://m.news.example/acme-recall/amp")) == "m1"
    thread = "https://forum.example/t/123"
    d.check(mention(3, "my acme widget caught fire this morning while charging on the kitchen table", url=thread))
    other = "has anyone tried returning theirs at the store without the original receipt and box"
    assert d.check(mention(4, other, url=thread)) is None


def test_short_texts_only_match_exactly() -> None:
    d = NearDuplicateDetector(threshold=0.5)
    d.check(mention(1, "great flight"))
    assert d.check(mention(2, "great flight!!", hours=1)) == "m1"
    assert d.check(mention(3, "great fight", hours=1)) is None


def test_seed_from_stored_mentions_links_reposts_to_them() -> None:
    stored = [mention(1, RELEASE, hours=-5), mention(2, RELEASE, hours=-4)]
    stored[1].duplicate_of = "m1"
    d = NearDuplicateDetector()
    d.seed(stored)
    assert d.check(mention(9, f"RT @x: {RELEASE}")) == "m1"
    assert d.check(stored[1]) == "m1"  # re-checking a stored one answers what was decided


def test_bad_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="dedup_threshold"):
        NearDuplicateDetector(threshold=0)
    with pytest.raises(ConfigError, match="dedup_window"):
        NearDuplicateDetector(window=timedelta(0))


def test_odd_texts_do_not_raise() -> None:
    d = NearDuplicateDetector()
    for i, text in enumerate(["", "😡😡", "\x00\x01", "x" * 1_000_000, bytes(range(256)).decode("latin-1")]):
        d.check(mention(i, text))
    assert shingles([]) == set()
    assert shingles(["a", "b"]) == {"a b"}
