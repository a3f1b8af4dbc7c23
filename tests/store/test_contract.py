"""The one contract every `MentionStore` backend passes (memory, SQLite, Elasticsearch).

Covers every ABC method and the semantics in ARCHITECTURE.md: query language,
filters, date boundaries, pagination stable under inserts, idempotent upsert,
timeline, top values, delete, cursors, source runs, alerts, outbox, API keys.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from earshot.errors import InputError
from earshot.models import Alert, AlertStatus, ApiKey, Mention, OutboxMessage, Sentiment, SourceRun
from earshot.query import parse
from store.base import MentionFilter, MentionStore, SearchHit, SearchRequest
from store.memory import MemoryStore
from store.sqlite import SQLiteStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def sentiment(label: str | None) -> Sentiment | None:
    if label is None:
        return None
    scores = {"negative": 0.1, "neutral": 0.1, "positive": 0.1}
    scores[label] = 0.8
    return Sentiment(label=label, scores=scores, model="test-model@1")  # type: ignore[arg-type]


def mention(
    sid: str,
    text: str,
    *,
    title: str | None = None,
    source: str = "reddit",
    at: datetime = T0,
    brands: tuple[str, ...] = (),
    label: str | None = None,
    url: str | None = None,
    author: str | None = None,
    language: str = "en",
    duplicate_of: str | None = None,
) -> Mention:
    return Mention(
        id=f"{source}-{sid}",
        source=source,
        source_id=sid,
        url=url,
        author=author,
        title=title,
        text=text,
        language=language,
        published_at=at,
        brands=list(brands),
        sentiment=sentiment(label),
        duplicate_of=duplicate_of,
    )


CORPUS = [
    mention(
        "1",
        "Acme refund took three weeks, terrible service",
        title="Refund nightmare",
        brands=("Acme",),
        label="negative",
        url="https://www.shop.acme.com/help",
        author="Jane Doe",
        at=T0,
    ),
    mention(
        "2",
        "Loving the new #Nordlys jacket from @acme",
        source="mastodon",
        brands=("Acme", "Nordlys"),
        label="positive",
        url="https://social.example.org/@x/1",
        author="jörg",
        language="de",
        at=T0 + timedelta(hours=1),
    ),
    mention(
        "3",
        "The café at Nordlys was fine, nothing special",
        source="review",
        brands=("Nordlys",),
        label="neutral",
        url="https://reviews.example.com/nordlys",
        author="JANE DOE",
        at=T0 + timedelta(hours=2),
    ),
    mention(
        "4",
        "Refund from acme finally arrived after I complained to support",
        source="hn",
        brands=("Acme",),
        url="https://news.ycombinator.com/item?id=4",
        at=T0 + timedelta(days=1),
    ),
    mention(
        "5",
        "Acmeville weather report: sunny",
        source="rss",
        label="neutral",
        url="https://acmeville.example.net/weather",
        at=T0 + timedelta(days=2),
    ),
    mention(
        "6",
        "acme refund acme refund (copy)",
        brands=("Acme",),
        label="negative",
        duplicate_of="reddit-1",
        at=T0 + timedelta(days=2, hours=1),
    ),
]


def ids(mentions: Any) -> set[str]:
    return {m.mention.id if hasattr(m, "mention") else m.id for m in mentions}


def all_ids(store: MentionStore, flt: MentionFilter) -> list[str]:
    return [m.id for m in store.iter_mentions(flt, batch_size=2)]


@pytest.fixture
def loaded(store: MentionStore) -> MentionStore:
    result = store.upsert_mentions(CORPUS)
    assert result.inserted == len(CORPUS)
    return store


# --- upsert / get ------------------------------------------------------------------------


def test_upsert_is_idempotent_and_reports_updates(store: MentionStore) -> None:
    first = store.upsert_mentions(CORPUS)
    assert (first.inserted, first.updated, first.unchanged) == (len(CORPUS), 0, 0)
    # A re-crawl differs only in collection time: that is not new content.
    recrawled = [m.model_copy(update={"collected_at": m.collected_at + timedelta(hours=5)}) for m in CORPUS]
    again = store.upsert_mentions(recrawled)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(CORPUS))
    assert store.count(MentionFilter()) == len(CORPUS)

    changed = CORPUS[0].model_copy(
        update={"text": "Acme sent the refund, all good now", "sentiment": sentiment("positive")}
    )
    result = store.upsert_mentions([changed])
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 0)
    got = store.get_mention(changed.id)
    assert got is not None
    assert got.text == "Acme sent the refund, all good now"
    assert got.sentiment_label == "positive"
    assert got.collected_at == CORPUS[0].collected_at
    # The full-text index follows the update: the old words no longer match.
    assert changed.id not in all_ids(store, MentionFilter(query=parse("terrible")))
    assert changed.id in all_ids(store, MentionFilter(query=parse("good")))


def test_upsert_same_id_twice_in_one_batch_keeps_last(store: MentionStore) -> None:
    a = mention("x", "first version")
    b = mention("x", "second version")
    store.upsert_mentions([a, b])
    got = store.get_mention(a.id)
    assert got is not None and got.text == "second version"
    assert store.count(MentionFilter()) == 1
    assert all_ids(store, MentionFilter(query=parse("first"))) == []


def test_get_mention_and_get_mentions(loaded: MentionStore) -> None:
    got = loaded.get_mention("reddit-1")
    assert got == CORPUS[0]
    assert loaded.get_mention("nope") is None
    many = loaded.get_mentions(["reddit-1", "missing", "hn-4"])
    assert set(many) == {"reddit-1", "hn-4"}
    assert many["hn-4"].source == "hn"


def test_round_trip_keeps_every_field(store: MentionStore) -> None:
    m = mention("rt", "Round trip", title="T", brands=("Acme",), label="positive", url="https://a.example/x")
    m = m.model_copy(update={"topics": ["billing"], "rating": 4.0, "metrics": {"likes": 3.0}, "raw": {"k": [1, 2]}})
    store.upsert_mentions([m])
    assert store.get_mention(m.id) == m


# --- query semantics ---------------------------------------------------------------------

QUERY_CASES = [
    ("acme", {"reddit-1", "mastodon-2", "hn-4", "reddit-6"}),  # whole words: not Acmeville
    ("ACME", {"reddit-1", "mastodon-2", "hn-4", "reddit-6"}),
    ("acme*", {"reddit-1", "mastodon-2", "hn-4", "rss-5", "reddit-6"}),
    ("nordlys", {"mastodon-2", "review-3"}),  # #Nordlys matches its word
    ("#nordlys", {"mastodon-2", "review-3"}),
    ("cafe", {"review-3"}),  # accent-insensitive
    ("CAFÉ", {"review-3"}),
    ("acme refund", {"reddit-1", "hn-4", "reddit-6"}),  # implicit AND
    ("acme AND refund", {"reddit-1", "hn-4", "reddit-6"}),
    ("refund OR nordlys", {"reddit-1", "hn-4", "reddit-6", "mastodon-2", "review-3"}),
    ("acme -refund", {"mastodon-2"}),
    ("acme NOT refund", {"mastodon-2"}),
    ("NOT acme", {"review-3", "rss-5"}),
    ("refund OR nordlys NOT cafe", {"reddit-1", "hn-4", "reddit-6", "mastodon-2"}),  # NOT > AND > OR
    ("(refund OR nordlys) -acme", {"review-3"}),
    ('"acme refund"', {"reddit-1", "reddit-6"}),  # exact phrase, in order
    ('"refund acme"', {"reddit-6"}),
    ('"refund from acme"', {"hn-4"}),
    ('"acme finally"~1', {"hn-4"}),  # refund from acme finally: 0 between acme/finally
    ('"refund finally"~1', set()),  # 2 words between
    ('"refund finally"~2', {"hn-4"}),
    ('"finally refund"~2', {"hn-4"}),  # either order
    ("refund NEAR/0 acme", {"reddit-1", "reddit-6"}),
    ("acme NEAR/1 refund", {"reddit-1", "reddit-6", "hn-4"}),
    ("refund NEAR/2 weeks", {"reddit-1"}),
    ("refu* NEAR/0 acme", {"reddit-1", "reddit-6"}),
    ("source:hn", {"hn-4"}),
    ("source:HN OR source:review", {"hn-4", "review-3"}),
    ('author:"jane doe"', {"reddit-1", "review-3"}),  # whole value, case-insensitive
    ("author:jane", set()),
    ("author:jorg", {"mastodon-2"}),
    ("lang:de", {"mastodon-2"}),
    ("site:acme.com", {"reddit-1"}),  # host shop.acme.com is under acme.com
    ("site:www.shop.acme.com", {"reddit-1"}),
    ("site:example.com", {"review-3"}),  # not example.org / example.net
    ("site:ample.com", set()),  # parent domains only, not suffixes
    ("brand:nordlys", {"mastodon-2", "review-3"}),
    ("brand:Nordlys -source:review", {"mastodon-2"}),
    ("sentiment:negative", {"reddit-1", "reddit-6"}),
    ("acme -sentiment:negative", {"mastodon-2", "hn-4"}),
    ("refund -site:acme.com", {"hn-4", "reddit-6"}),  # a mention without url is not on any site
    ('NOT author:"jane doe"', {"mastodon-2", "hn-4", "rss-5", "reddit-6"}),
    ("weather OR (nordlys AND NOT jacket)", {"rss-5", "review-3"}),
    ("nightmare", {"reddit-1"}),  # titles are searched too
    ('"nightmare acme"', set()),  # phrases do not cross from title into text
]


@pytest.mark.parametrize(("text", "expected"), QUERY_CASES, ids=[c[0] for c in QUERY_CASES])
def test_query_semantics(loaded: MentionStore, text: str, expected: set[str]) -> None:
    query = parse(text)
    assert set(all_ids(loaded, MentionFilter(query=query))) == expected
    assert loaded.count(MentionFilter(query=query)) == len(expected)
    # The in-memory evaluator is the reference for every backend.
    assert {m.id for m in CORPUS if query.matches(m)} == expected


# --- filters -----------------------------------------------------------------------------

FILTER_CASES: list[tuple[str, MentionFilter, set[str]]] = [
    ("brand", MentionFilter(brands=["acme"]), {"reddit-1", "mastodon-2", "hn-4", "reddit-6"}),
    ("brands any", MentionFilter(brands=["Nordlys", "Other"]), {"mastodon-2", "review-3"}),
    ("brand none", MentionFilter(brands=[]), set()),
    ("source", MentionFilter(sources=["reddit", "hn"]), {"reddit-1", "hn-4", "reddit-6"}),
    ("language", MentionFilter(languages=["DE"]), {"mastodon-2"}),
    ("sentiment", MentionFilter(sentiments=["neutral"]), {"review-3", "rss-5"}),
    ("unscored", MentionFilter(sentiments=["unscored"]), {"hn-4"}),
    ("site", MentionFilter(sites=["example.com", "www.acme.com"]), {"review-3", "reddit-1"}),
    ("author", MentionFilter(authors=["Jane Doe"]), {"reddit-1", "review-3"}),
    ("no duplicates", MentionFilter(brands=["Acme"], include_duplicates=False), {"reddit-1", "mastodon-2", "hn-4"}),
    (
        "combined",
        MentionFilter(
            query=parse("refund"), brands=["acme"], sentiments=["negative"], since=T0, until=T0 + timedelta(days=2)
        ),
        {"reddit-1"},
    ),
]


@pytest.mark.parametrize(("name", "flt", "expected"), FILTER_CASES, ids=[c[0] for c in FILTER_CASES])
def test_filters(loaded: MentionStore, name: str, flt: MentionFilter, expected: set[str]) -> None:
    assert set(all_ids(loaded, flt)) == expected
    assert loaded.count(flt) == len(expected)


def test_time_range_is_since_inclusive_until_exclusive(loaded: MentionStore) -> None:
    day = T0.replace(hour=0)
    # A date-only range "2026-03-01..2026-03-01" is [day, day + 1).
    flt = MentionFilter(since=day, until=day + timedelta(days=1))
    assert set(all_ids(loaded, flt)) == {"reddit-1", "mastodon-2", "review-3"}
    exact = MentionFilter(since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=2))
    assert all_ids(loaded, exact) == ["mastodon-2"]
    # Naive datetimes are UTC; other zones are converted.
    from datetime import timezone

    plus2 = timezone(timedelta(hours=2))
    shifted = MentionFilter(
        since=(T0 + timedelta(hours=1)).astimezone(plus2), until=T0.replace(tzinfo=None) + timedelta(hours=2)
    )
    assert all_ids(loaded, shifted) == ["mastodon-2"]


# --- search: order, pagination, highlights -------------------------------------------------


def test_search_time_sort_newest_first_with_total(loaded: MentionStore) -> None:
    page = loaded.search(SearchRequest(limit=4))
    assert [h.mention.id for h in page.hits] == ["reddit-6", "rss-5", "hn-4", "review-3"]
    assert page.total == len(CORPUS)
    assert page.next_cursor
    rest = loaded.search(SearchRequest(limit=4, cursor=page.next_cursor))
    assert [h.mention.id for h in rest.hits] == ["mastodon-2", "reddit-1"]
    assert rest.next_cursor is None


def test_pagination_is_stable_under_inserts(store: MentionStore) -> None:
    base = [mention(f"p{i}", f"acme item {i}", at=T0 + timedelta(minutes=i)) for i in range(20)]
    # Ties on published_at are broken by id, so equal times never repeat or vanish.
    base += [mention(f"tie{i}", f"acme tie {i}", at=T0 + timedelta(minutes=10)) for i in range(5)]
    store.upsert_mentions(base)
    flt = MentionFilter(query=parse("acme"))
    seen: list[str] = []
    cursor = None
    newer = 0
    older = mention("older", "acme older", at=T0 - timedelta(days=1))
    while True:
        page = store.search(SearchRequest(filter=flt, limit=4, cursor=cursor))
        seen += [h.mention.id for h in page.hits]
        # Concurrent writers: newer mentions (before the cursor) and one older one (after it).
        store.upsert_mentions([mention(f"new{newer}", "acme brand new", at=T0 + timedelta(days=1, minutes=newer))])
        newer += 1
        if newer == 2:
            store.upsert_mentions([older])
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen))
    assert set(seen) == {m.id for m in base} | {older.id}
    assert not any(s.startswith("reddit-new") for s in seen)


def test_relevance_pagination_has_no_repeats_or_gaps(store: MentionStore) -> None:
    docs = [
        mention(
            f"r{i}",
            f"acme filler text number {i}" + (" refund" if i % 2 else ""),
            title="Refund" if i % 3 == 0 else None,
            at=T0 + timedelta(minutes=i),
        )
        for i in range(15)
    ]
    store.upsert_mentions(docs)
    flt = MentionFilter(query=parse("refund acme"))
    seen: list[str] = []
    cursor = None
    while True:
        page = store.search(SearchRequest(filter=flt, sort="relevance", limit=3, cursor=cursor))
        assert all(h.score is not None for h in page.hits)
        seen += [h.mention.id for h in page.hits]
        # Inserts between pages: scores must not move, so nothing repeats or goes missing.
        store.upsert_mentions([mention(f"late{len(seen)}", "refund acme late", at=T0 - timedelta(minutes=1))])
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen))
    final = store.search(SearchRequest(filter=flt, sort="relevance", limit=100))
    order = [h.mention.id for h in final.hits]
    assert [i for i in order if i in set(seen)] == seen  # pages follow one fixed order
    assert {f"reddit-r{i}" for i in (0, 1, 3, 5, 6, 7, 9, 11, 12, 13)} <= set(seen)
    if isinstance(store, MemoryStore | SQLiteStore):
        assert_stable_scores(final.hits)


def assert_stable_scores(hits: list[SearchHit]) -> None:
    """The embedded backends' corpus-independent score (Elasticsearch ranks by bm25 over a PIT)."""
    order = [h.mention.id for h in hits]
    originals = [i for i in order if not i.startswith("reddit-late")]
    # Each word node adds 2 for a title match and 1 for a text match; ties are newest first.
    assert originals == [f"reddit-r{i}" for i in (9, 3, 12, 6, 0, 13, 11, 7, 5, 1)]
    scores = {h.mention.id: h.score for h in hits}
    assert (scores["reddit-r9"], scores["reddit-r0"], scores["reddit-r1"]) == (4.0, 3.0, 2.0)


