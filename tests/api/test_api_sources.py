"""/api/v1/sources: health per source from run records and the config; /healthz and /readyz."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from earshot.settings import Settings
from store.memory import MemoryStore


def test_source_health(client: TestClient, read_headers):
    items = {s["name"]: s for s in client.get("/api/v1/sources", headers=read_headers).json()["items"]}
    assert set(items) == {"reddit", "feeds", "bluesky"}
    reddit = items["reddit"]
    assert reddit["status"] == "degraded" and reddit["runs"] == 2 and reddit["errors"] == 2
    assert reddit["items_per_run"] == 15.0 and reddit["new_per_run"] == 3.0
    assert "abc123" not in reddit["last_error"] and "token=***" in reddit["last_error"]
    assert items["feeds"]["status"] == "failing" and "pw@" not in items["feeds"]["last_error"]
    assert items["bluesky"]["status"] == "disabled" and items["bluesky"]["runs"] == 0


def test_health_probes_need_no_key(client: TestClient, store):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "store": type(store).__name__}


class DownStore(MemoryStore):
    def ping(self) -> bool:
        return False


def test_readyz_reports_an_unreachable_store():
    app = create_app(Settings(env="test"), store=DownStore())
    with TestClient(app) as client:
        resp = client.get("/readyz")
    assert resp.status_code == 503 and resp.headers["content-type"].startswith("application/problem+json")


def test_lifespan_opens_and_closes_the_store(tmp_path, monkeypatch):
    opened: list[MemoryStore] = []

    class Tracking(MemoryStore):
        def open(self) -> None:
            super().open()
            opened.append(self)

    import store as store_pkg

    monkeypatch.setattr(store_pkg, "open_store", lambda url: Tracking(url))
    app = create_app(Settings(env="test", store="memory://", data_dir=tmp_path))
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200
        assert opened and opened[0]._opened
    assert not opened[0]._opened and app.state.store is None
