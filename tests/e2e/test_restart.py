"""A worker killed with SIGKILL mid-crawl loses nothing and duplicates nothing when it runs again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.e2e

fakes = pytest.importorskip("crawlers.fakes")

N_ITEMS = 1500
BURST = 150


def _world(now: datetime):
    items = []
    hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    for i in range(N_ITEMS):
        if i < BURST:  # the last complete hour: a volume spike
            ts = hour + timedelta(seconds=5 + i * 3500 // BURST)
        else:
            ts = hour - timedelta(minutes=3 * (i - BURST) + 7)
        items.append(
            fakes.Item(
                f"k{i:05d}",
                f"Acme post number {i} about the acme kettle",
                ts,
                f"user{i % 97}",
                title=f"Acme {i}",
                channel="kettles",
                kind="submission",
            )
        )
    return fakes.FakeWorld(reddit=items)


def _config(tmp_path: Path, reddit_url: str) -> Path:
    cfg = {
        "brands": [{"name": "Acme", "aliases": ["Acme Kettles"]}],
        "sources": [
            {
                "name": "reddit",
                "kind": "reddit",
                "base_url": reddit_url,
                "subreddits": ["kettles"],
                "options": {"limit": 5000, "ratelimit_seconds": 1},
            },
        ],
        "crawl": {"download_delay_s": 0, "retries": 1, "timeout_s": 10},
        "nlp": {"batch_size": 8},  # small pipeline batches, so the kill lands between two of them
        "alerts": {
            "rules": [
                {
                    "name": "acme-volume",
                    "brand": "Acme",
                    "metric": "volume",
                    "bucket": "1h",
                    "detector": "threshold",
                    "settings": {"above": 100},
                    "min_volume": 100,
                    "severity": "warning",
                    "cooldown": "6h",
                }
            ],
            "channels": {"log": {"kind": "file", "path": str(tmp_path / "notifications.jsonl")}},
            "escalation": {"warning": ["log"], "notice": ["log"], "critical": ["log"]},
        },
    }
    path = tmp_path / "watch.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def _worker(cfg: Path, url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "EARSHOT_REDDIT_CLIENT_ID": "test-id",
        "EARSHOT_REDDIT_CLIENT_SECRET": "test-secret-value",
        "EARSHOT_LOG_LEVEL": "WARNING",
    }
    root = Path(__file__).resolve().parents[2]
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "earshot"),
            "--store",
            url,
            "--config",
            str(cfg),
            "worker",
            "--once",
            "--no-sentiment",
        ],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _count(url: str) -> int:
    from store import open_store
    from store.base import MentionFilter

    with open_store(url) as st:
        return st.count(MentionFilter())


def test_sigkill_mid_crawl_then_rerun(tmp_path):
    pytest.importorskip("store.sqlite")
    from store import open_store
    from store.base import MentionFilter

    now = datetime.now(UTC)
    world = _world(now).start()
    try:
        cfg = _config(tmp_path, world.url("reddit"))
        url = f"sqlite:///{tmp_path / 'restart.db'}"
        proc = _worker(cfg, url)
        killed_at = 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                n = _count(url)
            except Exception:  # the worker is still creating the database
                n = 0
            if 0 < n < N_ITEMS:
                proc.send_signal(signal.SIGKILL)
                killed_at = n
                print(f"killed after {n} of {N_ITEMS} mentions were stored")
                break
            time.sleep(0.01)
        proc.wait(timeout=30)
        assert killed_at, f"the worker was not caught mid-crawl (rc={proc.returncode}): {proc.stderr.read()[-2000:]!r}"
        assert proc.returncode == -signal.SIGKILL
        notifications = tmp_path / "notifications.jsonl"
        assert not notifications.exists() or notifications.read_text() == ""  # killed before the alert stage

        for _ in range(2):  # the rerun completes; a third run changes nothing
            proc = _worker(cfg, url)
            out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err.decode()[-2000:]
            assert b"reddit: ok" in out

        with open_store(url) as st:
            stored = list(st.iter_mentions(MentionFilter()))
        ids = [m.source_id for m in stored]
        assert len(ids) == len(set(ids)) == N_ITEMS
        assert {i.rsplit("_", 1)[-1] for i in ids} == {f"k{i:05d}" for i in range(N_ITEMS)}, ids[:3]
        lines = [ln for ln in notifications.read_text(encoding="utf-8").splitlines() if ln.strip()]
        assert len(lines) == 1, lines  # one alert, notified exactly once across the kill and two reruns
    finally:
        world.stop()
