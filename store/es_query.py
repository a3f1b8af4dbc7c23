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
- ``And``/``Or``/``Not`` → ``bool`` ``filter``/``should``/``must_not``.

:func:`compile_node` says which mentions match; :func:`compile_scored` adds the
corpus-independent relevance of :meth:`earshot.query.Query.score` for the
relevance sort.
"""

from __future__ import annotations

from typing import Any

from earshot.query import (
    TEXT_WEIGHT,
    TITLE_WEIGHT,
    And,
    FieldMatch,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    Term,
    positive_text_nodes,
)

WORD_FIELDS: tuple[str, str] = ("title_words", "text_words")

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
    """The Elasticsearch query for ``node``: which mentions match (filter context, no scores)."""
    if isinstance(node, Term | Phrase | Near):
        return {"bool": {"should": [leaf_in_field(node, f) for f in WORD_FIELDS], "minimum_should_match": 1}}
    if isinstance(node, FieldMatch):
        return {"term": {FIELD_TARGETS[node.name]: {"value": node.value}}}
    if isinstance(node, And):
        return {"bool": {"filter": [compile_node(c) for c in node.children]}}
    if isinstance(node, Or):
        return {"bool": {"should": [compile_node(c) for c in node.children], "minimum_should_match": 1}}
    if isinstance(node, Not):
        return {"bool": {"must_not": [compile_node(node.child)]}}
    raise TypeError(f"not a query node: {node!r}")


def compile_scored(node: Node) -> EsQuery:
    """Match as :func:`compile_node` and score as :meth:`earshot.query.Query.score` does.

    The score depends on the mention alone: each word node not under NOT adds
    ``TITLE_WEIGHT`` when it matches the title and ``TEXT_WEIGHT`` when it
    matches the text. ``constant_score`` clauses summed by a ``bool`` give exactly
    that, so relevance pages stay stable while mentions arrive (bm25's IDF would
    move) and equal the other backends' order.
    """
    credits: list[EsQuery] = []
    for leaf in positive_text_nodes(node):
        for field, weight in zip(WORD_FIELDS, (TITLE_WEIGHT, TEXT_WEIGHT), strict=True):
            credits.append({"constant_score": {"filter": leaf_in_field(leaf, field), "boost": float(weight)}})
    return {"bool": {"filter": [compile_node(node)], "should": credits, "minimum_should_match": 0}}


def leaf_in_field(leaf: Term | Phrase | Near, field: str) -> EsQuery:
    """A word node within one words field (phrases and NEAR never span title and text)."""
    if isinstance(leaf, Term):
        if leaf.prefix:
            return {"prefix": {field: {"value": leaf.word}}}
        return {"term": {field: {"value": leaf.word}}}
    if isinstance(leaf, Phrase):
        return {"match_phrase": {field: {"query": " ".join(leaf.words)}}}
    return {
        "span_near": {
            "clauses": [_span_clause(t, field) for t in leaf.terms],
            "slop": leaf.distance,
            "in_order": False,
        }
    }


def _span_clause(term: Term, field: str) -> EsQuery:
    if term.prefix:
        return {"span_multi": {"match": {"prefix": {field: {"value": term.word}}}}}
    return {"span_term": {field: term.word}}
