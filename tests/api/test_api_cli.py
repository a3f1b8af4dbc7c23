"""`earshot apikey create/list/revoke` and `earshot serve` through the real CLI on a SQLite store."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from earshot.cli import app as cli_app
from earshot.settings import Settings
from store import open_store


@pytest.fixture
def db_url(tmp_path, monkeypatch) -> str:
    monkeypatch.setenv("EARSHOT_LOG_LEVEL", "WARNING")
    return f"sqlite:///{tmp_path / 'keys.db'}"


def _run(url: str, *args: str):
    return CliRunner().invoke(cli_app, ["--store", url, *args], catch_exceptions=False)


def test_create_list_use_revoke(db_url: str):
    made = _run(db_url, "apikey", "create", "dashboard", "--scope", "read,write")
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip()
    assert secret.startswith("esk_") and "not shown again" in made.stderr
    key_id = secret.split("_")[1]

    listed = _run(db_url, "apikey", "list")
    assert listed.exit_code == 0 and key_id in listed.stdout and "read,write" in listed.stdout
    assert secret.split("_", 2)[2] not in listed.stdout  # never the secret

    with open_store(db_url) as store:
        app = create_app(Settings(env="test"), store=store)
        with TestClient(app) as client:
            headers = {"Authorization": f"Bearer {secret}"}
            assert client.get("/api/v1/rules", headers=headers).status_code == 200
            assert _run(db_url, "apikey", "revoke", key_id).exit_code == 0
            assert client.get("/api/v1/rules", headers=headers).status_code == 401

    assert key_id not in _run(db_url, "apikey", "list").stdout
    assert "revoked" in _run(db_url, "apikey", "list", "--all").stdout


def test_bad_input_is_one_line_exit_2(db_url: str):
    bad_scope = _run(db_url, "apikey", "create", "x", "--scope", "superuser")
    assert bad_scope.exit_code == 2 and "'superuser'" in bad_scope.stderr and "Traceback" not in bad_scope.output
    missing = _run(db_url, "apikey", "revoke", "000000000000")
    assert missing.exit_code == 2 and "'000000000000'" in missing.stderr


def test_serve_runs_uvicorn_with_the_app(db_url: str, monkeypatch):
    import uvicorn

    seen: dict = {}

    def fake_run(app, **kwargs):
        seen["app"], seen["kwargs"] = app, kwargs

    monkeypatch.setattr(uvicorn, "run", fake_run)
    res = _run(db_url, "serve", "--port", "8123", "--cors-origin", "https://dash.example")
    assert res.exit_code == 0, res.output
    assert seen["kwargs"]["port"] == 8123 and seen["kwargs"]["access_log"] is False
    app = seen["app"]
    assert app.state.settings.store == db_url
    with TestClient(app) as client:  # the lifespan opens the SQLite store named by --store
        assert client.get("/readyz").json()["store"] == "SQLiteStore"
        pre = client.options("/api/v1/mentions", headers={"Origin": "https://dash.example",
                                                          "Access-Control-Request-Method": "GET"})
        assert pre.headers["access-control-allow-origin"] == "https://dash.example"
