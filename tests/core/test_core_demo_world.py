"""The demo's sample world: deterministic, recent, multilingual, one incident hour with reposts."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime, timedelta

from earshot.config import parse_config
from earshot.demo.world import BRAND, LANGUAGES, SOURCES, generate_world
from earshot.pipeline import build_pipeline

NOW = datetime(2026, 3, 10, 14, 25, tzinfo=UTC)


def test_same_seed_same_world_and_ids_in_time_order():
    a, b = generate_world(NOW, days=10, seed=3), generate_world(NOW, days=10, seed=3)
    assert [(p.source, p.id, p.text) for p in a.posts] == [(p.source, p.id, p.text) for p in b.posts]
    assert [p.text for p in generate_world(NOW, days=10, seed=4).posts] != [p.text for p in a.posts]
    for source in SOURCES:
        posts = a.by_source(source)
        assert posts, source
        if source in ("mastodon", "hackernews"):  # these APIs page by numeric id
            assert [int(p.id) for p in posts] == sorted(int(p.id) for p in posts)


def test_incident_is_the_last_complete_hour_with_reposts_of_real_originals():
    w = generate_world(NOW, days=10)
    assert w.incident_start == datetime(2026, 3, 10, 13, 0, tzinfo=UTC)
    incident = w.incident_posts
    assert all(w.incident_start <= p.created_at < w.incident_start + timedelta(hours=1) for p in incident)
    assert all(p.brand == BRAND and p.tone == "negative" for p in incident)
    ids = {p.id for p in w.posts}
    reposts = [p for p in incident if p.repost_of]
    assert len(reposts) >= 10 and all(p.repost_of in ids for p in reposts)
    originals = [p for p in incident if not p.repost_of]
    assert len({p.text for p in originals}) == len(originals) >= 40  # distinct complaints, not copies
    before = [p for p in w.posts if not p.incident]
    assert all(p.created_at < w.incident_start for p in before)
    assert {p.lang for p in before} == set(LANGUAGES)
    assert {p.brand for p in before} >= {BRAND, "Solvik", "Brightwave", None}


def test_missing_model_means_unscored_with_a_reason_in_one_log_line(mem_store, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "nlp.sentiment", None)  # as if the nlp extra were not installed
    with caplog.at_level(logging.WARNING, logger="earshot.pipeline"):
        p = build_pipeline(parse_config({}), mem_store, scorer="auto")
    assert p.scorer is None and "pip install 'earshot[nlp]'" in p.unscored_reason
    assert len([r for r in caplog.records if "sentiment disabled" in r.getMessage()]) == 1
