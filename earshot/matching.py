"""Brand and topic matching: which configured brands (own and competitors) and topics a mention is about.

Each brand's listening query is parsed once; a brand without a query listens
for its name and aliases as an OR of exact phrases (``"Nordlys" OR "Nordlys
Energy"``). Topics are listening queries too. A mention that matches no brand
is dropped by the pipeline; topics only tag.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from earshot.config import Brand, WatchConfig
from earshot.errors import ConfigError, QuerySyntaxError
from earshot.models import Mention
from earshot.query import FieldMatch, Node, Query, parse

log = logging.getLogger(__name__)


def alias_query(names: Iterable[str]) -> str:
    """An OR of exact phrases, one per distinct non-empty name (quotes inside a name are dropped)."""
    seen: list[str] = []
    for name in names:
        clean = " ".join(name.replace('"', " ").split())
        if clean and clean.casefold() not in {s.casefold() for s in seen}:
            seen.append(clean)
    return " OR ".join(f'"{s}"' for s in seen)


def _fields(node: Node) -> set[str]:
    """Field names a query node uses (to know whether matching needs the language first)."""
    if isinstance(node, FieldMatch):
        return {node.name}
    children = getattr(node, "children", None)
    if children is not None:
        out: set[str] = set()
        for child in children:
            out |= _fields(child)
        return out
    child = getattr(node, "child", None)
    return _fields(child) if child is not None else set()


@dataclass(frozen=True)
class CompiledBrand:
    name: str
    query: Query
    own: bool
    competitors: tuple[str, ...]


@dataclass(frozen=True)
class CompiledTopic:
    name: str
    query: Query


def _compile(text: str, where: str) -> Query:
    try:
        return parse(text)
    except QuerySyntaxError as exc:
        raise ConfigError(str(exc), path=where) from None


def _brand_query_text(brand: Brand) -> str:
    return brand.query or alias_query([brand.name, *brand.aliases])


class BrandMatcher:
    """Implements :class:`earshot.pipeline.MentionMatcher` from a :class:`WatchConfig`.

    ``match`` returns ``(brands, topics)``, brands in config order, or ``None``
    when no brand matches. A competitor is tagged like any brand (its own name
    in ``brands``), so share of voice can count it.
    """

    def __init__(self, brands: list[CompiledBrand], topics: list[CompiledTopic]) -> None:
        self.brands = brands
        self.topics = topics
        used: set[str] = set()
        for q in [b.query for b in brands] + [t.query for t in topics]:
            used |= _fields(q.root)
        # `lang:` in a brand or topic query needs language detection before matching
        self.needs_language = "lang" in used

    @classmethod
    def from_config(cls, config: WatchConfig) -> BrandMatcher:
        brands = [
            CompiledBrand(
                name=b.name,
                query=_compile(_brand_query_text(b), f"brands[{i}].query"),
                own=b.own,
                competitors=tuple(b.competitors),
            )
            for i, b in enumerate(config.brands)
        ]
        topics = [CompiledTopic(t.name, _compile(t.query, f"topics[{i}].query")) for i, t in enumerate(config.topics)]
        log.debug("matcher compiled brands=%d topics=%d", len(brands), len(topics))
        return cls(brands, topics)

    def match(self, mention: Mention) -> tuple[list[str], list[str]] | None:
        brands = [b.name for b in self.brands if b.query.matches(mention)]
        if not brands:
            return None
        topics = [t.name for t in self.topics if t.query.matches(mention)]
        return brands, topics

    def own_brands(self) -> list[str]:
        return [b.name for b in self.brands if b.own]
