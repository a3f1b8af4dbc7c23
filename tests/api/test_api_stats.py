"""/api/v1/stats: timeline (splits, ratios, zero-filled buckets, limits), share of voice, top values."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.api.seed import T0, seed_mentions

URL = "/api/v1/stats"
RANGE = {"since": "2025-03-01", "until": "2025-03-10"}


def _in_range(m, days: int = 10, dupes: bool = False) -> bool:
    return T0 <= m.published_at < T0 + timedelta(days=days) and (dupes or m.duplicate_of is None)


def test_timeline_by_sentiment_with_ratios(client: TestClient, read_headers):
    body = client.get(f"{URL}/timeline", params={**RANGE, "interval": "1d"}, headers=read_headers).json()
    assert body["interval_seconds"] == 86400 and body["split_by"] == "sentiment"
    assert len(body["buckets"]) == 10  # every day, including empty ones
    mentions = [m for m in seed_mentions() if _in_range(m)]
    for bucket in body["buckets"]:
        day = [m for m in mentions if bucket["start"] <= m.published_at.isoformat().replace("+00:00", "Z")
               < bucket["end"]]
        labels = Counter(m.sentiment.label if m.sentiment else "unscored" for m in day)
        assert bucket["total"] == len(day)
        assert bucket["counts"] == dict(labels)
        scored = sum(labels[k] for k in ("negative", "neutral", "positive"))
        assert bucket["scored"] == scored
        if scored:
            assert bucket["net_sentiment"] == round((labels["positive"] - labels["negative"]) / scored, 4)
            assert bucket["negative_share"] == round(labels["negative"] / scored, 4)
        else:
            assert bucket["net_sentiment"] is None and bucket["negative_share"] is None
    assert sum(b["total"] for b in body["buckets"]) == len(mentions)


def test_timeline_split_by_source_keeps_sentiment_ratios(client: TestClient, read_headers):
    by_source = client.get(f"{URL}/timeline", params={**RANGE, "split_by": "source", "interval": "2d"},
                           headers=read_headers).json()
    by_label = client.get(f"{URL}/timeline", params={**RANGE, "interval": "2d"}, headers=read_headers).json()
    assert [b["net_sentiment"] for b in by_source["buckets"]] == [b["net_sentiment"] for b in by_label["buckets"]]
    totals = Counter()
    for b in by_source["buckets"]:
        assert sum(b["counts"].values()) == b["total"]
        totals.update(b["counts"])
    assert totals == Counter(m.source for m in seed_mentions() if _in_range(m, days=10))


def test_timeline_filters_apply(client: TestClient, read_headers):
    body = client.get(f"{URL}/timeline", params={**RANGE, "q": "refund", "split_by": "none"},
                      headers=read_headers).json()
    expected = sum(1 for m in seed_mentions() if _in_range(m) and "refund" in m.text)
    assert sum(b["total"] for b in body["buckets"]) == expected > 0
    assert all(set(b["counts"]) <= {"all"} for b in body["buckets"])


def test_timeline_limits(client: TestClient, read_headers):
    resp = client.get(f"{URL}/timeline", params={"since": "2000-01-01", "until": "2025-01-01", "interval": "1m"},
                      headers=read_headers)
    assert resp.status_code == 400 and resp.json()["type"].endswith("/too-many-buckets")
    resp = client.get(f"{URL}/timeline", params={"interval": "5 parsecs"}, headers=read_headers)
    assert resp.status_code == 422  # the pattern is in the schema
    resp = client.get(f"{URL}/timeline", params={"interval": "400d"}, headers=read_headers)
    assert resp.status_code == 400 and "400d" in resp.json()["detail"]


def test_share_of_voice(client: TestClient, read_headers):
    body = client.get(f"{URL}/share-of-voice", params={**RANGE, "brand": "Acme", "interval": "3d"},
                      headers=read_headers).json()
    assert body["competitors"] == ["Globex"]
    mentions = [m for m in seed_mentions() if _in_range(m)]
    vol = Counter(m.brands[0] for m in mentions)
    overall = {v["brand"]: v for v in body["overall"]}
    assert overall["Acme"]["volume"] == vol["Acme"] and overall["Globex"]["volume"] == vol["Globex"]
    assert overall["Acme"]["share"] == round(vol["Acme"] / (vol["Acme"] + vol["Globex"]), 4)
    acme = [m for m in mentions if m.brands == ["Acme"] and m.sentiment]
    net = (sum(m.sentiment.label == "positive" for m in acme) - sum(m.sentiment.label == "negative" for m in acme))
    assert overall["Acme"]["net_sentiment"] == round(net / len(acme), 4)
    assert sum(p["total"] for p in body["periods"]) == len(mentions)
    for p in body["periods"]:
        shares = [b["share"] for b in p["brands"] if b["share"] is not None]
        assert not shares or abs(sum(shares) - 1) < 1e-3


def test_share_of_voice_unknown_brand(client: TestClient, read_headers):
    resp = client.get(f"{URL}/share-of-voice", params={"brand": "Initech"}, headers=read_headers)
    assert resp.status_code == 400
    assert "'Initech'" in resp.json()["detail"] and "Acme" in resp.json()["detail"]


def test_top(client: TestClient, read_headers):
    body = client.get(f"{URL}/top", params={"size": 2, "brand": "Acme"}, headers=read_headers).json()
    acme = [m for m in seed_mentions() if m.brands == ["Acme"] and m.duplicate_of is None]
    assert body["total"] == len(acme)
    assert set(body["top"]) == {"site", "author", "source"}
    sites = Counter(m.site for m in acme)
    assert [(e["value"], e["count"]) for e in body["top"]["site"]] == sorted(
        sites.items(), key=lambda kv: (-kv[1], kv[0]))[:2]
    only = client.get(f"{URL}/top", params={"field": "language"}, headers=read_headers).json()
    assert set(only["top"]) == {"language"}
