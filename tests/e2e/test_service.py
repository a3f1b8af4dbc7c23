"""`earshot run`: the API answers while the scheduler crawls; SIGTERM stores the current batch and exits cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.e2e

fakes = pytest.importorskip("crawlers.fakes")
httpx = pytest.importorskip("httpx")

N_ITEMS = 2000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _count(url: str) -> int:
    from store import open_store
    from store.base import MentionFilter

    with open_store(url) as st:
        return st.count(MentionFilter())


def test_run_serves_api_and_sigterm_keeps_stored_batches(tmp_path):
    pytest.importorskip("store.sqlite")
    from api.security import new_api_key
    from store import open_store

    now = datetime.now(UTC)
    items = [
        fakes.Item(
            f"r{i:05d}",
            f"Acme kettle thread {i}",
            now - timedelta(minutes=i),
            f"u{i % 13}",
            title=f"Acme {i}",
            channel="kettles",
            kind="submission",
        )
        for i in range(N_ITEMS)
    ]
    world = fakes.FakeWorld(reddit=items).start()
    url = f"sqlite:///{tmp_path / 'run.db'}"
    secret, record = new_api_key("test", ["read"])
    with open_store(url) as st:
        st.save_api_key(record)
    cfg = tmp_path / "watch.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "brands": [{"name": "Acme"}],
                "sources": [
                    {
                        "name": "reddit",
                        "kind": "reddit",
                        "base_url": world.url("reddit"),
                        "subreddits": ["kettles"],
                        "interval": "1h",
                        "options": {"limit": 5000, "ratelimit_seconds": 1},
                    }
                ],
                "crawl": {"download_delay_s": 0},
                "nlp": {"batch_size": 4},
            }
        ),
        encoding="utf-8",
    )
    port = _free_port()
    env = {
        **os.environ,
        "EARSHOT_REDDIT_CLIENT_ID": "id",
        "EARSHOT_REDDIT_CLIENT_SECRET": "secret-for-tests",
        "EARSHOT_MODEL": str(tmp_path / "no-model-here"),
        "EARSHOT_LOG_LEVEL": "INFO",
    }
    earshot = str(Path(sys.executable).parent / "earshot")
    proc = subprocess.Popen(
        [earshot, "--store", url, "--config", str(cfg), "run", "--port", str(port), "--no-sentiment"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        health = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                health = httpx.get(f"{base}/healthz", timeout=2).status_code
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert health == 200, proc.stderr.read().decode()[-2000:] if proc.poll() is not None else "no answer"
        while time.monotonic() < deadline and _count(url) == 0:
            time.sleep(0.05)
        page = httpx.get(
            f"{base}/api/v1/mentions", params={"q": "acme"}, headers={"Authorization": f"Bearer {secret}"}, timeout=10
        )
        assert page.status_code == 200
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        world.stop()
    log = err.decode()
    assert proc.returncode == 0, log[-2000:]
    assert "signal_received signal=SIGTERM" in log and "worker_stopped" in log
    stored = _count(url)
    assert 0 < stored <= N_ITEMS
    with open_store(url) as st:
        (run,) = st.source_runs("reddit")
        cursor = st.get_cursor("reddit")
    assert run.new == stored
    if stored < N_ITEMS:  # stopped mid-crawl: the cursor stays, so the next run fetches the rest
        assert run.status == "partial" and cursor is None
