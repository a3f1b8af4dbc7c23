"""The listening query language: parse once to an AST, evaluate in memory, compile per store.

Semantics (the same in every backend, see ARCHITECTURE.md): bare terms combine
with AND; NOT binds tightest, then AND, then OR; ``-term`` is NOT; words match
whole, case- and accent-insensitively, without stemming; ``acme*`` is a
trailing wildcard; ``"a b"`` is an exact phrase; ``"a b"~n`` and ``a NEAR/n b``
mean both words within n words of each other in either order; a hashtag or
handle matches its word; fields ``source:``, ``lang:``, ``author:``,
``site:``, ``brand:``, ``sentiment:`` compare whole values (``site:`` matches
the url's host and its parent domains, ignoring ``www.``).

The parser and the in-memory evaluator live here; store compilers live in
``store/`` and walk the same AST.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Literal, cast

from earshot.errors import QuerySyntaxError
from earshot.models import SENTIMENT_LABELS, fold

if TYPE_CHECKING:
    from earshot.models import Mention

FieldName = Literal["source", "lang", "author", "site", "brand", "sentiment"]
FIELD_NAMES: tuple[str, ...] = ("source", "lang", "author", "site", "brand", "sentiment")


@dataclass(frozen=True)
class Term:
    """One word (already folded: lower case, no accents); ``prefix`` for ``word*``."""

    word: str
    prefix: bool = False


@dataclass(frozen=True)
class Phrase:
    """Consecutive words, in order."""

    words: tuple[str, ...]


@dataclass(frozen=True)
class Near:
    """Every one of ``terms`` within ``distance`` words of each other, any order."""

    terms: tuple[Term, ...]
    distance: int


@dataclass(frozen=True)
class FieldMatch:
    """``name:value``: a whole-value comparison on a mention field (case-insensitive)."""

    name: FieldName
    value: str


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = Term | Phrase | Near | FieldMatch | And | Or | Not


# --- words -------------------------------------------------------------------------------

# A word is a run of letters and digits (no underscore), the same split as SQLite's
# ``unicode61`` tokenizer and Elasticsearch's standard tokenizer on everyday text:
# ``#Nordlys`` and ``@nordlys`` both yield ``nordlys``; ``don't`` yields ``don``, ``t``.
_WORD_RE = re.compile(r"[^\W_]+")


def words(text: str | None) -> list[str]:
    """Folded word tokens of ``text`` (lower case, accents removed), in order."""
    if not text:
        return []
    return _WORD_RE.findall(fold(text))


def _word_spans(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, folded word) for each word of the original ``text``.

    Folding can change a string's length (``ß`` → ``ss``), so spans are found on
    the original text and each word is folded on its own.
    """
    for m in _WORD_RE.finditer(text):
        for w in _WORD_RE.findall(fold(m.group())):
            yield m.start(), m.end(), w


# --- parser ------------------------------------------------------------------------------

_FIELD_RE = re.compile(r"([A-Za-z]+):(.*)", re.DOTALL)
_NEAR_RE = re.compile(r"NEAR/(\d+)")
_EXPECTED_FIELDS = ", ".join(f"{f}:" for f in FIELD_NAMES)


@dataclass(frozen=True)
class _Tok:
    kind: Literal["word", "phrase", "field", "lparen", "rparen", "and", "or", "not", "minus", "near", "eof"]
    col: int  # 1-based
    text: str = ""
    value: str = ""
    number: int | None = None  # NEAR/n distance, or phrase ~n
    quoted: bool = False


