"""Compile the listening-query AST (``earshot.query``) to Elasticsearch query DSL.

Parity with the in-memory evaluator is the point, so the words are not left to
an Elasticsearch analyzer: the store indexes ``title_words`` / ``text_words``,
the output of :func:`earshot.query.words` joined by spaces, under a whitespace
analyzer. Every backend therefore sees the very same folded tokens and
positions (``#Nordlys`` → ``nordlys``, ``don't`` → ``don`` ``t``, ``Café`` →
``cafe``), whatever the Unicode in the text.

Mapping of each node:

- ``Term`` → ``term`` (``prefix`` for ``acme*``) on either words field.
- ``Phrase`` → ``match_phrase`` within one field (a phrase never spans title and text).
- ``Near`` → ``span_near`` with ``in_order: false`` and ``slop: n`` within one
  field: "at most n other words between the outermost terms", the in-memory rule
  ``max(pos) - min(pos) <= n + k - 1``. Prefix terms become ``span_multi``.
- ``FieldMatch`` → ``term`` on the ``f_*`` keyword fields, which hold the folded
  values (``site:`` uses ``f_site_domains``: the host and each parent domain).
- ``And``/``Or``/``Not`` → ``bool`` ``must``/``should``/``must_not``.
"""

from __future__ import annotations

from typing import Any

from earshot.query import And, FieldMatch, Near, Node, Not, Or, Phrase, Term

# Title hits weigh twice text hits, as in the in-memory relevance score.
WORD_FIELDS: tuple[tuple[str, float], ...] = (("title_words", 2.0), ("text_words", 1.0))

FIELD_TARGETS: dict[str, str] = {
    "source": "f_source",
    "lang": "f_language",
    "author": "f_author",
    "site": "f_site_domains",
    "brand": "f_brands",
    "sentiment": "f_sentiment",
}

EsQuery = dict[str, Any]


def compile_node(node: Node) -> EsQuery:
    """The Elasticsearch query for ``node``; usable in query (scored) or filter context."""
    if isinstance(node, Term):
        return _any_field([_term(node, f, boost) for f, boost in WORD_FIELDS])
    if isinstance(node, Phrase):
        text = " ".join(node.words)
        return _any_field([{"match_phrase": {f: {"query": text, "boost": boost}}} for f, boost in WORD_FIELDS])
    if isinstance(node, Near):
        return _any_field([_span_near(node, f, boost) for f, boost in WORD_FIELDS])
    if isinstance(node, FieldMatch):
        return {"term": {FIELD_TARGETS[node.name]: {"value": node.value}}}
    if isinstance(node, And):
        return {"bool": {"must": [compile_node(c) for c in node.children]}}
    if isinstance(node, Or):
        return {"bool": {"should": [compile_node(c) for c in node.children], "minimum_should_match": 1}}
    if isinstance(node, Not):
        return {"bool": {"must_not": [compile_node(node.child)]}}
    raise TypeError(f"not a query node: {node!r}")


def _any_field(clauses: list[EsQuery]) -> EsQuery:
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def _term(term: Term, field: str, boost: float) -> EsQuery:
    if term.prefix:
        return {"prefix": {field: {"value": term.word, "boost": boost}}}
    return {"term": {field: {"value": term.word, "boost": boost}}}


def _span_clause(term: Term, field: str) -> EsQuery:
    if term.prefix:
        return {"span_multi": {"match": {"prefix": {field: {"value": term.word}}}}}
    return {"span_term": {field: term.word}}


def _span_near(near: Near, field: str, boost: float) -> EsQuery:
    return {
        "span_near": {
            "clauses": [_span_clause(t, field) for t in near.terms],
            "slop": near.distance,
            "in_order": False,
            "boost": boost,
        }
    }


def highlight_terms(node: Node) -> list[Term]:
    """The non-negated word terms of ``node`` (what a highlight may mark)."""
    out: list[Term] = []
    if isinstance(node, Term):
        out.append(node)
    elif isinstance(node, Phrase):
        out.extend(Term(w) for w in node.words)
    elif isinstance(node, Near):
        out.extend(node.terms)
    elif isinstance(node, And | Or):
        for c in node.children:
            out.extend(highlight_terms(c))
    return out
