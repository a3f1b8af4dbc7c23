"""Engine lifecycle: escalation ladder, cooldown and re-opening, snooze, quiet hours, manual moves, other metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts.engine import AlertEngine
from alerts.lifecycle import acknowledge, resolve, snooze
from alerts.rules import compile_rules
from earshot.config import parse_config
from earshot.errors import ConfigError
from earshot.models import AlertStatus, Severity, SourceRun
from store import open_store
from tests.alerts import synth

# With a threshold detector the series is fully under the test's control.
T0 = datetime(2026, 3, 2, tzinfo=UTC)


def rule(**over):
    base = {
        "name": "neg", "brand": synth.BRAND, "metric": "negative_volume", "bucket": "1h",
        "detector": "threshold", "settings": {"above": 9, "history": 48}, "min_volume": 0, "cooldown": "6h",
        "severity": "notice",
        "severity_bands": [{"min_score": 30, "severity": "warning"}, {"min_score": 60, "severity": "critical"}],
    }
    base.update(over)
    return base


def add(store, hour, count, label="negative", prefix=None, source="reddit"):
    at = T0 + timedelta(hours=hour)
    store.upsert_mentions(
        [synth.mention(f"{prefix or label}-{hour}-{k}", at + timedelta(seconds=k), label, source=source)
         for k in range(count)]
    )


def outbox(store, far=T0 + timedelta(days=30)):
    return [(m.channel, m.payload["status"], m.payload["severity"]) for m in store.due_messages(far, limit=1000)]


def test_escalation_ladder_notice_warning_critical():
    cfg = synth.config([rule()])
    with open_store("memory://") as store:
        eng = AlertEngine(store, cfg)
        add(store, 0, 2)
        add(store, 1, 12)  # notice
        [ev] = eng.evaluate(T0 + timedelta(hours=2, minutes=1))
        assert ev.event == "opened" and ev.alert.severity == Severity.NOTICE and ev.notified == ("owner",)
        add(store, 2, 40)  # warning
        [ev] = eng.evaluate(T0 + timedelta(hours=3, minutes=1))
        assert ev.event == "escalated" and ev.notified == ("pr",)
        add(store, 3, 70)  # critical
        [ev] = eng.evaluate(T0 + timedelta(hours=4, minutes=1))
        assert ev.event == "escalated" and ev.notified == ("mgmt",)
        add(store, 4, 50)  # lower again: no de-escalation, no message
        assert eng.evaluate(T0 + timedelta(hours=5, minutes=1)) == []
        evs = eng.evaluate(T0 + timedelta(hours=7, minutes=1))  # two calm buckets
        assert [e.event for e in evs] == ["resolved"]
        assert outbox(store) == [
            ("owner", "firing", "notice"), ("pr", "firing", "warning"),
            ("mgmt", "firing", "critical"), ("mgmt", "resolved", "critical"),
        ]
        alert = store.get_alert(evs[0].alert.id)
        assert [h["event"] for h in alert.history] == ["opened", "escalated", "escalated", "resolved"]


def test_reopen_within_cooldown_is_silent_and_new_episode_after_cooldown_notifies():
    cfg = synth.config([rule(severity_bands=[])])
    with open_store("memory://") as store:
        eng = AlertEngine(store, cfg)
        add(store, 1, 12)
        first = eng.evaluate(T0 + timedelta(hours=2))[0].alert
        assert eng.evaluate(T0 + timedelta(hours=4))[0].event == "resolved"
        add(store, 4, 15)  # flaps back within the 6 h cooldown
        ev = eng.evaluate(T0 + timedelta(hours=5))[0]
        assert ev.event == "reopened" and ev.alert.id == first.id and ev.notified == ()
        eng.evaluate(T0 + timedelta(hours=7))
        add(store, 20, 15)  # a day later: a new alert, notified
        ev = eng.evaluate(T0 + timedelta(hours=21))[0]
        assert ev.event == "opened" and ev.alert.id != first.id and ev.notified == ("owner",)
        assert len(store.list_alerts()) == 2


def test_acknowledged_alert_stays_open_and_manual_resolve_is_not_reopened():
    cfg = synth.config([rule(severity_bands=[])])
    with open_store("memory://") as store:
        eng = AlertEngine(store, cfg)
        add(store, 1, 12)
        add(store, 2, 13)
        alert = eng.evaluate(T0 + timedelta(hours=2))[0].alert
        acked = acknowledge(alert, by="ana", assignee="ana", note="looking")
        store.save_alert(acked)
        assert all(e.notified == () for e in eng.evaluate(T0 + timedelta(hours=3)))
        assert store.get_alert(alert.id).status == AlertStatus.ACKNOWLEDGED
        store.save_alert(resolve(store.get_alert(alert.id), by="ana"))
        add(store, 3, 14)  # same episode continues: a person resolved it, the engine leaves it
        assert eng.evaluate(T0 + timedelta(hours=4)) == []
        a = store.get_alert(alert.id)
        assert a.status == AlertStatus.RESOLVED and a.assignee == "ana" and a.notes[0].text == "looking"
        with pytest.raises(ValueError, match="resolved"):
            acknowledge(a, by="ana")


def test_snooze_and_quiet_hours_hold_notifications():
    cfg = synth.config([rule(quiet_hours="22:00-07:00")])
    with open_store("memory://") as store:
        eng = AlertEngine(store, cfg)
        add(store, 23, 12)  # closes at midnight: inside quiet hours
        ev = eng.evaluate(T0 + timedelta(days=1, minutes=5))[0]
        assert ev.notified == ("owner",)
        assert store.due_messages(T0 + timedelta(days=1, hours=6)) == []  # held
        [msg] = store.due_messages(T0 + timedelta(days=1, hours=7))
        assert msg.next_attempt_at == T0 + timedelta(days=1, hours=7)
        store.save_alert(snooze(ev.alert, by="ana", until=T0 + timedelta(days=3)))
        add(store, 24, 40)  # escalates to warning, but the alert is snoozed: state changes, nobody is paged
        [ev] = eng.evaluate(T0 + timedelta(days=1, hours=1, minutes=5))
        assert ev.event == "escalated" and ev.alert.severity == Severity.WARNING and ev.notified == ()
        add(store, 26, 70)  # critical pages through quiet hours (02:00) once the snooze is over
        store.save_alert(snooze(store.get_alert(ev.alert.id), by="ana", until=None))
        [ev] = eng.evaluate(T0 + timedelta(days=1, hours=3, minutes=5))
        assert ev.notified == ("mgmt",)
        assert any(m.channel == "mgmt" for m in store.due_messages(T0 + timedelta(days=1, hours=3, minutes=5)))


def test_source_silence_from_source_runs():
    cfg = synth.config([{"name": "feed-silent", "metric": "source_silence", "source": "news", "bucket": "1h",
                         "detector": "threshold", "settings": {"above": 3}, "severity": "warning"}])
    with open_store("memory://") as store:
        eng = AlertEngine(store, cfg)
        assert eng.evaluate(T0) == []  # never crawled: nothing to miss
        store.record_source_run(SourceRun(source="news", started_at=T0, finished_at=T0 + timedelta(minutes=1), seen=5))
        assert eng.evaluate(T0 + timedelta(hours=2)) == []
        [ev] = eng.evaluate(T0 + timedelta(hours=6))
        assert ev.event == "opened" and ev.alert.key == "feed-silent|news|-" and ev.notified == ("pr",)
        store.record_source_run(SourceRun(source="news", started_at=T0 + timedelta(hours=6, minutes=10), seen=3))
        [ev] = eng.evaluate(T0 + timedelta(hours=7, minutes=1))
        assert ev.event == "resolved"


def test_negative_share_guarded_by_volume_and_grouped_by_source():
    r = rule(metric="negative_share", min_volume=10, group_by="source", severity_bands=[],
             settings={"above": 0.5, "history": 48})
    cfg = synth.config([r])
    with open_store("memory://") as store:
        eng = AlertEngine(store, cfg)
        for h in range(0, 5):
            add(store, h, 20, "positive", source="reddit")
            add(store, h, 2, "negative", source="reddit")
        add(store, 5, 3, "negative", source="hn")  # 100% negative but only 3 posts: guarded
        add(store, 5, 25, "negative", source="reddit", prefix="burst")
        add(store, 5, 5, "positive", source="reddit", prefix="burst-pos")
        evs = eng.evaluate(T0 + timedelta(hours=6))
        assert [(e.event, e.alert.group) for e in evs] == [("opened", "reddit")]
        a = evs[0].alert
        assert a.observed == pytest.approx(25 / 30) and a.key == "neg|Acme|reddit"
        assert "source=reddit" in a.evidence["link"]


def test_digest_summarises_the_day():
    cfg = synth.config([rule(severity_bands=[])])
    with open_store("memory://") as store:
        eng = AlertEngine(store, cfg, clock=lambda: T0 + timedelta(days=1, hours=8))
        add(store, 1, 12)
        eng.evaluate(T0 + timedelta(hours=2))
        # alerts are stamped with the evaluation time; the digest for that day lists them
        day = (T0 + timedelta(hours=2)).date()
        digest = eng.digest(day)
        assert digest.kind == "digest" and "1 alert" in digest.title
        assert eng.enqueue_digest() == ("pr",)
        assert eng.enqueue_digest() == ()  # once per day and channel


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"bucket": "7m"}, "bucket"),
        ({"settings": {"zz": 1}}, "settings"),
        ({"detector": "threshold", "settings": {}}, "settings"),
        ({"quiet_hours": "25:00-07:00"}, "quiet_hours"),
        ({"detector": "seasonal", "settings": {"direction": "sideways"}}, "settings.direction"),
        ({"query": "acme AND (", "brand": None}, "query"),
    ],
)
def test_rule_validation_names_rule_and_field(over, field):
    with pytest.raises(ConfigError) as err:
        compile_rules(synth.config([rule(**over)]))
    msg = str(err.value)
    assert "rule 'neg'" in msg and f"alerts.rules[0].{field}" in msg


def test_config_level_errors_name_the_rule():
    with pytest.raises(ConfigError, match="rule 'x'"):
        parse_config({"alerts": {"rules": [{"name": "x", "metric": "volume", "channels": ["nope"], "query": "a"}]}})


def test_crash_between_enqueue_and_save_neither_loses_nor_repeats_the_page(monkeypatch):
    cfg = synth.config([rule(severity_bands=[])])
    with open_store("memory://") as store:
        add(store, 1, 12)
        add(store, 2, 12)
        real_save = store.save_alert
        calls = {"n": 0}

        def crash_once(alert):
            calls["n"] += 1
            if calls["n"] == 1:
                raise RuntimeError("process killed")
            real_save(alert)

        monkeypatch.setattr(store, "save_alert", crash_once)
        assert AlertEngine(store, cfg).evaluate(T0 + timedelta(hours=2, minutes=1)) == []  # logged, skipped
        assert store.list_alerts() == []
        [ev] = AlertEngine(store, cfg).evaluate(T0 + timedelta(hours=3, minutes=1))  # a bucket later
        assert ev.event == "opened" and ev.notified == ()  # the page was already queued
        assert outbox(store) == [("owner", "firing", "notice")]


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ({"bucket": "5x"}, "alerts.rules[0].bucket: rule 'neg': '5x' is not a duration"),
        ({"cooldown": "soon"}, "alerts.rules[0].cooldown: rule 'neg'"),
        ({"brand": None}, "alerts.rules[0]: rule 'neg': a rule needs 'brand' or 'query'"),
    ],
)
def test_config_model_errors_name_rule_and_field(bad, expected):
    with pytest.raises(ConfigError) as err:
        synth.config([rule(**bad)])
    assert expected in str(err.value)


def test_net_sentiment_drop_with_relative_detector():
    r = rule(metric="net_sentiment", detector="relative", min_volume=10, severity_bands=[],
             settings={"window": 1, "baseline": 6, "difference": 0.5, "history": 48})
    cfg = synth.config([r])
    with open_store("memory://") as store:
        eng = AlertEngine(store, cfg)
        for h in range(8):
            add(store, h, 15, "positive")
            add(store, h, 5, "negative")
        add(store, 8, 5, "positive")
        add(store, 8, 15, "negative")  # net sentiment +0.5 → −0.5
        assert eng.evaluate(T0 + timedelta(hours=8)) == []
        [ev] = eng.evaluate(T0 + timedelta(hours=9))
        assert ev.event == "opened" and ev.alert.observed == pytest.approx(-0.5)
        assert ev.alert.expected == pytest.approx(0.5)
        assert "net sentiment -0.50 vs ~+0.50" in eng.message(eng.rules[0], ev.alert, "firing").title