class _Lexer:
    def __init__(self, query: str) -> None:
        self.q = query
        self.i = 0

    def error(self, col: int, expected: str) -> QuerySyntaxError:
        return QuerySyntaxError(self.q, col, expected)

    def _quoted(self, start: int) -> tuple[str, int]:
        """Read a ``"..."`` string starting at ``start`` (the quote); return (content, index after)."""
        end = self.q.find('"', start + 1)
        if end < 0:
            raise self.error(len(self.q) + 1, f'a closing quote (") for the quote at column {start + 1}')
        return self.q[start + 1 : end], end + 1

    def _tilde(self) -> int | None:
        q = self.q
        if self.i < len(q) and q[self.i] == "~":
            m = re.compile(r"\d+").match(q, self.i + 1)
            if not m:
                raise self.error(self.i + 2, "a number of words after '~' (for example \"acme refund\"~5)")
            self.i = m.end()
            return int(m.group())
        return None

    def tokens(self) -> list[_Tok]:
        q = self.q
        out: list[_Tok] = []
        while True:
            while self.i < len(q) and q[self.i].isspace():
                self.i += 1
            if self.i >= len(q):
                out.append(_Tok("eof", len(q) + 1))
                return out
            c = q[self.i]
            col = self.i + 1
            if c == "(":
                out.append(_Tok("lparen", col, "("))
                self.i += 1
            elif c == ")":
                out.append(_Tok("rparen", col, ")"))
                self.i += 1
            elif c == '"':
                content, self.i = self._quoted(self.i)
                out.append(_Tok("phrase", col, content, number=self._tilde()))
            elif c == "-" and self.i + 1 < len(q) and not q[self.i + 1].isspace() and q[self.i + 1] != "-":
                out.append(_Tok("minus", col, "-"))
                self.i += 1
            else:
                start = self.i
                while self.i < len(q) and not q[self.i].isspace() and q[self.i] not in '()"':
                    self.i += 1
                text = q[start : self.i]
                if text in ("AND", "OR", "NOT"):
                    out.append(_Tok(cast(Literal["and", "or", "not"], text.lower()), col, text))
                    continue
                near = _NEAR_RE.fullmatch(text)
                if near:
                    out.append(_Tok("near", col, text, number=int(near.group(1))))
                    continue
                if text == "NEAR" or text.startswith("NEAR/"):
                    raise self.error(col, "NEAR/<number of words> (for example acme NEAR/5 refund)")
                fm = _FIELD_RE.fullmatch(text)
                if fm:
                    value, quoted = fm.group(2), False
                    if not value and self.i < len(q) and q[self.i] == '"':
                        value, self.i = self._quoted(self.i)
                        quoted = True
                    out.append(_Tok("field", col, fm.group(1), value=value, quoted=quoted))
                    continue
                out.append(_Tok("word", col, text))


