"""First-run backfill and catch-up past ``max_pages`` for the API sources (Mastodon, Hacker News, Bluesky, Reddit).

Each source gets its own small world: ``N_WINDOW`` brand posts inside a 12-hour backfill window (one an hour,
newest an hour old) and ``N_OLD`` older ones that a first run must not read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from crawlers.base import CrawlBatch, load_cursor
from crawlers.bluesky import crawl_bluesky
from crawlers.fakes import FakeWorld, Item
from crawlers.hackernews import crawl_hackernews
from crawlers.mastodon_source import crawl_mastodon
from crawlers.reddit import crawl_reddit
from earshot.config import Source, parse_config
from earshot.errors import ConfigError

from .conftest import make_ctx

N_WINDOW, N_OLD = 10, 3
NOW = datetime.now(UTC).replace(microsecond=0)


def _hours_ago() -> list[float]:
    """Oldest first: the old posts (20–22 h ago), then the window (10 h … 1 h ago)."""
    return [22 - n for n in range(N_OLD)] + [N_WINDOW - n for n in range(N_WINDOW)]


def _items(kind: str, start: int = 0) -> list[Item]:
    out = []
    for n, hours in enumerate(_hours_ago(), start=start):
        at = NOW - timedelta(hours=hours)
        if kind == "mastodon":
            out.append(Item(str(1000 + n), f"#Nordlys post {n}", at, "fan", channel="nordlys"))
        elif kind == "hn":
            out.append(Item(str(50_000 + n), f"Nordlys comment {n}", at, "dev", kind="comment"))
        elif kind == "bluesky":
            out.append(Item(f"3p{n:03d}", f"Nordlys post {n}", at, "fan.bsky.social"))
        else:
            out.append(
                Item(f"p{n:03d}", f"Nordlys post {n}", at, "fan", f"Nordlys {n}", channel="travel", kind="submission")
            )
    return out


def _new_items(kind: str, count: int, start: int) -> list[Item]:
    """``count`` posts from the last minutes (newer than anything read so far), oldest first."""
    items = _items(kind, start)[:count]
    for n, item in enumerate(items):
        item.created_at = NOW + timedelta(seconds=n + 1)
    return items


def _window_ids(kind: str) -> set[str]:
    return {i.id for i in _items(kind)[N_OLD:]}


def _ids(batch: CrawlBatch, kind: str) -> list[str]:
    out = []
    for m in batch.mentions:
        if kind == "mastodon":
            out.append(m.raw["id"])
        elif kind == "bluesky":
            out.append(m.source_id.rsplit("/", 1)[-1])
        elif kind == "reddit":
            out.append(m.source_id.removeprefix("t3_"))
        else:
            out.append(m.source_id)
    return out


@pytest.fixture
def small_world() -> Iterator[FakeWorld]:
    w = FakeWorld(
        mastodon=_items("mastodon"), hn=_items("hn"), bluesky=_items("bluesky"), reddit=_items("reddit")
    ).start()
    w.reddit_page_size = 3
    yield w
    w.stop()


def _source(world: FakeWorld, kind: str, **options: object) -> Source:
    if kind == "mastodon":
        # one stream (the hashtag): the search stream would read the same posts again
        return Source(
            name="m", kind="mastodon", query="zzz", instances=[world.url("mastodon")], hashtags=["nordlys"],
            backfill="12h", options={"limit": 3, **options},
        )  # fmt: skip
    if kind == "hn":
        return Source(
            name="hn",
            kind="hackernews",
            base_url=world.url("hn"),
            backfill="12h",
            options={"hits_per_page": 3, **options},
        )
    if kind == "bluesky":
        return Source(
            name="b", kind="bluesky", base_url=world.url("bluesky"), backfill="12h", options={"limit": 3, **options}
        )
    # search only (no subreddits): one listing; `limit` is reddit's page-count bound
    return Source(name="r", kind="reddit", base_url=world.url("reddit"), backfill="12h", options=dict(options))


CRAWL = {"mastodon": crawl_mastodon, "hn": crawl_hackernews, "bluesky": crawl_bluesky, "reddit": crawl_reddit}
KINDS = list(CRAWL)
#: the option that bounds one run, and its value for "two pages of three"
BOUND = {"mastodon": ("max_pages", 2), "hn": ("max_pages", 2), "bluesky": ("max_pages", 2), "reddit": ("limit", 6)}


def _run(world, kind, crawl_cfg, settings, cursor=None, **options):
    ctx = make_ctx(_source(world, kind, **options), crawl_cfg, settings, cursor=cursor)
    return CRAWL[kind](ctx), ctx


def _add(world: FakeWorld, kind: str, items: list[Item]) -> None:
    getattr(world, kind).extend(items)


def _mid_catch_up(world, kind, crawl_cfg, settings):
    """A caught-up source, then a backlog of ten over the bound and one bounded run into it: (that run, backlog)."""
    name, value = BOUND[kind]
    first, _ = _run(world, kind, crawl_cfg, settings)
    backlog = _new_items(kind, 10, start=100)
    _add(world, kind, backlog)
    second, _ = _run(world, kind, crawl_cfg, settings, cursor=first.cursor, **{name: value})
    return second, backlog


def _drain(world, kind, crawl_cfg, settings, cursor, runs):
    """``runs`` bounded runs, each from the cursor the last one left: (ids collected, final cursor)."""
    name, value = BOUND[kind]
    seen: list[str] = []
    for _ in range(runs):
        batch, _ = _run(world, kind, crawl_cfg, settings, cursor=cursor, **{name: value})
        seen += _ids(batch, kind)
        cursor = batch.cursor
    return seen, cursor


@pytest.mark.parametrize("kind", KINDS)
def test_first_run_reads_the_backfill_window_and_not_beyond(small_world, crawl_cfg, settings, kind):
    batch, ctx = _run(small_world, kind, crawl_cfg, settings)
    assert ctx.errors.count == 0, ctx.errors.messages
    ids = _ids(batch, kind)
    assert sorted(ids) == sorted(_window_ids(kind))  # every page of the window, none older, no duplicates
    again, ctx = _run(small_world, kind, crawl_cfg, settings, cursor=batch.cursor)
    assert again.mentions == [] and ctx.errors.count == 0


@pytest.mark.parametrize("kind", KINDS)
def test_first_run_stops_at_the_bound_with_a_limit_error_and_then_goes_forward(small_world, crawl_cfg, settings, kind):
    name, value = BOUND[kind]
    first, ctx = _run(small_world, kind, crawl_cfg, settings, **{name: value})
    assert ctx.errors.count == 1 and ctx.errors.messages[0].startswith("limit:"), ctx.errors.messages
    newest_six = [i.id for i in _items(kind)][-6:]
    assert sorted(_ids(first, kind)) == sorted(newest_six)
    assert first.cursor is not None
    # the cursor is at the newest post: the next run reads what is new, not the rest of the old window
    new = _new_items(kind, 2, start=100)
    _add(small_world, kind, new)
    second, ctx = _run(small_world, kind, crawl_cfg, settings, cursor=first.cursor, **{name: value})
    assert ctx.errors.count == 0, ctx.errors.messages
    assert sorted(_ids(second, kind)) == sorted(i.id for i in new)


@pytest.mark.parametrize("kind", KINDS)
def test_a_backlog_over_the_bound_is_caught_up_over_runs_without_gaps(small_world, crawl_cfg, settings, kind):
    name, value = BOUND[kind]
    first, _ = _run(small_world, kind, crawl_cfg, settings)
    backlog = _new_items(kind, 10, start=100)
    _add(small_world, kind, backlog)
    seen: list[str] = []
    cursor = first.cursor
    errors = []
    for _ in range(4):
        batch, ctx = _run(small_world, kind, crawl_cfg, settings, cursor=cursor, **{name: value})
        assert batch.cursor is not None
        seen += _ids(batch, kind)
        errors.append(ctx.errors.count)
        cursor = batch.cursor
    assert sorted(seen) == sorted(i.id for i in backlog)  # all ten, each once
    assert errors[0] == 1 and errors[-1] == 0
    # a post arriving mid-catch-up is read too
    late = _new_items(kind, 1, start=200)
    late[0].created_at = NOW + timedelta(minutes=5)
    _add(small_world, kind, late)
    batch, _ = _run(small_world, kind, crawl_cfg, settings, cursor=cursor, **{name: value})
    assert _ids(batch, kind) == [late[0].id]


@pytest.mark.parametrize("kind", ["hn", "bluesky", "reddit"])
def test_catch_up_with_new_posts_arriving_between_runs(small_world, crawl_cfg, settings, kind):
    second, backlog = _mid_catch_up(small_world, kind, crawl_cfg, settings)
    assert "gap" in json.dumps(load_cursor(second.cursor))
    late = _new_items(kind, 2, start=300)
    for n, item in enumerate(late):
        item.created_at = NOW + timedelta(minutes=10, seconds=n)
    _add(small_world, kind, late)
    seen, _ = _drain(small_world, kind, crawl_cfg, settings, second.cursor, runs=4)
    assert sorted(_ids(second, kind) + seen) == sorted(i.id for i in backlog + late)


def test_old_format_cursors_still_work(small_world, crawl_cfg, settings):
    """Cursors written before backfill: HN/Bluesky/Reddit one newest time + ids, Mastodon one id per stream."""
    cut = NOW - timedelta(hours=3, seconds=1)  # the three newest window posts come after it
    newest3 = {k: [i.id for i in _items(k)][-3:] for k in KINDS}
    cursors = {
        "hn": {"since": int(cut.timestamp()), "ids": []},
        "bluesky": {"since": cut.isoformat().replace("+00:00", "Z"), "ids": []},
        "reddit": {"since": cut.timestamp(), "ids": []},
        "mastodon": {f"{small_world.url('mastodon')}|tag:nordlys": str(int(newest3["mastodon"][0]) - 1)},
    }
    for kind in KINDS:
        batch, ctx = _run(small_world, kind, crawl_cfg, settings, cursor=json.dumps(cursors[kind]))
        assert ctx.errors.count == 0, (kind, ctx.errors.messages)
        assert sorted(_ids(batch, kind)) == sorted(newest3[kind]), kind
        again, _ = _run(small_world, kind, crawl_cfg, settings, cursor=batch.cursor)
        assert again.mentions == [], kind


@pytest.mark.parametrize("kind", ["hn", "bluesky", "reddit"])
def test_a_malformed_answer_during_catch_up_keeps_the_old_cursor(small_world, crawl_cfg, settings, kind):
    name, value = BOUND[kind]
    second, backlog = _mid_catch_up(small_world, kind, crawl_cfg, settings)
    path = {"hn": "hn", "bluesky": "bluesky:/xrpc/app.bsky.feed.searchPosts", "reddit": "reddit:/r/all/search"}
    small_world.faults.broken[path[kind]] = 1
    broken, ctx = _run(small_world, kind, crawl_cfg, settings, cursor=second.cursor, **{name: value})
    assert ctx.errors.count == 1 and ctx.errors.messages[0].startswith("malformed:"), ctx.errors.messages
    assert broken.cursor is None  # the runner keeps the old cursor: the gap is read again next time
    seen, _ = _drain(small_world, kind, crawl_cfg, settings, second.cursor, runs=3)
    assert sorted(_ids(second, kind) + seen) == sorted(i.id for i in backlog)


def test_mastodon_malformed_backfill_page_leaves_no_cursor_for_that_stream(crawl_cfg, settings):
    world = FakeWorld(mastodon=_items("mastodon"))
    serve = world._mastodon

    def broken_second_page(req):  # the first page answers; paging back (max_id) gets a cut-off document
        if req.arg("max_id"):
            return 200, {"Content-Type": "application/json"}, b'[{"id": "1", '
        return serve(req)

    world._mastodon = broken_second_page  # type: ignore[method-assign]
    with world:
        batch, ctx = _run(world, "mastodon", crawl_cfg, settings)
        assert ctx.errors.count == 1 and ctx.errors.messages[0].startswith(("malformed:", "http:")), ctx.errors.messages
        # the newest page was collected, but no cursor: the next run backfills again rather than skip the window
        assert len(batch.mentions) == 3
        assert load_cursor(batch.cursor) == {}


def test_mastodon_error_on_the_first_page_keeps_other_streams(small_world, crawl_cfg, settings):
    src = _source(small_world, "mastodon")
    src = src.model_copy(update={"query": "Nordlys"})  # two streams: the hashtag and the search
    small_world.faults.status["mastodon:/api/v2/search"] = 500
    ctx = make_ctx(src, crawl_cfg, settings)
    batch = crawl_mastodon(ctx)
    assert ctx.errors.count == 1
    assert set(load_cursor(batch.cursor)) == {f"{small_world.url('mastodon')}|tag:nordlys"}


def test_backfill_is_validated_in_the_config():
    base = {"name": "hn", "kind": "hackernews"}
    assert parse_config({"sources": [base]}).sources[0].backfill == "3d"
    assert parse_config({"sources": [{**base, "backfill": "7d"}]}).sources[0].backfill == "7d"
    with pytest.raises(ConfigError, match=r"sources\[0\]\.backfill.*'3 days'"):
        parse_config({"sources": [{**base, "backfill": "3 days"}]})
    with pytest.raises(ConfigError, match="not under options"):
        parse_config({"sources": [{**base, "options": {"backfill": "3d"}}]})


def test_zero_backfill_reads_nothing_old(small_world, crawl_cfg, settings):
    src = _source(small_world, "hn").model_copy(update={"backfill": "0s"})
    batch = crawl_hackernews(make_ctx(src, crawl_cfg, settings))
    assert batch.mentions == [] and batch.cursor