def test_relevance_without_query_falls_back_to_time(loaded: MentionStore) -> None:
    page = loaded.search(SearchRequest(sort="relevance", limit=2))
    assert [h.mention.id for h in page.hits] == ["reddit-6", "rss-5"]


def test_highlights_mark_matched_words(loaded: MentionStore) -> None:
    page = loaded.search(SearchRequest(filter=MentionFilter(query=parse("refund -nordlys")), highlight=True, limit=10))
    by_id = {h.mention.id: h for h in page.hits}
    assert "<mark>Refund</mark>" in by_id["reddit-1"].highlights["title"][0]
    assert "<mark>refund</mark>" in by_id["reddit-1"].highlights["text"][0]
    assert "<mark>Refund</mark> from acme" in by_id["hn-4"].highlights["text"][0]
    plain = loaded.search(SearchRequest(filter=MentionFilter(query=parse("refund")), limit=1))
    assert plain.hits[0].highlights == {}


def test_bad_cursor_and_limit_are_input_errors(loaded: MentionStore) -> None:
    with pytest.raises(InputError, match="cursor"):
        loaded.search(SearchRequest(cursor="not-a-cursor"))
    page = loaded.search(SearchRequest(limit=1))
    assert page.next_cursor
    with pytest.raises(InputError, match="cursor"):
        loaded.search(
            SearchRequest(filter=MentionFilter(query=parse("acme")), sort="relevance", cursor=page.next_cursor)
        )
    with pytest.raises(InputError, match="limit"):
        loaded.search(SearchRequest(limit=0))


