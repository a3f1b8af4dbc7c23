"""The listening query language: parser (precedence, errors with columns), evaluator, and
property tests that every store backend returns exactly the in-memory evaluator's hits."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from earshot.errors import QuerySyntaxError
from earshot.models import Mention, Sentiment
from earshot.query import And, FieldMatch, Near, Node, Not, Or, Phrase, Term, parse, to_text, words
from store.base import MentionFilter, MentionStore, SearchRequest
from store.memory import filter_matches
from tests.store.conftest import BACKENDS, make_store

T, P = Term, Phrase


def m(text: str, title: str | None = None, **kw: object) -> Mention:
    return Mention(
        id="x",
        source=str(kw.pop("source", "reddit")),
        source_id="1",
        text=text,
        title=title,
        published_at=datetime(2026, 1, 1, tzinfo=UTC),
        **kw,  # type: ignore[arg-type]
    )


# --- words ---------------------------------------------------------------------------------


def test_words_fold_case_accents_hashtags_and_handles() -> None:
    assert words("#Nordlys @nordlys NORDLYS") == ["nordlys"] * 3
    assert words("Café Über naïve") == ["cafe", "uber", "naive"]
    assert words("don't snake_case e-mail 3.5") == ["don", "t", "snake", "case", "e", "mail", "3", "5"]
    assert words("") == [] and words(None) == []


# --- parser --------------------------------------------------------------------------------

PARSE_CASES: list[tuple[str, Node]] = [
    ("acme", T("acme")),
    ("Acme*", T("acme", prefix=True)),
    ("acme refund", And((T("acme"), T("refund")))),
    ("acme AND refund", And((T("acme"), T("refund")))),
    ("a OR b c", Or((T("a"), And((T("b"), T("c")))))),  # AND binds tighter than OR
    ("a b OR c", Or((And((T("a"), T("b"))), T("c")))),
    ("NOT a b", And((Not(T("a")), T("b")))),  # NOT binds tightest
    ("-a OR b", Or((Not(T("a")), T("b")))),
    ("NOT (a OR b)", Not(Or((T("a"), T("b"))))),
    ("(a OR b) (c OR d)", And((Or((T("a"), T("b"))), Or((T("c"), T("d")))))),
    ("a OR b OR c", Or((T("a"), T("b"), T("c")))),
    ('"Acme refund"', P(("acme", "refund"))),
    ('"acme"', T("acme")),
    ('"acme refund"~5', Near((T("acme"), T("refund")), 5)),
    ("acme NEAR/3 refu*", Near((T("acme"), T("refu", prefix=True)), 3)),
    ("a NEAR/2 b NEAR/2 c", Near((T("a"), T("b"), T("c")), 2)),
    ("a NEAR/2 b OR c", Or((Near((T("a"), T("b")), 2), T("c")))),
    ("#Nordlys", T("nordlys")),
    ("e-mail", P(("e", "mail"))),
    ("and or not", And((T("and"), T("or"), T("not")))),  # operators are upper case only
    ("source:Reddit", FieldMatch("source", "reddit")),
    ('author:"Jöhn Doe"', FieldMatch("author", "john doe")),
    ("site:WWW.Example.com.", FieldMatch("site", "example.com")),
    ("brand:acme -sentiment:negative", And((FieldMatch("brand", "acme"), Not(FieldMatch("sentiment", "negative"))))),
    ("LANG:de", FieldMatch("lang", "de")),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_CASES, ids=[c[0] for c in PARSE_CASES])
def test_parse(text: str, expected: Node) -> None:
    q = parse(text)
    assert q.root == expected
    assert q.text == text
    assert parse(to_text(q.root)).root == expected


ERROR_CASES: list[tuple[str, int, str]] = [
    ("", 1, "a search term"),
    ("   ", 1, "a search term"),
    ("acme OR", 8, "a search term"),
    ("acme AND", 9, "a search term"),
    ("(acme", 6, "')' to close the '(' at column 1"),
    ("acme)", 5, "an operator or the end of the query"),
    ("()", 2, "a search term inside the parentheses"),
    ('"acme refund', 13, "a closing quote"),
    ('"acme refund"~', 15, "a number of words after '~'"),
    ("acme NEAR refund", 6, "NEAR/<number of words>"),
    ("acme NEAR/x refund", 6, "NEAR/<number of words>"),
    ("acme NEAR/3", 12, "a search term"),
    ('acme NEAR/3 "a b"', 13, "a single word (or word*) on each side of NEAR"),
    ("a NEAR/2 b NEAR/3 c", 12, "the same distance in a chain of NEAR"),
    ("ac*me", 3, "a wildcard only at the end of a word"),
    ("*acme", 1, "a wildcard only at the end of a word"),
    ("e-mail*", 7, "a wildcard on a single word"),
    ("acme !!!", 6, "a word with letters or digits"),
    ("color:red", 1, "a field name (source:, lang:, author:, site:, brand:, sentiment:)"),
    ("source:", 8, "a value after 'source:'"),
    ("author:jo*", 10, "a whole value for 'author:'"),
    ("sentiment:angry", 11, "a sentiment (negative, neutral, positive)"),
    ("acme AND OR refund", 10, "a search term, not 'OR'"),
    ("NOT", 4, "a search term"),
]


@pytest.mark.parametrize(("text", "column", "expected"), ERROR_CASES, ids=[c[0] or "empty" for c in ERROR_CASES])
def test_syntax_errors_name_column_and_expectation(text: str, column: int, expected: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse(text)
    err = info.value
    assert err.column == column
    assert expected in err.expected
    assert err.query == text
    assert f"column {column}" in str(err)


# --- evaluator -----------------------------------------------------------------------------


def test_matches_title_and_text_but_phrases_stay_in_one_field() -> None:
    mention = m("refund was slow", title="Acme news")
    assert parse("acme refund").matches(mention)
    assert not parse('"news refund"').matches(mention)
    assert parse('"refund was"').matches(mention)


def test_near_counts_words_between_either_order() -> None:
    mention = m("acme one two three refund")
    assert not parse("acme NEAR/2 refund").matches(mention)
    assert parse("acme NEAR/3 refund").matches(mention)
    assert parse("refund NEAR/3 acme").matches(mention)
    assert parse('"refund acme"~3').matches(mention)


def test_fields() -> None:
    mention = m(
        "x",
        source="Review",
        url="https://www.shop.Acme.co.uk/p",
        author="Jörg",
        language="de",
        brands=["Nordlys"],
        sentiment=Sentiment(label="negative", scores={"negative": 0.9, "neutral": 0.05, "positive": 0.05}, model="m"),
    )
    for q in ("source:review", "site:acme.co.uk", "site:co.uk", "author:jorg", "lang:DE", "brand:nordlys"):
        assert parse(q).matches(mention), q
    for q in ("site:cme.co.uk", "sentiment:positive", "author:jo", "source:rev"):
        assert not parse(q).matches(mention), q
    assert parse("sentiment:negative").matches(mention)


def test_highlight_and_snippet() -> None:
    q = parse('refund* "great service" -bad')
    assert (
        q.highlight("Refunds: GREAT service, bad")
        == "<mark>Refunds</mark>: <mark>GREAT</mark> <mark>service</mark>, bad"
    )
    long_text = " ".join(["filler"] * 100 + ["refund"] + ["tail"] * 100)
    snip = q.snippet(long_text, max_words=10)
    assert snip is not None and "<mark>refund</mark>" in snip and snip.startswith("… ") and snip.endswith(" …")
    assert q.snippet("nothing here") is None


# --- property: every backend agrees with the evaluator ------------------------------------

VOCAB = ["acme", "refund", "café", "nordlys", "slow", "service", "über", "great", "bad", "acmeville"]
SOURCES = ["reddit", "hn", "review"]
BRANDS = ["Acme", "Nordlys"]
SITES = ["https://www.shop.acme.com/x", "https://acme.com/y", "https://blog.example.org/z", None]
SPELLINGS = [str, str.upper, str.capitalize, lambda w: "#" + w, lambda w: "@" + w]


@st.composite
def texts(draw: st.DrawFn, max_words: int = 12) -> str:
    n = draw(st.integers(1, max_words))
    out = []
    for _ in range(n):
        word = draw(st.sampled_from(VOCAB))
        out.append(draw(st.sampled_from(SPELLINGS))(word) + draw(st.sampled_from(["", "", ",", ".", "!"])))
    return " ".join(out)


@st.composite
def mentions(draw: st.DrawFn, i: int) -> Mention:
    label = draw(st.sampled_from([None, "negative", "neutral", "positive"]))
    return Mention(
        id=f"m{i}",
        source=draw(st.sampled_from(SOURCES)),
        source_id=str(i),
        url=draw(st.sampled_from(SITES)),
        author=draw(st.sampled_from([None, "Jane", "JÖRG"])),
        title=draw(st.one_of(st.none(), texts(max_words=4))),
        text=draw(texts()),
        language=draw(st.sampled_from(["en", "de"])),
        published_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=i),
        brands=draw(st.lists(st.sampled_from(BRANDS), unique=True, max_size=2)),
        sentiment=Sentiment(label=label, scores={"negative": 0.2, "neutral": 0.2, "positive": 0.2}, model="t")
        if label
        else None,
    )


FOLDED = sorted({w for v in VOCAB for w in words(v)})
terms = st.builds(
    lambda w, cut, prefix: Term(w[: max(1, cut)] if prefix else w, prefix),
    st.sampled_from(FOLDED),
    st.integers(1, 5),
    st.booleans(),
)
leaves = st.one_of(
    terms,
    st.lists(st.sampled_from(FOLDED), min_size=2, max_size=3).map(lambda ws: Phrase(tuple(ws))),
    st.builds(
        lambda a, b, n: Near((a, b), n),
        terms,
        terms,
        st.integers(0, 3),
    ).filter(lambda n: n.terms[0] != n.terms[1]),
    st.builds(FieldMatch, st.just("source"), st.sampled_from(SOURCES)),
    st.builds(FieldMatch, st.just("brand"), st.sampled_from(["acme", "nordlys"])),
    st.builds(FieldMatch, st.just("site"), st.sampled_from(["acme.com", "shop.acme.com", "example.org", "org"])),
    st.builds(FieldMatch, st.just("sentiment"), st.sampled_from(["negative", "neutral", "positive"])),
    st.builds(FieldMatch, st.just("author"), st.sampled_from(["jane", "jorg"])),
    st.builds(FieldMatch, st.just("lang"), st.sampled_from(["en", "de"])),
)
nodes = st.recursive(
    leaves,
    lambda kids: st.one_of(
        st.lists(kids, min_size=2, max_size=3).map(lambda c: And(tuple(c))),
        st.lists(kids, min_size=2, max_size=3).map(lambda c: Or(tuple(c))),
        kids.map(Not),
    ),
    max_leaves=6,
)


@given(node=nodes)
@settings(max_examples=200, deadline=None)
def test_to_text_round_trips(node: Node) -> None:
    once = parse(to_text(node))
    assert parse(to_text(once.root)).root == once.root


@st.composite
def corpora(draw: st.DrawFn) -> list[Mention]:
    n = draw(st.integers(1, 8))
    return [draw(mentions(i)) for i in range(n)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> object:
    yield from make_store(request.param, request, tmp_path_factory.mktemp("prop"))


filters = st.builds(
    lambda brands, start, hours, sources: MentionFilter(
        brands=brands,
        since=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=start) if start is not None else None,
        until=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=(start or 0) + hours) if hours else None,
        sources=sources,
    ),
    st.one_of(st.none(), st.lists(st.sampled_from(["acme", "NORDLYS", "other"]), min_size=1, max_size=2)),
    st.one_of(st.none(), st.integers(0, 6)),
    st.one_of(st.none(), st.integers(1, 6)),
    st.one_of(st.none(), st.lists(st.sampled_from(SOURCES), min_size=1, max_size=2)),
)


@given(corpus=corpora(), queries=st.lists(st.tuples(nodes, filters), min_size=1, max_size=5))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_backend_returns_the_evaluators_hits(
    backend: MentionStore, corpus: list[Mention], queries: list[tuple[Node, MentionFilter]]
) -> None:
    backend.delete_mentions(MentionFilter())
    backend.upsert_mentions(corpus)
    for node, base in queries:
        query = parse(to_text(node))
        expected = {x.id for x in corpus if query.matches(x)}
        page = backend.search(SearchRequest(filter=MentionFilter(query=query), limit=50))
        assert {h.mention.id for h in page.hits} == expected, to_text(query.root)
        assert backend.count(MentionFilter(query=query)) == len(expected)
        # The same query under brand / time / source filters (other scan paths in SQLite).
        flt = replace(base, query=query)
        narrowed = {x.id for x in corpus if filter_matches(flt, x)}
        assert {h.mention.id for h in backend.search(SearchRequest(filter=flt, limit=50)).hits} == narrowed
        relevance = backend.search(SearchRequest(filter=flt, sort="relevance", limit=50))
        assert {h.mention.id for h in relevance.hits} == narrowed
