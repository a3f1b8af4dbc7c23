"""Service jobs without servers: crawl runs honour stop requests, retention, scheduling, log redaction."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

import pytest

from earshot.config import parse_config
from earshot.logging import redact, setup_logging
from earshot.models import utcnow
from earshot.pipeline import Pipeline
from earshot.service import Worker, crawl_source, run_retention
from earshot.settings import Settings
from store.base import MentionFilter

from .conftest import raw

runner = pytest.importorskip("crawlers.runner")
from crawlers.base import CrawlBatch  # noqa: E402

CFG = parse_config(
    {
        "brands": [{"name": "Acme"}],
        "sources": [
            {"name": "hn", "kind": "hackernews", "interval": "5m"},
            {"name": "off", "kind": "hackernews", "enabled": False},
        ],
        "retention": "30d",
        "alerts": {
            "rules": [
                {"name": "r", "brand": "Acme", "metric": "volume", "detector": "threshold", "settings": {"above": 5}}
            ],
            "channels": {"c": {"kind": "recording"}},
            "escalation": {"warning": ["c"]},
        },
    }
)


def _fake_crawler(n: int, cursor: str = '{"after":"x"}'):
    def crawl(ctx):
        return CrawlBatch(mentions=[raw(i, f"Acme item {i}", source="hn") for i in range(n)], cursor=cursor, seen=n)

    return crawl


def test_crawl_stores_then_advances_the_cursor(mem_store, monkeypatch):
    monkeypatch.setattr(runner, "crawler_for", lambda kind: _fake_crawler(5))
    run = crawl_source(CFG.sources[0], CFG, mem_store, Pipeline(mem_store, batch_size=2), Settings())
    assert (run.status, run.seen, run.new) == ("ok", 5, 5)
    assert mem_store.get_cursor("hn") == '{"after":"x"}'
    assert mem_store.source_runs("hn")[0].new == 5


def test_stop_request_keeps_the_batch_and_the_old_cursor(mem_store, monkeypatch):
    monkeypatch.setattr(runner, "crawler_for", lambda kind: _fake_crawler(10))
    mem_store.set_cursor("hn", "old")
    run = crawl_source(
        CFG.sources[0], CFG, mem_store, Pipeline(mem_store, batch_size=3), Settings(), should_stop=lambda: True
    )
    assert mem_store.count(MentionFilter()) == 3
    assert mem_store.get_cursor("hn") == "old"  # the next run fetches the rest again
    assert run.status == "partial" and run.new == 3


def test_crawler_crash_is_a_failed_run_not_an_exception(mem_store, monkeypatch):
    def boom(ctx):
        raise RuntimeError("parser exploded")

    monkeypatch.setattr(runner, "crawler_for", lambda kind: boom)
    run = crawl_source(CFG.sources[0], CFG, mem_store, Pipeline(mem_store), Settings())
    assert run.status == "failed" and any("parser exploded" in m for m in run.error_messages)


def test_retention_deletes_only_older_mentions(mem_store):
    now = utcnow()
    old = raw(1, "Acme old").model_copy(update={"published_at": now - timedelta(days=40)})
    new = raw(2, "Acme new").model_copy(update={"published_at": now - timedelta(days=2)})
    Pipeline(mem_store).process([old, new])
    assert run_retention(CFG, mem_store, now=now) == 1
    assert [m.source_id for m in mem_store.iter_mentions(MentionFilter())] == ["2"]
    assert run_retention(parse_config({}), mem_store) == 0


def test_worker_schedules_every_job_and_stops(mem_store, monkeypatch):
    monkeypatch.setattr(runner, "crawler_for", lambda kind: _fake_crawler(2))
    w = Worker(CFG, mem_store, Settings(), pipeline=Pipeline(mem_store))
    w.start()
    try:
        ids = {j.id for j in w.scheduler.get_jobs()}
        assert {"crawl:hn", "retention", "alerts.evaluate", "alerts.dispatch", "alerts.digest"} <= ids
        assert "crawl:off" not in ids
    finally:
        w.stop()
    assert w.scheduler is None and w.stopping.is_set()
    assert w.crawl("hn") is None  # a stopped worker takes no new work


def test_run_once_crawls_enabled_sources_then_evaluates(mem_store, monkeypatch):
    monkeypatch.setattr(runner, "crawler_for", lambda kind: _fake_crawler(8))
    runs = Worker(CFG, mem_store, Settings(), pipeline=Pipeline(mem_store)).run_once()
    assert [r.source for r in runs] == ["hn"] and mem_store.count(MentionFilter()) == 8


@pytest.mark.parametrize(
    ("line", "leak"),
    [
        ("Authorization: Bearer abcdef123456", "abcdef123456"),
        ("connecting to https://elastic:s3cr3t@es.example:9200/", "s3cr3t"),
        ("password=hunter2 user=bob", "hunter2"),
        ("key esk_1a2b3c4d5e6f_AbCdEfGhIjKlMnOp presented", "AbCdEfGhIjKlMnOp"),
    ],
)
def test_redaction(line, leak):
    assert leak not in redact(line)


def test_json_logs_are_one_object_a_line_without_secrets():
    buf = io.StringIO()
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    setup_logging(level="INFO", fmt="json", stream=buf)
    try:
        logging.getLogger("earshot.test").info("token=%s source=%s", "very-secret-token", "hn")
        obj = json.loads(buf.getvalue().strip().splitlines()[-1])
        assert obj["level"] == "info" and obj["logger"] == "earshot.test"
        assert "very-secret-token" not in obj["message"] and "source=hn" in obj["message"]
    finally:
        root.handlers[:] = saved[1]
        root.setLevel(saved[0])