class _Parser:
    """Recursive descent: or := and (OR and)* ; and := unary ((AND)? unary)* ;
    unary := (NOT | -) unary | near ; near := primary (NEAR/n primary)* ;
    primary := ( or ) | "phrase"[~n] | field:value | word[*]."""

    _STARTS_UNARY = frozenset({"word", "phrase", "field", "lparen", "not", "minus"})

    def __init__(self, query: str) -> None:
        self.q = query
        self.lexer = _Lexer(query)
        self.toks = self.lexer.tokens()
        self.pos = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.pos]

    def advance(self) -> _Tok:
        t = self.toks[self.pos]
        self.pos += 1
        return t

    def error(self, col: int, expected: str) -> QuerySyntaxError:
        return QuerySyntaxError(self.q, col, expected)

    def parse(self) -> Node:
        if self.tok.kind == "eof":
            raise self.error(1, "a search term")
        node = self.parse_or()
        if self.tok.kind != "eof":
            if self.tok.kind == "rparen":
                raise self.error(self.tok.col, "an operator or the end of the query (unbalanced ')')")
            raise self.error(self.tok.col, "an operator or the end of the query")
        return node

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.tok.kind == "or":
            self.advance()
            children.append(self.parse_and())
        return _make(Or, children)

    def parse_and(self) -> Node:
        children = [self.parse_unary()]
        while True:
            if self.tok.kind == "and":
                self.advance()
                children.append(self.parse_unary())
            elif self.tok.kind in self._STARTS_UNARY:
                children.append(self.parse_unary())
            else:
                return _make(And, children)

    def parse_unary(self) -> Node:
        t = self.tok
        if t.kind in ("not", "minus"):
            self.advance()
            return Not(self.parse_unary())
        return self.parse_near()

    def parse_near(self) -> Node:
        first_tok = self.tok
        node = self.parse_primary()
        if self.tok.kind != "near":
            return node
        terms = [self._near_operand(node, first_tok)]
        distance: int | None = None
        while self.tok.kind == "near":
            near_tok = self.advance()
            if distance is not None and near_tok.number != distance:
                raise self.error(near_tok.col, f"the same distance in a chain of NEAR (NEAR/{distance})")
            distance = near_tok.number
            operand_tok = self.tok
            terms.append(self._near_operand(self.parse_primary(), operand_tok))
        assert distance is not None
        return _near(terms, distance)

    def _near_operand(self, node: Node, tok: _Tok) -> Term:
        if not isinstance(node, Term):
            raise self.error(tok.col, "a single word (or word*) on each side of NEAR")
        return node

    def parse_primary(self) -> Node:
        t = self.tok
        if t.kind == "lparen":
            self.advance()
            if self.tok.kind == "rparen":
                raise self.error(self.tok.col, "a search term inside the parentheses")
            node = self.parse_or()
            if self.tok.kind != "rparen":
                raise self.error(self.tok.col, f"')' to close the '(' at column {t.col}")
            self.advance()
            return node
        if t.kind == "phrase":
            self.advance()
            ws = words(t.text)
            if not ws:
                raise self.error(t.col, "words inside the quotes")
            if len(ws) == 1:
                return Term(ws[0])
            if t.number is not None:
                return _near([Term(w) for w in ws], t.number)
            return Phrase(tuple(ws))
        if t.kind == "field":
            self.advance()
            return self._field(t)
        if t.kind == "word":
            self.advance()
            return self._word(t)
        if t.kind == "eof":
            raise self.error(t.col, "a search term")
        raise self.error(t.col, f"a search term, not {t.text!r}")

    def _field(self, t: _Tok) -> FieldMatch:
        name = t.text.lower()
        if name not in FIELD_NAMES:
            raise self.error(t.col, f"a field name ({_EXPECTED_FIELDS}), not {t.text + ':'!r}")
        value_col = t.col + len(t.text) + 1
        value = t.value.strip()
        if not value:
            raise self.error(value_col, f"a value after {name + ':'!r}")
        if "*" in value and not t.quoted:
            raise self.error(value_col + value.index("*"), f"a whole value for {name + ':'!r} (no wildcards)")
        folded = fold(value)
        if name == "site":
            folded = folded.rstrip(".")
            if folded.startswith("www."):
                folded = folded[4:]
        elif name == "sentiment" and folded not in SENTIMENT_LABELS:
            raise self.error(value_col, f"a sentiment ({', '.join(SENTIMENT_LABELS)}), not {value!r}")
        return FieldMatch(cast(FieldName, name), folded)

    def _word(self, t: _Tok) -> Node:
        text = t.text
        prefix = text.endswith("*")
        body = text[:-1] if prefix else text
        if "*" in body:
            raise self.error(t.col + body.index("*"), "a wildcard only at the end of a word (acme*)")
        ws = words(body)
        if not ws:
            raise self.error(t.col, f"a word with letters or digits, not {text!r}")
        if len(ws) == 1:
            return Term(ws[0], prefix=prefix)
        if prefix:
            raise self.error(t.col + len(body), f"a wildcard on a single word, not {text!r}")
        # ``e-mail`` or ``acme.com``: several words written as one token mean the phrase.
        return Phrase(tuple(ws))


def _make(cls: type[And] | type[Or], children: list[Node]) -> Node:
    flat: list[Node] = []
    for c in children:
        if isinstance(c, cls):
            flat.extend(c.children)
        else:
            flat.append(c)
    return flat[0] if len(flat) == 1 else cls(tuple(flat))


