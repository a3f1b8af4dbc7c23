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

from dataclasses import dataclass
from typing import Literal

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
