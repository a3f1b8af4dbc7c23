"""`earshot alerts …` through the real CLI, and the scheduler job helpers."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
import yaml
from typer.testing import CliRunner

from alerts.engine import AlertEngine
from alerts.scheduler import JOB_IDS, add_alert_jobs
from earshot.cli import app, main
from store import open_store
from tests.alerts import synth


def _invoke(*args, store=None, config=None):
    head = (["--store", store] if store else []) + (["--config", str(config)] if config else [])
    return CliRunner().invoke(app, [*head, *args], catch_exceptions=False)


def test_detect_writes_scores_and_alerts(tmp_path):
    p = tmp_path / "s.csv"
    rows = ["timestamp,value"]
    for i in range(24 * 10):
        v = 40 + (20 if 8 <= i % 24 <= 20 else 0) + (i * 7919) % 5
        if i == 24 * 9 + 12:
            v += 150
        rows.append(f"2026-01-{1 + i // 24:02d} {i % 24:02d}:00:00,{v}")
    p.write_text("\n".join(rows) + "\n")
    res = _invoke("alerts", "detect", str(p))
    assert res.exit_code == 0, res.output
    out = list(csv.DictReader(io.StringIO(res.stdout)))
    assert list(out[0]) == ["timestamp", "value", "score", "alert"] and len(out) == 240
    assert [r["timestamp"] for r in out if r["alert"] == "1"] == ["2026-01-10 12:00:00"]
    assert out[0]["timestamp"] == "2026-01-01 00:00:00"
    res = _invoke("alerts", "detect", str(p), "--detector", "threshold", "--set", "above=100")
    assert sum(r["alert"] == "1" for r in csv.DictReader(io.StringIO(res.stdout))) == 1


@pytest.mark.parametrize(
    ("content", "expected"),
    [("", "empty"), ("time,count\n1,2\n", "lacks"), ("timestamp,value\nyesterday,3\n", "not ISO 8601"),
     ("timestamp,value\n2026-01-01 00:00:00,abc\n", "'abc' is not a number")],
)
def test_detect_bad_input_is_one_line_exit_2(tmp_path, capsys, monkeypatch, content, expected):
    p = tmp_path / "bad.csv"
    p.write_text(content)
    monkeypatch.setattr("sys.argv", ["earshot", "alerts", "detect", str(p)])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_evaluate_list_ack_resolve(tmp_path):
    cfg = {
        "brands": [{"name": synth.BRAND, "aliases": ["acme"]}],
        "alerts": {
            "channels": {"pr": {"kind": "file", "path": str(tmp_path / "sent.jsonl")}},
            "escalation": {"warning": ["pr"]},
            "rules": [{"name": "neg", "brand": synth.BRAND, "metric": "negative_volume", "bucket": "1h",
                       "detector": "threshold", "settings": {"above": 9}, "min_volume": 0}],
        },
    }
    cfg_path = tmp_path / "watch.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg))
    db = f"sqlite:///{tmp_path / 'a.db'}"
    with open_store(db) as store:
        store.upsert_mentions(synth.burst(synth.START + timedelta(hours=3), 15))
    now = (synth.START + timedelta(hours=4, minutes=2)).isoformat()
    res = _invoke("alerts", "evaluate", "--now", now, store=db, config=cfg_path)
    assert res.exit_code == 0, res.output
    assert "opened" in res.stdout and "1 sent" in res.stdout
    sent = [json.loads(x) for x in (tmp_path / "sent.jsonl").read_text().splitlines()]
    assert len(sent) == 1 and sent[0]["status"] == "firing" and "/api/v1/mentions?" in sent[0]["url"]
    res = _invoke("alerts", "evaluate", "--now", now, store=db, config=cfg_path)
    assert "nothing changed" in res.stdout and "0 sent" in res.stdout
    listed = _invoke("alerts", "list", store=db).stdout
    alert_id = listed.split()[0]
    assert alert_id.startswith("al_") and "firing" in listed
    assert "acknowledged" in _invoke("alerts", "ack", alert_id, "--assignee", "ana", store=db).stdout
    assert "resolved" in _invoke("alerts", "resolve", alert_id, "--note", "handled", store=db).stdout
    res = CliRunner().invoke(app, ["--store", db, "alerts", "ack", "al_nope"])
    assert res.exit_code == 2 and "no alert with id 'al_nope'" in res.output


def test_scheduler_registers_jobs():
    from apscheduler.schedulers.background import BackgroundScheduler

    sched = BackgroundScheduler(timezone="UTC")
    sched.start(paused=True)  # a started scheduler, as in `earshot run`, but nothing fires during the test
    with open_store("memory://") as store:
        engine = AlertEngine(store, synth.config())
        jobs = add_alert_jobs(sched, engine, notifiers={})
        assert [j.id for j in jobs] == list(JOB_IDS)
        assert sched.get_job("alerts.evaluate").trigger.interval == timedelta(minutes=15)
        assert sched.get_job("alerts.evaluate").max_instances == 1
        add_alert_jobs(sched, engine, "30s")  # re-registering replaces, never duplicates
        assert len(sched.get_jobs()) == 3
        assert sched.get_job("alerts.evaluate").trigger.interval == timedelta(seconds=30)
    sched.shutdown(wait=False)
