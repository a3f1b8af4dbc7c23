"""End to end: every source kind crawled from the local fakes through the real pipeline into a store."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from crawlers.base import CrawlBatch
from crawlers.runner import run_source, run_sources, select_sources
from earshot.errors import InputError
from earshot.models import RawMention, utcnow
from earshot.settings import Settings
from store.base import MentionFilter

from .conftest import all_sources_config, make_pipeline

EXPECTED_NEW = {"news": 3, "blog": 2, "reviews": 7, "reddit": 3, "hn": 2, "mastodon": 3, "bluesky": 2}


def test_every_kind_end_to_end_then_second_run_adds_nothing(world, sqlite_store, settings):
    config = all_sources_config(world)
    pipeline = make_pipeline(sqlite_store, config)
    events: list[tuple[str, str]] = []
    first = run_sources(
        config, sqlite_store, pipeline, settings=settings, progress=lambda s, e, n: events.append((s, e))
    )
    runs = {o.run.source: o.run for o in first}
    assert {name: r.new for name, r in runs.items()} == EXPECTED_NEW
    statuses = {n: r.status for n, r in runs.items()}
    # The fake blog links an empty page on purpose: counted, so that run is partial.
    assert statuses == {**dict.fromkeys(EXPECTED_NEW, "ok"), "blog": "partial"}, [r.error_messages for r in first]
    assert runs["blog"].errors == 1 and "empty document" in runs["blog"].error_messages[0]
    assert ("news", "start") in events and ("bluesky", "done") in events

    for name, count in EXPECTED_NEW.items():
        stored = list(sqlite_store.iter_mentions(MentionFilter(sources=[name])))
        assert len(stored) == count, name
        assert all(m.sentiment is not None and m.language == "en" for m in stored), name
        assert all(m.brands == ["Nordlys"] for m in stored), name
        assert sqlite_store.get_cursor(name), name
    worst = next(m for m in sqlite_store.iter_mentions(MentionFilter(sources=["reddit"])) if "worst" in m.text)
    assert worst.sentiment.label == "negative" and worst.author is None
    reviews = list(sqlite_store.iter_mentions(MentionFilter(sources=["reviews"])))
    assert sorted(m.rating for m in reviews) == [1.0, 2.0, 2.0, 3.0, 4.0, 5.0, 5.0]

    second = run_sources(config, sqlite_store, pipeline, settings=settings)
    assert {o.run.source: o.run.new for o in second} == dict.fromkeys(EXPECTED_NEW, 0)
    assert all(o.run.status in ("ok", "partial") for o in second)
    assert sum(o.run.duplicates for o in second) > 0
    assert sqlite_store.count(MentionFilter()) == sum(EXPECTED_NEW.values())
    assert len(sqlite_store.source_runs("hn")) == 2


def test_bluesky_without_credentials_is_recorded_as_not_configured(world, mem_store):
    config = all_sources_config(world)
    outcome = run_source(
        select_sources(config, "bluesky")[0],
        config,
        mem_store,
        make_pipeline(mem_store, config),
        settings=Settings(env="test"),
    )
    assert outcome.run.status == "not_configured"
    assert "EARSHOT_BLUESKY_HANDLE" in outcome.run.error_messages[0]
    assert mem_store.source_runs("bluesky")[0].status == "not_configured"


def test_cursor_is_kept_when_storing_fails(world, mem_store, settings):
    config = all_sources_config(world)
    source = select_sources(config, "hn")[0]

    class BrokenPipeline:
        def process(self, raws):
            raise RuntimeError("disk full")

    outcome = run_source(source, config, mem_store, BrokenPipeline(), settings=settings)
    assert outcome.run.status == "failed" and "disk full" in outcome.run.error_messages[-1]
    assert mem_store.get_cursor("hn") is None  # the next run fetches the same items again


def test_a_crawler_bug_is_a_failed_run_not_a_crash(world, mem_store, settings):
    config = all_sources_config(world)

    def exploding(ctx):
        raise KeyError("surprise")

    outcome = run_source(
        select_sources(config, "hn")[0],
        config,
        mem_store,
        make_pipeline(mem_store),
        settings=settings,
        crawler=exploding,
    )
    assert outcome.run.status == "failed" and outcome.run.errors == 1


def test_partial_run_stores_what_it_got(world, mem_store, settings):
    config = all_sources_config(world)

    def half(ctx):
        ctx.errors.add("http", "HTTP 500 on page 2")
        raw = RawMention(source="hn", source_id="1", text="Nordlys page one", published_at=utcnow())
        return CrawlBatch(mentions=[raw], cursor=None, seen=1)

    outcome = run_source(
        select_sources(config, "hn")[0],
        config,
        mem_store,
        make_pipeline(mem_store, config),
        settings=settings,
        crawler=half,
    )
    assert outcome.run.status == "partial" and outcome.run.new == 1 and outcome.run.errors == 1
    assert mem_store.count(MentionFilter(sources=["hn"])) == 1
    assert mem_store.get_cursor("hn") is None


def test_unknown_source_name_lists_the_configured_ones(world):
    with pytest.raises(InputError, match=r"unknown source 'nope'.*news, blog"):
        select_sources(all_sources_config(world), "nope")


def test_cli_crawl_once_and_sources_table(world, tmp_path, monkeypatch):
    import yaml

    from earshot.cli import app

    config = all_sources_config(world)
    path = tmp_path / "watch.yaml"
    data = config.model_dump(mode="json", exclude_defaults=True)
    data["sources"] = [s for s in data["sources"] if s["name"] in ("hn", "bluesky")]
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    db = tmp_path / "cli.db"
    for var in ("EARSHOT_BLUESKY_HANDLE", "EARSHOT_BLUESKY_APP_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    runner = CliRunner()
    args = ["--config", str(path), "--store", f"sqlite:///{db}"]
    result = runner.invoke(app, [*args, "crawl", "--once", "--no-score"])
    assert result.exit_code == 0, result.output
    assert "crawl summary" in result.output and "not_configured" in result.output
    result = runner.invoke(app, [*args, "sources", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["source"]: r for r in map(json.loads, result.output.splitlines())}
    assert rows["hn"]["status"] == "ok" and rows["hn"]["new"] == 2 and rows["hn"]["last_success"]
    assert rows["bluesky"]["status"] == "not_configured" and rows["bluesky"]["last_success"] is None
    result = runner.invoke(app, [*args, "sources"])
    assert result.exit_code == 0 and "hn" in result.output
    result = runner.invoke(app, [*args, "crawl", "--once", "--source", "nope"])
    assert result.exit_code == 2 and "unknown source 'nope'" in result.output