# --- aggregations ------------------------------------------------------------------------


def test_timeline_by_sentiment_aligned_to_epoch(loaded: MentionStore) -> None:
    buckets = loaded.timeline(MentionFilter(), interval_s=86_400)
    assert [b.start for b in buckets] == [
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 3, 2, tzinfo=UTC),
        datetime(2026, 3, 3, tzinfo=UTC),
    ]
    assert [b.total for b in buckets] == [3, 1, 2]
    assert buckets[0].counts == {"negative": 1, "positive": 1, "neutral": 1}
    assert buckets[1].counts == {"unscored": 1}
    assert buckets[2].counts == {"neutral": 1, "negative": 1}
    hourly = loaded.timeline(MentionFilter(brands=["acme"], until=T0 + timedelta(days=1)), interval_s=3600)
    assert [(b.start, b.total) for b in hourly] == [(T0, 1), (T0 + timedelta(hours=1), 1)]
    # Buckets need not divide a day: 7-hour buckets start at multiples of 7h since 1970.
    for b in loaded.timeline(MentionFilter(), interval_s=7 * 3600):
        assert int(b.start.timestamp()) % (7 * 3600) == 0


def test_timeline_split_by_source_brand_none(loaded: MentionStore) -> None:
    day = loaded.timeline(MentionFilter(until=T0 + timedelta(days=1)), 86_400, split_by="source")
    assert day[0].counts == {"reddit": 1, "mastodon": 1, "review": 1}
    brands = loaded.timeline(MentionFilter(), 86_400, split_by="brand")
    assert brands[0].counts == {"Acme": 2, "Nordlys": 2}
    assert brands[0].total == 3
    assert brands[2].counts == {"Acme": 1}  # the unbranded rss mention is in total only
    assert brands[2].total == 2
    flat = loaded.timeline(MentionFilter(query=parse("acme")), 86_400, split_by="none")
    assert [(b.total, b.counts) for b in flat] == [(2, {"all": 2}), (1, {"all": 1}), (1, {"all": 1})]
    with pytest.raises(InputError):
        loaded.timeline(MentionFilter(), 0)