def _near(terms: list[Term], distance: int) -> Node:
    unique = tuple(dict.fromkeys(terms))
    if len(unique) == 1:
        return unique[0]
    return Near(unique, distance)


# --- evaluation --------------------------------------------------------------------------


@dataclass
class _Doc:
    """A mention prepared for matching: the word lists of title and text, and field values."""

    columns: tuple[list[str], ...]
    fields: dict[str, tuple[str, ...]]

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        return frozenset(w for col in self.columns for w in col)

    @classmethod
    def of(cls, mention: Mention) -> _Doc:
        def one(v: str | None) -> tuple[str, ...]:
            return (fold(v),) if v else ()

        return cls(
            columns=(words(mention.title), words(mention.text)),
            fields={
                "source": one(mention.source),
                "lang": one(mention.language),
                "author": one(mention.author),
                "site": one(mention.site),
                "brand": tuple(fold(b) for b in mention.brands),
                "sentiment": one(mention.sentiment_label),
            },
        )


def _term_hits(term: Term, column: list[str]) -> list[int]:
    if term.prefix:
        return [i for i, w in enumerate(column) if w.startswith(term.word)]
    return [i for i, w in enumerate(column) if w == term.word]


def _phrase_in(phrase: tuple[str, ...], column: list[str]) -> bool:
    n = len(phrase)
    return any(column[i : i + n] == list(phrase) for i in range(len(column) - n + 1) if column[i] == phrase[0])


def _near_in(near: Near, column: list[str]) -> bool:
    """One position per term with at most ``distance`` other words between the outermost two.

    As in SQLite FTS5's NEAR, two terms may be satisfied by the same word (``acme NEAR/0 ac*``).
    """
    hits = [_term_hits(t, column) for t in near.terms]
    if any(not h for h in hits):
        return False
    # With k terms, "at most n words between" allows max(pos) - min(pos) <= n + k - 1.
    span_limit = near.distance + len(hits) - 1
    if len(hits) == 2:
        a, b = hits
        return any(abs(p - q) <= span_limit for p in a for q in b)
    return any(max(combo) - min(combo) <= span_limit for combo in itertools.product(*hits))


def site_matches(site: str | None, wanted: str) -> bool:
    """``site:`` semantics: the url's host or one of its parent domains (both already folded)."""
    if not site:
        return False
    return site == wanted or site.endswith("." + wanted)


def _eval(node: Node, doc: _Doc) -> bool:
    if isinstance(node, Term):
        if node.prefix:
            return any(w.startswith(node.word) for w in doc.vocabulary)
        return node.word in doc.vocabulary
    if isinstance(node, Phrase):
        return any(_phrase_in(node.words, col) for col in doc.columns)
    if isinstance(node, Near):
        return any(_near_in(node, col) for col in doc.columns)
    if isinstance(node, FieldMatch):
        values = doc.fields[node.name]
        if node.name == "site":
            return any(site_matches(v, node.value) for v in values)
        return node.value in values
    if isinstance(node, And):
        return all(_eval(c, doc) for c in node.children)
    if isinstance(node, Or):
        return any(_eval(c, doc) for c in node.children)
    return not _eval(node.child, doc)


def positive_text_nodes(node: Node) -> Iterator[Term | Phrase | Near]:
    """The word nodes that a match can be credited to (not under NOT): for scoring and highlights."""
    if isinstance(node, Term | Phrase | Near):
        yield node
    elif isinstance(node, And | Or):
        for c in node.children:
            yield from positive_text_nodes(c)


TITLE_WEIGHT = 2
TEXT_WEIGHT = 1


def _leaf_in(leaf: Term | Phrase | Near, column: list[str]) -> bool:
    if isinstance(leaf, Term):
        return bool(_term_hits(leaf, column))
    if isinstance(leaf, Phrase):
        return _phrase_in(leaf.words, column)
    return _near_in(leaf, column)


