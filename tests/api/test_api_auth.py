"""API keys: required everywhere but the probes, hashed at rest, scopes, revocation, no keys in logs; CORS."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.security import hash_key, new_api_key, parse_scopes, verify_key
from earshot.errors import InputError
from earshot.settings import Settings
from store.base import MentionStore
from tests.api.seed import seed_config

PROTECTED = [
    ("GET", "/api/v1/mentions"),
    ("GET", "/api/v1/mentions/m00001"),
    ("GET", "/api/v1/stats/timeline"),
    ("GET", "/api/v1/stats/share-of-voice?brand=Acme"),
    ("GET", "/api/v1/stats/top"),
    ("GET", "/api/v1/alerts"),
    ("GET", "/api/v1/alerts/al0"),
    ("PATCH", "/api/v1/alerts/al0"),
    ("GET", "/api/v1/rules"),
    ("GET", "/api/v1/sources"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_operation_needs_a_key(client: TestClient, method: str, path: str, keys):
    for headers in ({}, {"Authorization": "Bearer esk_000000000000_" + "x" * 43},
                    {"Authorization": f"Basic {keys['read']}"}, {"Authorization": f"Bearer {keys['revoked']}"}):
        resp = client.request(method, path, headers=headers, json={"note": "x"} if method == "PATCH" else None)
        assert resp.status_code == 401, (path, headers)
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.headers["www-authenticate"].startswith("Bearer")


def test_openapi_covers_every_protected_operation(client: TestClient):
    spec = client.get("/openapi.json").json()
    ops = {(m.upper(), p) for p, item in spec["paths"].items() for m in item}
    assert {(m, p.split("?")[0].replace("m00001", "{mention_id}").replace("al0", "{alert_id}"))
            for m, p in PROTECTED} <= ops
    for path, item in spec["paths"].items():
        for op in item.values():
            secured = bool(op.get("security"))
            assert secured == (path not in ("/healthz", "/readyz")), path


def test_keys_are_stored_hashed(store: MentionStore):
    secret, record = new_api_key("dash", ["read"])
    store.save_api_key(record)
    stored = store.list_api_keys()[0]
    assert secret not in stored.model_dump_json()
    assert stored.key_hash == hash_key(secret) and stored.prefix in secret
    assert verify_key(store, secret) is not None
    assert verify_key(store, secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None


def test_scopes(client: TestClient, keys):
    def patch(name: str) -> int:
        return client.patch("/api/v1/alerts/al1", json={"note": "n"},
                            headers={"Authorization": f"Bearer {keys[name]}"}).status_code

    assert patch("read") == 403
    assert patch("write") == 200
    assert patch("admin") == 200
    assert client.get("/api/v1/alerts", headers={"Authorization": f"Bearer {keys['write']}"}).status_code == 200
    with pytest.raises(InputError, match="'root'"):
        parse_scopes(["read,root"])
    assert parse_scopes(["read, write", "read"]) == ["read", "write"]


def test_last_used_is_recorded(client: TestClient, store: MentionStore, keys):
    client.get("/api/v1/rules", headers={"Authorization": f"Bearer {keys['read']}"})
    used = next(k for k in store.list_api_keys() if k.name == "read")
    assert used.last_used_at is not None


def test_logs_name_the_key_id_never_the_key(client: TestClient, keys, caplog):
    caplog.set_level(logging.INFO)
    secret = keys["read"]
    client.get("/api/v1/mentions", params={"q": "acme"}, headers={"Authorization": f"Bearer {secret}"})
    client.get("/api/v1/mentions", headers={"Authorization": "Bearer esk_000000000000_" + "y" * 43})
    text = caplog.text
    assert "event=request" in text and f"key_id={secret.split('_')[1]}" in text
    assert secret not in text and "y" * 43 not in text and secret.split("_", 2)[2] not in text


def test_cors_off_by_default_and_configurable(store: MentionStore):
    preflight = {"Origin": "https://dash.example", "Access-Control-Request-Method": "GET"}
    with TestClient(create_app(Settings(env="test"), store=store, config=seed_config())) as client:
        resp = client.options("/api/v1/mentions", headers=preflight)
        assert "access-control-allow-origin" not in resp.headers
    app = create_app(Settings(env="test"), store=store, config=seed_config(), cors_origins=["https://dash.example"])
    with TestClient(app) as client:
        resp = client.options("/api/v1/mentions", headers=preflight)
        assert resp.headers["access-control-allow-origin"] == "https://dash.example"
        other = client.options("/api/v1/mentions", headers={**preflight, "Origin": "https://evil.example"})
        assert other.headers.get("access-control-allow-origin") != "https://evil.example"