def test_top_values(loaded: MentionStore) -> None:
    assert loaded.top(MentionFilter(), "source", size=2) == [("reddit", 2), ("hn", 1)]
    assert loaded.top(MentionFilter(), "brand") == [("Acme", 4), ("Nordlys", 2)]
    assert loaded.top(MentionFilter(), "language") == [("en", 5), ("de", 1)]
    sites = dict(loaded.top(MentionFilter(), "site"))
    assert sites == {
        "shop.acme.com": 1,
        "social.example.org": 1,
        "reviews.example.com": 1,
        "news.ycombinator.com": 1,
        "acmeville.example.net": 1,
    }
    assert loaded.top(MentionFilter(query=parse("refund")), "author") == [("Jane Doe", 1)]


def test_delete_by_filter(loaded: MentionStore) -> None:
    assert loaded.delete_mentions(MentionFilter(until=T0 + timedelta(days=1))) == 3
    assert loaded.count(MentionFilter()) == 3
    assert loaded.get_mention("reddit-1") is None
    assert all_ids(loaded, MentionFilter(query=parse("nordlys"))) == []
    assert loaded.top(MentionFilter(), "brand") == [("Acme", 2)]
    assert loaded.delete_mentions(MentionFilter(query=parse("weather"))) == 1
    assert set(all_ids(loaded, MentionFilter())) == {"hn-4", "reddit-6"}
    assert loaded.delete_mentions(MentionFilter(sources=["nowhere"])) == 0
    # A deleted id can come back.
    loaded.upsert_mentions([CORPUS[0]])
    assert all_ids(loaded, MentionFilter(query=parse("nightmare"))) == ["reddit-1"]