def _score(node: Node, doc: _Doc) -> float:
    """Relevance that depends on the mention alone, never on the rest of the corpus.

    Each word node not under NOT adds 2 when it matches the title and 1 when it
    matches the text. A corpus statistic such as bm25's IDF would move every time
    a mention is stored, and a cursor over moving scores repeats or skips hits;
    this score keeps relevance pages stable under concurrent inserts and equal in
    every backend. Ties fall back to newest first.
    """
    title, text = doc.columns
    return float(
        sum(
            TITLE_WEIGHT * _leaf_in(leaf, title) + TEXT_WEIGHT * _leaf_in(leaf, text)
            for leaf in positive_text_nodes(node)
        )
    )


@dataclass(frozen=True)
class Query:
    """A parsed listening query. Build with :func:`parse`."""

    text: str
    root: Node = field(compare=False)

    def matches(self, mention: Mention) -> bool:
        """Whether ``mention`` (title + text, plus its fields) satisfies the query."""
        return _eval(self.root, _Doc.of(mention))

    def score(self, mention: Mention) -> float:
        """In-memory relevance (used by the in-memory store's relevance sort)."""
        return _score(self.root, _Doc.of(mention))

    def highlight(self, text: str | None, start: str = "<mark>", end: str = "</mark>") -> str | None:
        """``text`` with the words the query's (non-negated) word nodes can match wrapped in marks."""
        if not text:
            return None
        exact: set[str] = set()
        prefixes: list[str] = []
        for leaf in positive_text_nodes(self.root):
            if isinstance(leaf, Phrase):
                exact.update(leaf.words)
                continue
            for t in leaf.terms if isinstance(leaf, Near) else (leaf,):
                if t.prefix:
                    prefixes.append(t.word)
                else:
                    exact.add(t.word)
        out: list[str] = []
        last = 0
        for s, e, w in _word_spans(text):
            if s < last:
                continue
            if w in exact or any(w.startswith(p) for p in prefixes):
                out.append(text[last:s] + start + text[s:e] + end)
                last = e
        out.append(text[last:])
        return "".join(out)

    def snippet(self, text: str | None, max_words: int = 32) -> str | None:
        """A highlighted window of about ``max_words`` words around the first match, or None."""
        marked = self.highlight(text)
        if not marked or "<mark>" not in marked or text is None:
            return None
        spans = list(_word_spans(text))
        if len(spans) <= max_words:
            return marked
        first = next(i for i, (s, e, _) in enumerate(spans) if "<mark>" in (self.highlight(text[s:e]) or ""))
        lo = max(0, first - max_words // 4)
        hi = min(len(spans), lo + max_words)
        start, end = spans[lo][0], spans[hi - 1][1]
        window = self.highlight(text[start:end]) or ""
        return ("… " if start > 0 else "") + window + (" …" if end < len(text) else "")

    def __str__(self) -> str:
        return self.text


def parse(text: str) -> Query:
    """Parse a listening query; raises :class:`QuerySyntaxError` with a 1-based column."""
    if not isinstance(text, str):
        raise TypeError(f"query must be a string, not {type(text).__name__}")
    return Query(text=text, root=_Parser(text).parse())


def to_text(node: Node) -> str:
    """Canonical query text for ``node`` (parses back to an equal AST)."""
    if isinstance(node, Term):
        return node.word + ("*" if node.prefix else "")
    if isinstance(node, Phrase):
        return '"' + " ".join(node.words) + '"'
    if isinstance(node, Near):
        return f" NEAR/{node.distance} ".join(to_text(t) for t in node.terms)
    if isinstance(node, FieldMatch):
        return f'{node.name}:"{node.value}"'
    if isinstance(node, And):
        return "(" + " AND ".join(to_text(c) for c in node.children) + ")"
    if isinstance(node, Or):
        return "(" + " OR ".join(to_text(c) for c in node.children) + ")"
    return "NOT " + to_text(node.child)
