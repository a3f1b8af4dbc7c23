"""The ingestion pipeline: RawMention → matched, canonical, deduplicated, language, sentiment → store.

Every stage is a small object behind a Protocol so the composition root can
swap them (the real transformer scorer, a tiny test model, none at all).
Crawled and imported mentions go through the same :meth:`Pipeline.process`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from earshot.models import Mention, RawMention, Sentiment


@runtime_checkable
class LanguageDetector(Protocol):
    def detect(self, texts: Sequence[str]) -> list[str]:
        """ISO 639-1 codes, ``"und"`` where undetermined (short or mixed text)."""
        ...


@runtime_checkable
class SentimentScorer(Protocol):
    @property
    def model_name(self) -> str: ...

    def score(self, texts: Sequence[str], languages: Sequence[str]) -> list[Sentiment | str]:
        """One result per text: a :class:`Sentiment`, or a string giving why it is unscored."""
        ...


@runtime_checkable
class Deduplicator(Protocol):
    def check(self, mention: Mention) -> str | None:
        """Id of the first-seen mention this one duplicates, else ``None`` (and remember it)."""
        ...


@runtime_checkable
class MentionMatcher(Protocol):
    def match(self, mention: Mention) -> tuple[list[str], list[str]] | None:
        """(brands, topics) the mention is about, or ``None`` when it matches no brand and should be dropped."""
        ...


@runtime_checkable
class UrlCanonicalizer(Protocol):
    def __call__(self, url: str) -> str: ...


@dataclass
class PipelineResult:
    received: int = 0
    stored: int = 0
    inserted: int = 0
    unchanged: int = 0
    filtered: int = 0
    duplicates: int = 0
    unscored: int = 0
    mention_ids: list[str] = field(default_factory=list)

    def add(self, other: PipelineResult) -> None:
        for name in ("received", "stored", "inserted", "unchanged", "filtered", "duplicates", "unscored"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.mention_ids.extend(other.mention_ids)