# --- operational state ---------------------------------------------------------------------


def test_source_cursors(store: MentionStore) -> None:
    assert store.get_cursor("reddit") is None
    store.set_cursor("reddit", "t3_abc")
    store.set_cursor("reddit", "t3_def")
    store.set_cursor("hn", "42")
    assert store.get_cursor("reddit") == "t3_def"
    assert store.get_cursor("hn") == "42"


def test_source_runs_most_recent_first(store: MentionStore) -> None:
    for i in range(5):
        store.record_source_run(
            SourceRun(source="reddit" if i % 2 == 0 else "hn", started_at=T0 + timedelta(minutes=i), seen=i)
        )
    runs = store.source_runs()
    assert [r.seen for r in runs] == [4, 3, 2, 1, 0]
    assert [r.seen for r in store.source_runs("reddit", limit=2)] == [4, 2]
    assert store.source_runs("nothing") == []


def alert(aid: str, key: str, updated: datetime, status: AlertStatus = AlertStatus.FIRING) -> Alert:
    return Alert(id=aid, key=key, rule="spike", metric="volume", status=status, opened_at=T0, updated_at=updated)


def test_alerts(store: MentionStore) -> None:
    store.save_alert(alert("a1", "spike|acme", T0 + timedelta(minutes=1), AlertStatus.RESOLVED))
    store.save_alert(alert("a2", "spike|acme", T0 + timedelta(minutes=5)))
    store.save_alert(alert("a3", "spike|nordlys", T0 + timedelta(minutes=3)))
    assert store.get_alert("a1") is not None
    assert store.get_alert("zzz") is None
    latest = store.get_alert_by_key("spike|acme")
    assert latest is not None and latest.id == "a2"
    assert store.get_alert_by_key("none") is None
    assert [a.id for a in store.list_alerts()] == ["a2", "a3", "a1"]
    assert [a.id for a in store.list_alerts(status=AlertStatus.FIRING)] == ["a2", "a3"]
    assert [a.id for a in store.list_alerts(since=T0 + timedelta(minutes=3))] == ["a2", "a3"]
    assert [a.id for a in store.list_alerts(limit=1)] == ["a2"]
    # Saving again updates in place (acknowledge).
    acked = alert("a2", "spike|acme", T0 + timedelta(minutes=9), AlertStatus.ACKNOWLEDGED)
    acked.assignee = "pr-team"
    store.save_alert(acked)
    got = store.get_alert("a2")
    assert got is not None and got.status == AlertStatus.ACKNOWLEDGED and got.assignee == "pr-team"
    assert [a.id for a in store.list_alerts(status=AlertStatus.FIRING)] == ["a3"]


