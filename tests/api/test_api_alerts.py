"""/api/v1/alerts and /rules: listing, reading, and the PATCH lifecycle with scopes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from store.base import MentionStore

URL = "/api/v1/alerts"


def test_list_and_filter(client: TestClient, read_headers):
    items = client.get(URL, headers=read_headers).json()["items"]
    assert [a["id"] for a in items] == ["al3", "al2", "al1", "al0"]  # most recently updated first
    firing = client.get(URL, params={"status": "firing"}, headers=read_headers).json()["items"]
    assert {a["id"] for a in firing} == {"al0", "al3"}
    globex = client.get(URL, params={"brand": "Globex"}, headers=read_headers).json()["items"]
    assert [a["id"] for a in globex] == ["al2"]
    assert client.get(URL, params={"status": "sleeping"}, headers=read_headers).status_code == 422


def test_get_alert(client: TestClient, read_headers):
    body = client.get(f"{URL}/al1", headers=read_headers).json()
    assert body["status"] == "acknowledged" and body["evidence"]["sources"] == {"reddit": 30}
    assert "key" not in body
    assert client.get(f"{URL}/missing", headers=read_headers).status_code == 404


def test_patch_needs_write_scope(client: TestClient, read_headers):
    resp = client.patch(f"{URL}/al0", json={"status": "acknowledged"}, headers=read_headers)
    assert resp.status_code == 403 and "'write'" in resp.json()["detail"]


def test_acknowledge_assign_note_snooze_resolve(client: TestClient, store: MentionStore, write_headers):
    resp = client.patch(f"{URL}/al0", json={"status": "acknowledged", "assignee": "maria", "note": "on it"},
                        headers=write_headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "acknowledged" and body["assignee"] == "maria"
    assert body["notes"][0]["text"] == "on it" and body["notes"][0]["author"] == "write"
    assert [e["event"] for e in body["history"]] == ["acknowledged", "assigned", "noted"]
    assert store.get_alert("al0").assignee == "maria"  # persisted

    until = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    body = client.patch(f"{URL}/al0", json={"snoozed_until": until.isoformat()}, headers=write_headers).json()
    assert body["snoozed_until"].startswith(until.strftime("%Y-%m-%dT%H:%M:%S"))

    body = client.patch(f"{URL}/al0", json={"status": "resolved", "assignee": None}, headers=write_headers).json()
    assert body["status"] == "resolved" and body["resolved_at"] and body["assignee"] is None

    again = client.patch(f"{URL}/al0", json={"status": "acknowledged"}, headers=write_headers)
    assert again.status_code == 409 and again.json()["type"].endswith("/invalid-transition")
    noted = client.patch(f"{URL}/al0", json={"note": "post-mortem on Friday"}, headers=write_headers)
    assert noted.status_code == 200 and len(noted.json()["notes"]) == 2


def test_patch_validation(client: TestClient, write_headers):
    for body in ({}, {"status": "firing"}, {"colour": "red"}, {"note": ""}):
        resp = client.patch(f"{URL}/al0", json=body, headers=write_headers)
        assert resp.status_code == 422, body
        assert resp.headers["content-type"].startswith("application/problem+json")
    past = client.patch(f"{URL}/al0", json={"snoozed_until": "2020-01-01T00:00:00Z"}, headers=write_headers)
    assert past.status_code == 400 and "future" in past.json()["detail"]
    missing = client.patch(f"{URL}/nope", json={"note": "x"}, headers=write_headers)
    assert missing.status_code == 404


def test_rules_from_config(client: TestClient, read_headers):
    items = client.get("/api/v1/rules", headers=read_headers).json()["items"]
    assert [r["name"] for r in items] == ["acme-negative-spike"]
    assert items[0]["detector"] == "relative" and items[0]["metric"] == "negative_volume"
