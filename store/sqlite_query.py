"""Compile listening-query ASTs and `MentionFilter`s to SQLite SQL + FTS5 MATCH expressions.

The FTS5 table indexes the *folded* words of title and text (``earshot.query.words``
joined by spaces), so case, accents, hashtags and handles behave exactly as in
the in-memory evaluator. Word nodes become FTS5 expressions (``"w"``, ``"w"*``,
``"a b"`` phrases, ``NEAR("a" "b", n)``); Boolean structure that FTS5 can hold
(AND, OR, binary NOT) stays inside one MATCH, and what it cannot (a NOT on its
own, NOT inside OR, field comparisons) becomes SQL around
``m.rowid IN (SELECT rowid FROM mentions_fts WHERE mentions_fts MATCH ?)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from earshot.models import as_utc, fold
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
from store.base import MentionFilter

FTS_IN = "m.rowid IN (SELECT rowid FROM mentions_fts WHERE mentions_fts MATCH ?)"
_FIELD_COLUMNS = {
    "source": "m.source_key",
    "lang": "m.language_key",
    "author": "m.author_key",
    "sentiment": "m.sentiment",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def to_us(ts: datetime) -> int:
    """Microseconds since the Unix epoch (the stored time unit)."""
    return (as_utc(ts) - _EPOCH) // _US


def from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def _quote(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def _term(t: Term) -> str:
    return _quote(t.word) + ("*" if t.prefix else "")


def fts_expression(node: Node) -> str | None:
    """``node`` as one FTS5 MATCH expression, or None when FTS5 cannot express it."""
    if isinstance(node, Term):
        return _term(node)
    if isinstance(node, Phrase):
        return _quote(" ".join(node.words))
    if isinstance(node, Near):
        # FTS5 counts the words between the first and the last phrase; with k single
        # words "at most n other words between them" is n + k - 2 of those.
        return f"NEAR({' '.join(_term(t) for t in node.terms)}, {node.distance + len(node.terms) - 2})"
    if isinstance(node, Or):
        parts = [fts_expression(c) for c in node.children]
        if any(p is None for p in parts):
            return None
        return "(" + " OR ".join(p for p in parts if p) + ")"
    if isinstance(node, And):
        positives: list[str] = []
        negatives: list[str] = []
        for c in node.children:
            if isinstance(c, Not):
                inner = fts_expression(c.child)
                if inner is None:
                    return None
                negatives.append(inner)
            else:
                expr = fts_expression(c)
                if expr is None:
                    return None
                positives.append(expr)
        if not positives:
            return None
        out = "(" + " AND ".join(positives) + ")"
        for neg in negatives:
            out = f"{out} NOT {neg}"
        return f"({out})"
    return None  # FieldMatch, or a NOT with nothing to subtract from


def site_key(value: str) -> str:
    value = fold(value).strip().rstrip(".")
    return value[4:] if value.startswith("www.") else value


@dataclass
class SQL:
    """A WHERE fragment (over ``mentions m``) with its parameters."""

    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, clause: str, *params: Any) -> None:
        self.where.append(clause)
        self.params.extend(params)

    def clause(self) -> str:
        return " AND ".join(self.where) if self.where else "1"


def _site_sql(value: str) -> tuple[str, list[Any]]:
    # coalesce: a mention without a site is simply not on it (never NULL, so NOT works).
    return "coalesce(m.site_key = ? OR substr(m.site_key, -?) = ?, 0)", [value, len(value) + 1, "." + value]


def compile_node(node: Node) -> tuple[str, list[Any]]:
    """SQL boolean expression over ``mentions m`` for ``node``."""
    expr = fts_expression(node)
    if expr is not None:
        return FTS_IN, [expr]
    if isinstance(node, FieldMatch):
        if node.name == "site":
            return _site_sql(node.value)
        if node.name == "brand":
            return "m.rowid IN (SELECT mention_rowid FROM mention_brands WHERE brand_key = ?)", [node.value]
        return f"{_FIELD_COLUMNS[node.name]} IS ?", [node.value]
    if isinstance(node, Not):
        sql, params = compile_node(node.child)
        # NULL-safe: every compiled leaf yields 0/1, never NULL.
        return f"NOT ({sql})", params
    if isinstance(node, And | Or):
        parts = [compile_node(c) for c in node.children]
        glue = " AND " if isinstance(node, And) else " OR "
        return "(" + glue.join(p[0] for p in parts) + ")", [x for p in parts for x in p[1]]
    raise TypeError(f"unknown query node {node!r}")  # pragma: no cover


def score_sql(root: Node) -> tuple[str, list[Any]]:
    """SQL for :meth:`earshot.query.Query.score`: per word node not under NOT, 2 for a title
    match plus 1 for a text match (FTS5 column filters). Corpus-independent, so keyset
    cursors over it stay stable while mentions are inserted."""
    parts: list[str] = []
    params: list[Any] = []
    for leaf in positive_text_nodes(root):
        expr = fts_expression(leaf)
        for column, weight in (("title", TITLE_WEIGHT), ("text", TEXT_WEIGHT)):
            parts.append(f"{weight} * ({FTS_IN})")
            params.append(f"{{{column}}} : {expr}")
    return ("(" + " + ".join(parts) + ")" if parts else "0"), params


def _in(column: str, values: Sequence[str]) -> tuple[str, list[Any]]:
    if not values:
        return "0", []
    return f"{column} IN ({', '.join('?' * len(values))})", list(values)


def compile_filter(flt: MentionFilter, *, replace_query: bool = False, query_root: Node | None = None) -> SQL:
    """WHERE over ``mentions m`` for everything in ``flt``.

    With ``replace_query`` the query part is ``query_root`` (possibly nothing) instead of ``flt.query``.
    """
    sql = SQL()
    since = to_us(flt.since) if flt.since is not None else None
    until = to_us(flt.until) if flt.until is not None else None
    if since is not None:
        sql.add("m.published_us >= ?", since)
    if until is not None:
        sql.add("m.published_us < ?", until)
    if not flt.include_duplicates:
        sql.add("m.duplicate_of IS NULL")
    for column, values in (
        ("m.source_key", flt.sources),
        ("m.language_key", flt.languages),
        ("m.author_key", flt.authors),
    ):
        if values is not None:
            clause, params = _in(column, sorted({fold(v) for v in values}))
            sql.add(clause, *params)
    if flt.sentiments is not None:
        clause, params = _in("coalesce(m.sentiment, 'unscored')", sorted({fold(v) for v in flt.sentiments}))
        sql.add(clause, *params)
    if flt.sites is not None:
        parts = [_site_sql(site_key(s)) for s in flt.sites]
        sql.add("(" + (" OR ".join(p[0] for p in parts) or "0") + ")", *[x for p in parts for x in p[1]])
    if flt.brands is not None:
        clause, params = _in("brand_key", sorted({fold(b) for b in flt.brands}))
        # The time range inside the sub-select lets SQLite walk (brand_key, published_us) directly.
        sub = f"SELECT mention_rowid FROM mention_brands WHERE {clause}"
        if since is not None:
            sub += " AND published_us >= ?"
            params.append(since)
        if until is not None:
            sub += " AND published_us < ?"
            params.append(until)
        sql.add(f"m.rowid IN ({sub})", *params)
    root = query_root if replace_query else (flt.query.root if flt.query is not None else None)
    if root is not None:
        clause, params = compile_node(root)
        sql.add(clause, *params)
    return sql