def test_outbox_dedup_due_and_update(store: MentionStore) -> None:
    now = T0
    m1 = OutboxMessage(
        id="m1", channel="slack", dedup_key="a2:firing", payload={"x": 1}, created_at=now, next_attempt_at=now
    )
    assert store.enqueue(m1) is True
    dup = m1.model_copy(update={"id": "m1b"})
    assert store.enqueue(dup) is False  # same channel + dedup key
    other_channel = m1.model_copy(update={"id": "m2", "channel": "email"})
    assert store.enqueue(other_channel) is True
    later = OutboxMessage(
        id="m3",
        channel="slack",
        dedup_key="a3:firing",
        payload={},
        created_at=now,
        next_attempt_at=now + timedelta(minutes=5),
    )
    assert store.enqueue(later) is True
    assert {m.id for m in store.due_messages(now)} == {"m1", "m2"}
    assert [m.id for m in store.due_messages(now + timedelta(minutes=10))][-1] == "m3"
    assert len(store.due_messages(now, limit=1)) == 1
    sent = m1.model_copy(update={"sent_at": now, "attempts": 1})
    store.update_message(sent)
    failed = other_channel.model_copy(
        update={"attempts": 1, "last_error": "503", "next_attempt_at": now + timedelta(minutes=1)}
    )
    store.update_message(failed)
    assert store.due_messages(now) == []
    assert [m.id for m in store.due_messages(now + timedelta(minutes=1))] == ["m2"]
    store.update_message(failed.model_copy(update={"dead": True}))
    assert [m.id for m in store.due_messages(now + timedelta(hours=1))] == ["m3"]
    # A sent message still blocks a duplicate.
    assert store.enqueue(m1.model_copy(update={"id": "m9"})) is False


def test_api_keys(store: MentionStore) -> None:
    k1 = ApiKey(id="k1", name="ci", prefix="es_abc", key_hash="h1", scopes=["read"], created_at=T0)
    k2 = ApiKey(
        id="k2",
        name="ops",
        prefix="es_def",
        key_hash="h2",
        scopes=["read", "admin"],
        created_at=T0 + timedelta(seconds=1),
    )
    store.save_api_key(k1)
    store.save_api_key(k2)
    assert store.find_api_key("h2") == k2
    assert store.find_api_key("nope") is None
    assert [k.id for k in store.list_api_keys()] == ["k1", "k2"]
    revoked = k1.model_copy(update={"revoked_at": T0 + timedelta(days=1)})
    store.save_api_key(revoked)
    got = store.find_api_key("h1")
    assert got is not None and got.revoked_at == T0 + timedelta(days=1)
    assert len(store.list_api_keys()) == 2


def test_ping(store: MentionStore) -> None:
    assert store.ping() is True
