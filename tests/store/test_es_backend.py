"""Elasticsearch-specific behaviour beyond the shared contract.

Three groups:

* against a local fake (pytest-httpserver): bulk retries with exponential
  backoff on 429, compatibility headers for an 8.x server, errors that name
  the server; these need no Elasticsearch at all;
* against the ``es_url`` server (noida-db, or EARSHOT_ES_URL): template and
  aliases, rollover without duplicates, reopen, query parity with the
  in-memory evaluator on generated queries;
* against a real server only (``EARSHOT_ES_URL``, marker ``es_real``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from earshot.errors import ConfigError, MissingExtraError, StoreError
from earshot.models import Mention, Sentiment
from earshot.query import And, FieldMatch, Near, Node, Not, Or, Phrase, Query, Term, to_text
from store.base import MentionFilter, SearchRequest
from store.elasticsearch import ElasticsearchStore, mention_document, site_domains
from store.es_query import compile_node
from tests.fixtures.es import es_store_kwargs

pytestmark = pytest.mark.es

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PRODUCT = {"X-Elastic-Product": "Elasticsearch", "Content-Type": "application/json"}


def _mention(i: int, text: str, **extra: Any) -> Mention:
    return Mention(
        id=f"m{i}", source="reddit", source_id=str(i), text=text, published_at=T0 + timedelta(minutes=i), **extra
    )


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, headers=PRODUCT)


# --- a fake server ----------------------------------------------------------------------


@pytest.fixture
def fake_es(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    """Answers the calls an upsert makes: alias lookup, mget (nothing found) and /_bulk (set per test)."""
    httpserver.expect_request("/", method="GET").respond_with_handler(
        lambda r: _json({"version": {"number": "8.15.0"}, "tagline": "You Know, for Search"})
    )
    httpserver.expect_request("/_alias/fake-mentions", method="GET").respond_with_handler(
        lambda r: _json({"fake-mentions-000001": {"aliases": {"fake-mentions": {}}}})
    )

    def mget(request: Request) -> Response:
        wanted = json.loads(request.data)["ids"]
        return _json({"docs": [{"_index": "fake-mentions-000001", "_id": i, "found": False} for i in wanted]})

    httpserver.expect_request("/fake-mentions-000001/_mget", method="POST").respond_with_handler(mget)
    yield httpserver


def _fake_store(server: HTTPServer, **kwargs: Any) -> ElasticsearchStore:
    store = ElasticsearchStore(
        server.url_for("/"), index_prefix="fake", bulk_initial_backoff=0.01, refresh=False, **kwargs
    )
    # Skip open(): it would create templates; the bulk path is what is under test.
    store._client = store._make_client(8)
    return store


def _bulk_items(request: Request) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in request.data.decode().splitlines() if line.strip()]
    return [line for line in lines if len(line) == 1 and next(iter(line)) in ("create", "index")]


def test_bulk_retries_429_with_exponential_backoff(fake_es: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    sleeps: list[float] = []
    import elasticsearch.helpers.actions as actions

    monkeypatch.setattr(actions.time, "sleep", lambda s: sleeps.append(s))

    def bulk(request: Request) -> Response:
        items = _bulk_items(request)
        ids = [next(iter(i.values()))["_id"] for i in items]
        calls.append(ids)
        if len(calls) == 1:  # the whole request is rejected
            return _json({"error": {"type": "es_rejected_execution_exception", "reason": "queue full"}}, 429)
        results = []
        for n, doc_id in enumerate(ids):
            rejected = len(calls) == 2 and n == 0  # then one item alone is rejected
            status = 429 if rejected else 201
            item = {"_index": "fake-mentions-000001", "_id": doc_id, "status": status}
            if rejected:
                item["error"] = {"type": "es_rejected_execution_exception", "reason": "busy"}
            else:
                item["result"] = "created"
            results.append({"create": item})
        return _json({"took": 1, "errors": len(calls) == 2, "items": results})

    fake_es.expect_request("/_bulk", method="PUT").respond_with_handler(bulk)
    fake_es.expect_request("/_bulk", method="POST").respond_with_handler(bulk)
    store = _fake_store(fake_es)
    try:
        result = store.upsert_mentions([_mention(i, f"acme {i}") for i in range(3)])
    finally:
        store.close()
    assert result.inserted == 3
    assert calls[0] == calls[1] == ["m0", "m1", "m2"]
    assert calls[2] == ["m0"]  # only the rejected item is sent again
    assert sleeps == [0.01, 0.02]  # initial backoff, then doubled


def test_bulk_gives_up_after_max_retries_with_store_error(fake_es: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import elasticsearch.helpers.actions as actions

    monkeypatch.setattr(actions.time, "sleep", lambda s: None)
    attempts: list[int] = []

    def bulk(request: Request) -> Response:
        attempts.append(1)
        return _json({"error": {"type": "es_rejected_execution_exception", "reason": "queue full"}}, 429)

    fake_es.expect_request("/_bulk", method="PUT").respond_with_handler(bulk)
    store = _fake_store(fake_es, bulk_max_retries=2)
    try:
        with pytest.raises(StoreError, match=r"bulk index failed .*429"):
            store.upsert_mentions([_mention(1, "acme")])
    finally:
        store.close()
    assert len(attempts) == 3


def test_item_errors_other_than_429_raise_naming_the_mention(fake_es: HTTPServer) -> None:
    def bulk(request: Request) -> Response:
        items = [
            {"create": {"_id": "m1", "status": 201, "result": "created"}},
            {"create": {"_id": "m2", "status": 400, "error": {"type": "document_parsing_exception"}}},
        ]
        return _json({"took": 1, "errors": True, "items": items})

    fake_es.expect_request("/_bulk", method="PUT").respond_with_handler(bulk)
    store = _fake_store(fake_es)
    try:
        with pytest.raises(StoreError, match=r"1 of 2 mentions were not stored.*m2.*document_parsing_exception"):
            store.upsert_mentions([_mention(1, "a"), _mention(2, "b")])
    finally:
        store.close()


@pytest.mark.parametrize(("server", "expected"), [("8.15.0", "compatible-with=8"), ("9.1.0", "compatible-with=9")])
def test_compatibility_headers_follow_the_server_major(httpserver: HTTPServer, server: str, expected: str) -> None:
    seen: list[str] = []

    def root(request: Request) -> Response:
        seen.append(request.headers.get("Accept", ""))
        accept = request.headers.get("Accept", "")
        # A real 8.x server refuses compatible-with=9 this way.
        if server.startswith("8") and "compatible-with=9" in accept:
            return _json({"error": {"type": "media_type_header_exception"}, "status": 400}, 400)
        return _json({"version": {"number": server}, "tagline": "You Know, for Search"})

    httpserver.expect_request("/", method="GET").respond_with_handler(root)
    store = ElasticsearchStore(httpserver.url_for("/"), index_prefix="fake")
    probe = store._make_client(None)
    probe.info()
    client = store._make_client(min(int(server[0]), 9))
    client.info()
    assert seen[0] == "application/json"
    assert expected in seen[1]


def test_too_many_clauses_is_an_input_error(httpserver: HTTPServer) -> None:
    from earshot.errors import InputError
    from earshot.query import parse

    error = {"type": "search_phase_execution_exception", "caused_by": {"type": "too_many_nested_clauses"}}
    httpserver.expect_request("/fake-mentions/_search", method="POST").respond_with_handler(
        lambda r: _json({"error": error, "status": 400}, 400)
    )
    store = _fake_store(httpserver)
    with pytest.raises(InputError, match="longer prefix"):
        store.search(SearchRequest(filter=MentionFilter(query=parse("a* NEAR/3 refund"))))


def test_unreachable_server_is_a_store_error_naming_the_url() -> None:
    store = ElasticsearchStore("http://127.0.0.1:9", index_prefix="x", request_timeout=2)
    with pytest.raises(StoreError, match=r"cannot reach Elasticsearch at http://127\.0\.0\.1:9"):
        store.open()


def test_wrong_credentials_are_a_store_error_naming_the_settings(httpserver: HTTPServer) -> None:
    seen: list[str] = []

    def root(request: Request) -> Response:
        seen.append(request.headers.get("Authorization", ""))
        return _json({"error": {"type": "security_exception", "reason": "unable to authenticate"}, "status": 401}, 401)

    httpserver.expect_request("/", method="GET").respond_with_handler(root)
    store = ElasticsearchStore(httpserver.url_for("/"), index_prefix="x", username="earshot", password="wrong")
    with pytest.raises(StoreError, match=r"refused the credentials.*EARSHOT_ES_USERNAME") as err:
        store.open()
    assert "wrong" not in str(err.value)
    assert seen and seen[0].startswith("Basic ")


def test_credentials_in_the_url_are_used_and_redacted() -> None:
    store = ElasticsearchStore("https://elastic:s3cret@es.internal:9200/", index_prefix="x")
    assert store.url == "https://es.internal:9200"
    assert "s3cret" not in repr(vars(store).get("url"))
    assert (store._username, store._password) == ("elastic", "s3cret")


@pytest.mark.parametrize("prefix", ["Earshot", "-x", "a b", "a*"])
def test_bad_index_prefix_is_a_config_error(prefix: str) -> None:
    with pytest.raises(ConfigError, match="index prefix"):
        ElasticsearchStore("http://127.0.0.1:9200", index_prefix=prefix)


def test_bad_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="http"):
        ElasticsearchStore("ftp://example.com", index_prefix="x")


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "elasticsearch", None)
    store = ElasticsearchStore("http://127.0.0.1:9200", index_prefix="x")
    with pytest.raises(MissingExtraError, match=r"earshot\[es\]"):
        store.open()


# --- compiler and documents (no server) ------------------------------------------------


def test_near_compiles_to_unordered_span_near_with_slop_n() -> None:
    q = compile_node(Near((Term("acme"), Term("ref", prefix=True)), 3))
    text = q["bool"]["should"][1]["span_near"]
    assert text["slop"] == 3 and text["in_order"] is False
    assert text["clauses"][0] == {"span_term": {"text_words": "acme"}}
    assert text["clauses"][1] == {"span_multi": {"match": {"prefix": {"text_words": {"value": "ref"}}}}}


def test_fields_compile_to_folded_keyword_terms() -> None:
    assert compile_node(FieldMatch("site", "example.com")) == {"term": {"f_site_domains": {"value": "example.com"}}}
    assert compile_node(Not(FieldMatch("lang", "de"))) == {
        "bool": {"must_not": [{"term": {"f_language": {"value": "de"}}}]}
    }


def test_document_holds_query_words_and_folded_fields() -> None:
    m = Mention(
        id="x",
        source="Reddit",
        source_id="1",
        url="https://www.Shop.Acme.com/x",
        author="Jörg",
        title="Café",
        text="#Nordlys don't",
        published_at=T0,
        brands=["Acme"],
        sentiment=Sentiment(label="negative", scores={"negative": 0.8, "neutral": 0.1, "positive": 0.1}, model="m"),
    )
    doc = mention_document(m)
    assert doc["title_words"] == "cafe"
    assert doc["text_words"] == "nordlys don t"
    assert doc["f_site_domains"] == ["shop.acme.com", "acme.com", "com"]
    assert (doc["f_author"], doc["f_source"], doc["f_brands"], doc["f_sentiment"]) == (
        "jorg",
        "reddit",
        ["acme"],
        "negative",
    )
    assert doc["published_us"] == int(T0.timestamp()) * 1_000_000
    assert site_domains(None) == []


# --- against the server -------------------------------------------------------------------


def test_open_creates_template_and_aliases(es_store: ElasticsearchStore) -> None:
    c = es_store.client
    tpl = c.indices.get_index_template(name=es_store.template_name)["index_templates"][0]["index_template"]
    assert tpl["index_patterns"] == [f"{es_store.index_prefix}-mentions-0*"]
    props = tpl["template"]["mappings"]["properties"]
    assert props["title_words"]["analyzer"] == "earshot_words"
    assert props["text"]["analyzer"] == "earshot_text"
    assert props["brands"]["type"] == "keyword" and props["published_at"]["type"] == "date"
    aliases = c.indices.get_alias(index=f"{es_store.index_prefix}-mentions-000001").body
    own = aliases[f"{es_store.index_prefix}-mentions-000001"]["aliases"]
    assert own[es_store.write_alias].get("is_write_index") is True
    assert es_store.read_alias in own
    analyzed = c.indices.analyze(index=es_store.read_alias, analyzer="earshot_text", text="Café #Nordlys don't")
    assert [t["token"] for t in analyzed["tokens"]] == ["cafe", "nordlys", "don", "t"]
    for name in ("cursors", "source-runs", "alerts", "outbox", "api-keys"):
        assert c.indices.exists(index=es_store.side_index(name))


def test_long_words_are_indexed_whole(es_store: ElasticsearchStore) -> None:
    from earshot.query import parse

    word = "a" * 300  # past the default whitespace tokenizer's 255 characters
    blob = "b" * 40_000  # past Lucene's term limit: must not reject the mention
    es_store.upsert_mentions([_mention(1, f"{word} acme {blob}")])
    assert es_store.count(MentionFilter(query=parse(word))) == 1
    assert es_store.count(MentionFilter(query=parse("a" * 299))) == 0
    assert es_store.count(MentionFilter(query=parse("acme"))) == 1


def test_reopen_is_idempotent(es_store: ElasticsearchStore, es_url: str) -> None:
    es_store.upsert_mentions([_mention(1, "acme")])
    again = ElasticsearchStore(es_url, index_prefix=es_store.index_prefix, **es_store_kwargs())  # type: ignore[arg-type]
    with again:
        assert again.count(MentionFilter()) == 1
        assert again.ping()
    assert not again.ping()


def test_rollover_keeps_ids_unique(es_store: ElasticsearchStore) -> None:
    first = [_mention(i, f"acme refund {i}") for i in range(4)]
    assert es_store.upsert_mentions(first).inserted == 4
    new_index = es_store.rollover()
    assert new_index == f"{es_store.index_prefix}-mentions-000002"
    assert len(es_store.mention_indices()) == 2
    changed = first[0].model_copy(update={"text": "acme refund, edited"})
    result = es_store.upsert_mentions([changed, first[1], _mention(9, "acme new")])
    assert (result.inserted, result.updated, result.unchanged) == (1, 1, 1)
    assert es_store.count(MentionFilter()) == 5  # the edit stayed in the old index
    assert es_store.get_mention("m0") is not None and es_store.get_mention("m0").text == "acme refund, edited"  # type: ignore[union-attr]
    assert set(es_store.get_mentions(["m0", "m9", "nope"])) == {"m0", "m9"}
    page = es_store.search(SearchRequest(limit=10))
    assert len({h.mention.id for h in page.hits}) == 5


def test_concurrent_insert_of_the_same_mention_is_not_an_error(
    es_store: ElasticsearchStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = _mention(1, "acme refund")
    assert es_store.upsert_mentions([m]).inserted == 1
    # Another worker stored it between our lookup and our write: the create answers 409.
    real = es_store._existing
    calls: list[int] = []

    def stale(ids: Any) -> Any:
        calls.append(1)
        return {} if len(calls) == 1 else real(ids)

    monkeypatch.setattr(es_store, "_existing", stale)
    result = es_store.upsert_mentions([m])
    assert (result.inserted, result.updated, result.unchanged) == (0, 0, 1)
    assert es_store.count(MentionFilter()) == 1


def test_searches_see_every_chunk_of_a_long_upsert(es_url: str, es_index_prefix: str) -> None:
    # Chunks of 2: only the last request of the call waits for a refresh; when the last
    # chunk changes nothing, the store refreshes explicitly.
    store = ElasticsearchStore(es_url, index_prefix=es_index_prefix, bulk_chunk_size=2, **es_store_kwargs())  # type: ignore[arg-type]
    with store:
        try:
            old = _mention(0, "acme old")
            store.upsert_mentions([old])
            result = store.upsert_mentions([_mention(1, "acme a"), _mention(2, "acme b"), old])
            assert (result.inserted, result.unchanged) == (2, 1)
            assert store.count(MentionFilter()) == 3
            assert store.search(SearchRequest(limit=10)).total == 3
        finally:
            store.drop()


def test_search_after_relies_on_microsecond_times_and_ids(es_store: ElasticsearchStore) -> None:
    close = [
        Mention(id=f"c{i}", source="hn", source_id=str(i), text="acme", published_at=T0 + timedelta(microseconds=i))
        for i in range(6)
    ]
    es_store.upsert_mentions(close)
    seen = [m.id for m in es_store.iter_mentions(MentionFilter(), batch_size=2)]
    assert seen == [f"c{i}" for i in reversed(range(6))]


def test_relevance_scores_equal_the_in_memory_score(es_store: ElasticsearchStore) -> None:
    from earshot.query import parse

    docs = [
        _mention(i, "refund " * (1 + i % 3) + f"acme {i}", title=["Refund", "Acme refund", None][i % 3])
        for i in range(9)
    ]
    es_store.upsert_mentions(docs)
    query = parse('refund OR "acme refund" OR acme NEAR/2 refund* -nothing')
    hits = es_store.search(SearchRequest(filter=MentionFilter(query=query), sort="relevance", limit=20)).hits
    assert {h.mention.id: h.score for h in hits} == {m.id: query.score(m) for m in docs}
    assert [h.mention.id for h in hits] == [
        m.id for m in sorted(docs, key=lambda m: (query.score(m), m.published_at, m.id), reverse=True)
    ]


# --- query parity with the in-memory evaluator ---------------------------------------------

VOCAB = ["acme", "refund", "nordlys", "cafe", "slow", "great", "support"]
PARITY_TEXTS = [
    "Acme refund was slow",
    "refund? ACME! great support",
    "#Nordlys café great, acme slow",
    "support support acme",
    "slow great refund nordlys acme",
    "Café Nordlys",
    "acmes refunds",
    "great",
    "acme x x x refund",
    "refund x acme x x x support",
]


def _parity_corpus() -> list[Mention]:
    out = []
    for i, text in enumerate(PARITY_TEXTS):
        out.append(
            Mention(
                id=f"p{i}",
                source=["reddit", "hn", "review"][i % 3],
                source_id=str(i),
                url=["https://www.acme.com/a", "https://shop.acme.com/b", "https://example.org/c", None][i % 4],
                author=["Jane", "jörg", None][i % 3],
                title=["Acme", None, "Refund nightmare", None][i % 4],
                text=text,
                language=["en", "de"][i % 2],
                published_at=T0 + timedelta(minutes=i),
                brands=[["Acme"], ["Nordlys"], [], ["Acme", "Nordlys"]][i % 4],
                sentiment=None
                if i % 3 == 0
                else Sentiment(
                    label=["negative", "positive"][i % 2],
                    scores={"negative": 0.5, "neutral": 0.25, "positive": 0.25},
                    model="m",
                ),
            )
        )
    return out


def _terms() -> st.SearchStrategy[Term]:
    return st.builds(Term, st.sampled_from([*VOCAB, "ac", "ref", "na"]), st.booleans()).filter(
        lambda t: t.prefix or t.word in VOCAB
    )


_leaf: st.SearchStrategy[Node] = st.one_of(
    _terms(),
    st.builds(lambda a, b: Phrase((a, b)), st.sampled_from(VOCAB), st.sampled_from(VOCAB)),
    st.builds(
        lambda ts, n: Near(tuple(dict.fromkeys(ts)), n) if len(set(ts)) > 1 else ts[0],
        st.lists(_terms(), min_size=2, max_size=3),
        st.integers(0, 4),
    ),
    st.builds(FieldMatch, st.just("site"), st.sampled_from(["acme.com", "shop.acme.com", "example.org", "com"])),
    st.builds(FieldMatch, st.just("brand"), st.sampled_from(["acme", "nordlys"])),
    st.builds(FieldMatch, st.just("author"), st.sampled_from(["jane", "jorg"])),
    st.builds(FieldMatch, st.just("sentiment"), st.sampled_from(["negative", "positive", "neutral"])),
    st.builds(FieldMatch, st.just("lang"), st.sampled_from(["en", "de"])),
)
_nodes: st.SearchStrategy[Node] = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.builds(lambda cs: And(tuple(cs)), st.lists(inner, min_size=2, max_size=3)),
        st.builds(lambda cs: Or(tuple(cs)), st.lists(inner, min_size=2, max_size=3)),
        st.builds(Not, inner),
    ),
    max_leaves=6,
)


@pytest.fixture
def parity_store(es_store: ElasticsearchStore) -> ElasticsearchStore:
    es_store.upsert_mentions(_parity_corpus())
    return es_store


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(node=_nodes)
def test_compiled_queries_match_the_in_memory_evaluator(parity_store: ElasticsearchStore, node: Node) -> None:
    query = Query(text=to_text(node), root=node)
    expected = {m.id for m in _parity_corpus() if query.matches(m)}
    got = {m.id for m in parity_store.iter_mentions(MentionFilter(query=query), batch_size=50)}
    assert got == expected, json.dumps(compile_node(node))


# --- a real server only ---------------------------------------------------------------------


@pytest.mark.es_real
@pytest.mark.skipif(not os.environ.get("EARSHOT_ES_URL"), reason="needs a real server: set EARSHOT_ES_URL")
def test_real_server_version_and_analyzers(es_store: ElasticsearchStore) -> None:
    assert es_store.server_version is not None
    assert int(es_store.server_version.split(".")[0]) in (8, 9)
    assert es_store.client.info()["tagline"] == "You Know, for Search"
    words = es_store.client.indices.analyze(
        index=es_store.read_alias, analyzer="earshot_words", text="nordlys don t cafe"
    )
    assert [t["token"] for t in words["tokens"]] == ["nordlys", "don", "t", "cafe"]
