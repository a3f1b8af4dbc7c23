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

FTS_IN = "{col} IN (SELECT rowid FROM mentions_fts WHERE mentions_fts MATCH ?{range})"
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


SECOND_OFFSET = 1 << 32
COUNTER_BITS = 30
Range = tuple[int | None, int | None]


def time_rowid_base(published_us: int) -> int:
    """First rowid of the published second holding ``published_us``.

    Mention rowids are time keys, ``(second + 2**32) << 30 | n``: a time range is then a
    rowid range, which FTS5 applies while reading its doclists, so a month's query
    never decodes a year's postings.
    """
    return ((published_us // 1_000_000) + SECOND_OFFSET) << COUNTER_BITS


def rowid_bounds(since_us: int | None, until_us: int | None) -> tuple[int | None, int | None]:
    """Rowid range ``[lo, hi)`` holding every mention published in ``[since_us, until_us)``."""
    lo = time_rowid_base(since_us) if since_us is not None else None
    hi = time_rowid_base(until_us - 1) + (1 << COUNTER_BITS) if until_us is not None else None
    return lo, hi


def _fts_in(expr: str, rng: Range, col: str = "m.rowid") -> tuple[str, list[Any]]:
    """``m.rowid IN`` the FTS5 matches of ``expr``, limited to the rowid range ``rng``."""
    lo, hi = rng
    extra = ""
    params: list[Any] = [expr]
    if lo is not None:
        extra += " AND rowid >= ?"
        params.append(lo)
    if hi is not None:
        extra += " AND rowid < ?"
        params.append(hi)
    return FTS_IN.format(col=col, range=extra), params


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
    rowid_range: Range = (None, None)
    #: FROM clause; always binds ``m`` (mentions). The table that drives the scan comes first.
    source: str = "mentions m"
    rowid_col: str = "m.rowid"

    def add(self, clause: str, *params: Any) -> None:
        self.where.append(clause)
        self.params.extend(params)

    def clause(self) -> str:
        return " AND ".join(self.where) if self.where else "1"


def _site_sql(value: str) -> tuple[str, list[Any]]:
    # coalesce: a mention without a site is simply not on it (never NULL, so NOT works).
    return "coalesce(m.site_key = ? OR substr(m.site_key, -?) = ?, 0)", [value, len(value) + 1, "." + value]


def compile_node(node: Node, rng: Range = (None, None), col: str = "m.rowid") -> tuple[str, list[Any]]:
    """SQL boolean expression over ``mentions m`` for ``node``.

    FTS reads are limited to rowids in ``rng``; ``col`` is the expression holding the
    mention's rowid (``b.mention_rowid`` when the brand index drives the query).
    """
    expr = fts_expression(node)
    if expr is not None:
        return _fts_in(expr, rng, col)
    if isinstance(node, FieldMatch):
        if node.name == "site":
            return _site_sql(node.value)
        if node.name == "brand":
            return "m.rowid IN (SELECT mention_rowid FROM mention_brands WHERE brand_key = ?)", [node.value]
        return f"{_FIELD_COLUMNS[node.name]} IS ?", [node.value]
    if isinstance(node, Not):
        sql, params = compile_node(node.child, rng, col)
        # NULL-safe: every compiled leaf yields 0/1, never NULL.
        return f"NOT ({sql})", params
    if isinstance(node, And | Or):
        parts = [compile_node(c, rng, col) for c in node.children]
        glue = " AND " if isinstance(node, And) else " OR "
        return "(" + glue.join(p[0] for p in parts) + ")", [x for p in parts for x in p[1]]
    raise TypeError(f"unknown query node {node!r}")  # pragma: no cover


def split_match(root: Node) -> tuple[str | None, Node | None]:
    """Split ``root`` into one FTS5 expression that every hit must match (to drive the scan) and the rest."""
    expr = fts_expression(root)
    if expr is not None:
        return expr, None
    if isinstance(root, And):
        fts_children = [c for c in root.children if fts_expression(c.child if isinstance(c, Not) else c)]
        if any(not isinstance(c, Not) for c in fts_children):
            rest = [c for c in root.children if c not in fts_children]
            match = fts_expression(fts_children[0] if len(fts_children) == 1 else And(tuple(fts_children)))
            remainder: Node | None = None
            if rest:
                remainder = rest[0] if len(rest) == 1 else And(tuple(rest))
            return match, remainder
    return None, root


def score_sql(root: Node, rng: Range = (None, None), col: str = "m.rowid") -> tuple[str, list[Any]]:
    """SQL for :meth:`earshot.query.Query.score`: per word node not under NOT, 2 for a title
    match plus 1 for a text match (FTS5 column filters). Corpus-independent, so keyset
    cursors over it stay stable while mentions are inserted."""
    parts: list[str] = []
    params: list[Any] = []
    for leaf in positive_text_nodes(root):
        expr = fts_expression(leaf)
        for column, weight in (("title", TITLE_WEIGHT), ("text", TEXT_WEIGHT)):
            clause, clause_params = _fts_in(f"{{{column}}} : {expr}", rng, col)
            parts.append(f"{weight} * ({clause})")
            params.extend(clause_params)
    return ("(" + " + ".join(parts) + ")" if parts else "0"), params


def _in(column: str, values: Sequence[str]) -> tuple[str, list[Any]]:
    if not values:
        return "0", []
    return f"{column} IN ({', '.join('?' * len(values))})", list(values)


def compile_filter(flt: MentionFilter, *, replace_query: bool = False, query_root: Node | None = None) -> SQL:
    """FROM + WHERE over ``mentions m`` for everything in ``flt``.

    The scan is driven by the most selective index SQLite cannot pick by itself
    (it has no estimate of how many rows an FTS5 MATCH or a brand yields): a
    single brand walks ``mention_brands`` on (brand, time) and probes the FTS
    matches by rowid; otherwise a top-level word query walks the FTS5 matches;
    otherwise the time index. ``CROSS JOIN`` fixes that order.
    With ``replace_query`` the query part is ``query_root`` (possibly nothing) instead of ``flt.query``.
    """
    sql = SQL()
    since = to_us(flt.since) if flt.since is not None else None
    until = to_us(flt.until) if flt.until is not None else None
    rng = rowid_bounds(since, until)
    sql.rowid_range = rng
    root = query_root if replace_query else (flt.query.root if flt.query is not None else None)
    brand_keys = sorted({fold(b) for b in flt.brands}) if flt.brands is not None else None
    if brand_keys is not None and len(brand_keys) == 1:
        sql.source = "mention_brands b CROSS JOIN mentions m ON m.rowid = b.mention_rowid"
        sql.rowid_col = "b.mention_rowid"
        sql.add("b.brand_key = ?", brand_keys[0])
        if since is not None:
            sql.add("b.published_us >= ?", since)
        if until is not None:
            sql.add("b.published_us < ?", until)
        brand_keys = None
    elif root is not None:
        match, remainder = split_match(root)
        if match is not None:
            sql.source = "mentions_fts f CROSS JOIN mentions m ON m.rowid = f.rowid"
            sql.rowid_col = "f.rowid"
            sql.add("f.mentions_fts MATCH ?", match)
            if rng[0] is not None:
                sql.add("f.rowid >= ?", rng[0])
            if rng[1] is not None:
                sql.add("f.rowid < ?", rng[1])
            root = remainder
    if since is not None:
        sql.add("m.rowid >= ? AND m.published_us >= ?", rng[0], since)
    if until is not None:
        sql.add("m.rowid < ? AND m.published_us < ?", rng[1], until)
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
    if brand_keys is not None:
        clause, params = _in("brand_key", brand_keys)
        sub = f"SELECT mention_rowid FROM mention_brands WHERE {clause}"
        if since is not None:
            sub += " AND published_us >= ?"
            params.append(since)
        if until is not None:
            sub += " AND published_us < ?"
            params.append(until)
        sql.add(f"m.rowid IN ({sub})", *params)
    if root is not None:
        clause, params = compile_node(root, rng, sql.rowid_col)
        sql.add(clause, *params)
    return sql
