"""/api/v1/mentions: query, filters, sort, cursor pages under inserts, highlights, one mention, CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from fastapi.testclient import TestClient

from earshot.query import parse
from store.base import MentionFilter, MentionStore
from store.memory import MemoryStore, filter_matches
from tests.api.seed import T0, make_mention, seed_mentions

URL = "/api/v1/mentions"


def _ids(resp) -> list[str]:
    assert resp.status_code == 200, resp.text
    return [m["id"] for m in resp.json()["items"]]


def _expected(flt: MentionFilter) -> list[str]:
    found = [m for m in seed_mentions() if filter_matches(flt, m)]
    return [m.id for m in sorted(found, key=lambda m: (m.published_at, m.id), reverse=True)]


def test_default_search_is_newest_first_without_duplicates(client: TestClient, read_headers):
    resp = client.get(URL, params={"limit": 500}, headers=read_headers)
    ids = _ids(resp)
    assert ids == _expected(MentionFilter(include_duplicates=False))
    assert "m00024" not in ids  # a duplicate
    assert resp.json()["total"] == len(ids)


def test_include_duplicates(client: TestClient, read_headers):
    ids = _ids(client.get(URL, params={"limit": 500, "include_duplicates": True}, headers=read_headers))
    assert "m00024" in ids and len(ids) == 60


def test_listening_query_and_filters(client: TestClient, read_headers):
    params = {
        "q": 'acme AND (outage OR "great support")',
        "source": ["reddit", "hn"],
        "lang": "en",
        "since": "2025-03-02",
        "until": "2025-03-10",
        "limit": 500,
    }
    ids = _ids(client.get(URL, params=params, headers=read_headers))
    expected = _expected(
        MentionFilter(
            query=parse(params["q"]),
            sources=["reddit", "hn"],
            languages=["en"],
            since=T0 + timedelta(days=1),
            until=T0 + timedelta(days=10),  # date-only until includes the whole day
            include_duplicates=False,
        )
    )
    assert ids == expected and ids


def test_sentiment_site_author_brand_filters(client: TestClient, read_headers):
    params = {"sentiment": ["negative", "unscored"], "site": "acme.com", "author": "user0", "brand": "Acme",
              "limit": 500}
    ids = _ids(client.get(URL, params=params, headers=read_headers))
    found = [m for m in seed_mentions() if m.duplicate_of is None and m.brands == ["Acme"] and m.author == "user0"
             and (m.site or "").endswith("acme.com") and (m.sentiment is None or m.sentiment.label == "negative")]
    assert sorted(ids) == sorted(m.id for m in found) and ids


def test_bad_query_is_400_naming_the_column(client: TestClient, read_headers):
    resp = client.get(URL, params={"q": "acme AND (outage"}, headers=read_headers)
    assert resp.status_code == 400
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["type"].endswith("/query-syntax")
    assert body["column"] == 17 and "column 17" in body["detail"]


def test_relevance_sort_needs_q(client: TestClient, read_headers):
    resp = client.get(URL, params={"sort": "relevance"}, headers=read_headers)
    assert resp.status_code == 400 and "sort=relevance" in resp.json()["detail"]
    resp = client.get(URL, params={"sort": "relevance", "q": "acme OR refund"}, headers=read_headers)
    items = resp.json()["items"]
    scores = [m["score"] for m in items]
    assert scores == sorted(scores, reverse=True) and all(s is not None for s in scores)


def test_highlights(client: TestClient, read_headers):
    items = client.get(URL, params={"q": "outage", "highlight": True}, headers=read_headers).json()["items"]
    assert items and all("<mark>outage</mark>" in m["highlights"]["text"][0] for m in items)
    plain = client.get(URL, params={"q": "outage"}, headers=read_headers).json()["items"]
    assert all(m["highlights"] == {} for m in plain)


def test_page_size_limits(client: TestClient, read_headers):
    assert client.get(URL, params={"limit": 501}, headers=read_headers).status_code == 422
    assert client.get(URL, params={"limit": 0}, headers=read_headers).status_code == 422
    assert len(_ids(client.get(URL, params={"limit": 7}, headers=read_headers))) == 7
    assert len(_ids(client.get(URL, headers=read_headers))) == 50  # default page size


def test_time_range_checks(client: TestClient, read_headers):
    for params, word in [
        ({"since": "2025-03-05", "until": "2025-03-01"}, "before"),
        ({"since": "yesterday"}, "since='yesterday'"),
        ({"until": "9999-12-31"}, "outside"),
    ]:
        resp = client.get(URL, params=params, headers=read_headers)
        assert resp.status_code == 400, params
        assert word in resp.json()["detail"]


def test_cursor_pages_are_stable_under_inserts(client: TestClient, store: MentionStore, read_headers):
    expected = _expected(MentionFilter(include_duplicates=False))
    seen: list[str] = []
    cursor = None
    inserted_old: list[str] = []
    for page_no in range(100):
        params = {"limit": 9, **({"cursor": cursor} if cursor else {})}
        body = client.get(URL, params=params, headers=read_headers).json()
        seen += [m["id"] for m in body["items"]]
        # Between pages: a newer mention (must not appear: it sorts before the cursor)
        # and one older than everything (must appear exactly once, at the end).
        newer = make_mention(1000 + page_no, at=T0 + timedelta(days=365))
        older = make_mention(2000 + page_no, at=T0 - timedelta(days=1, minutes=page_no))
        store.upsert_mentions([newer, older])
        inserted_old.append(older.id)
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "a mention was repeated across pages"
    assert seen[: len(expected)] == expected
    assert set(seen[len(expected):]) <= set(inserted_old)
    assert not any(i.startswith("m01") for i in seen)


def test_bad_cursor_is_400(client: TestClient, read_headers):
    resp = client.get(URL, params={"cursor": "not-a-cursor"}, headers=read_headers)
    assert resp.status_code == 400 and resp.json()["type"].endswith("/invalid-cursor")


def test_get_one_mention(client: TestClient, read_headers):
    body = client.get(f"{URL}/m00003", headers=read_headers).json()
    assert body["id"] == "m00003" and body["site"] == "blog.acme.com"
    assert body["sentiment"]["label"] == "negative" and "raw" not in body
    missing = client.get(f"{URL}/nope", headers=read_headers)
    assert missing.status_code == 404 and "'nope'" in missing.json()["detail"]


class CountingStore(MemoryStore):
    """Records the page sizes the API asks for, to show the export streams page by page."""

    def __init__(self) -> None:
        super().__init__()
        self.limits: list[int] = []

    def search(self, request):  # type: ignore[no-untyped-def]
        self.limits.append(request.limit)
        return super().search(request)


def test_csv_export_streams_all_matches(read_headers):
    from api.app import create_app
    from earshot.settings import Settings
    from tests.api.seed import seed_config, seed_store

    store = CountingStore()
    keys = seed_store(store, n=0)
    store.upsert_mentions([make_mention(i) for i in range(2500)])
    app = create_app(Settings(env="test"), store=store, config=seed_config())
    with TestClient(app) as client, client.stream(
        "GET", URL, params={"q": "acme", "limit": 3}, headers={"Authorization": f"Bearer {keys['read']}",
                                                              "Accept": "text/csv"}
    ) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/csv")
        chunks = list(resp.iter_text())
    text = "".join(chunks)
    rows = list(csv.DictReader(io.StringIO(text)))
    expected = [m for m in (make_mention(i) for i in range(2500))
                if m.duplicate_of is None and "Acme" in m.brands]
    assert len(rows) == len(expected)  # limit is ignored: the export has every match
    assert rows[0]["id"] == max(expected, key=lambda m: m.published_at).id
    assert max(store.limits) <= 1000 and len(store.limits) >= 2  # paged, never one huge read
    assert len(chunks) > 1


def test_csv_neutralises_formulas(client: TestClient, store: MentionStore, read_headers):
    evil = make_mention(5000).model_copy(update={"id": "evil", "author": "=HYPERLINK(\"http://x\")",
                                                 "text": "+acme -1", "published_at": T0 + timedelta(days=900)})
    store.upsert_mentions([evil])
    resp = client.get(URL, headers={**read_headers, "Accept": "text/csv"})
    first = next(csv.DictReader(io.StringIO(resp.text)))
    assert first["id"] == "evil"
    assert first["author"].startswith("'=") and first["text"] == "'+acme -1"


def test_accept_negotiation(client: TestClient, read_headers):
    def kind(accept: str) -> str:
        return client.get(URL, params={"limit": 1}, headers={**read_headers, "Accept": accept}).headers["content-type"]

    assert kind("application/json").startswith("application/json")
    assert kind("text/csv").startswith("text/csv")
    assert kind("application/json, text/csv;q=0.5").startswith("application/json")
    assert kind("text/csv, application/json;q=0.9").startswith("text/csv")
    assert kind("*/*").startswith("application/json")
