"""Mention schemas: ``MentionPublic`` (one mention), ``MentionHit`` (with score and highlights), ``MentionPage``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from earshot.models import Mention
from store.base import SearchHit

_MENTION_EXAMPLE: dict[str, Any] = {
    "id": "5f0c3b1e9a7d2c4b6e8f0a1b",
    "source": "reddit",
    "source_id": "t3_abc123",
    "url": "https://www.reddit.com/r/acme/comments/abc123/",
    "site": "reddit.com",
    "author": "u/someone",
    "title": "Acme app down again?",
    "text": "Acme checkout has been failing for an hour, anyone else?",
    "language": "en",
    "published_at": "2025-03-04T09:15:00Z",
    "collected_at": "2025-03-04T09:16:02Z",
    "brands": ["Acme"],
    "topics": ["outage"],
    "sentiment": {
        "label": "negative",
        "scores": {"negative": 0.91, "neutral": 0.07, "positive": 0.02},
        "model": "earshot-sentiment-v1",
    },
    "unscored_reason": None,
    "rating": None,
    "metrics": {"score": 42, "comments": 17},
    "duplicate_of": None,
}


class SentimentPublic(BaseModel):
    label: Literal["negative", "neutral", "positive"]
    scores: dict[str, float] = Field(description="probabilities for negative, neutral and positive")
    model: str = Field(description="model name and version that scored the text")


class MentionPublic(BaseModel):
    """A stored mention as the API shows it (no raw crawler payload)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_MENTION_EXAMPLE]})

    id: str = Field(description="stable id derived from source and source id")
    source: str
    source_id: str
    url: str | None = None
    site: str | None = Field(default=None, description="host of the canonical url, without www.")
    author: str | None = None
    title: str | None = None
    text: str
    language: str = Field(description="ISO 639-1 code, `und` when undetermined")
    published_at: datetime
    collected_at: datetime
    brands: list[str]
    topics: list[str]
    sentiment: SentimentPublic | None = None
    unscored_reason: str | None = Field(default=None, description="why there is no sentiment (language, empty…)")
    rating: float | None = Field(default=None, description="review rating on 1–5")
    metrics: dict[str, float] = Field(description="likes, shares, replies, reach… as the source reports them")
    duplicate_of: str | None = Field(default=None, description="id of the mention this one duplicates")

    @classmethod
    def from_model(cls, m: Mention) -> MentionPublic:
        return cls(**cls._fields(m))

    @staticmethod
    def _fields(m: Mention) -> dict[str, object]:
        return {
            "id": m.id,
            "source": m.source,
            "source_id": m.source_id,
            "url": m.canonical_url or m.url,
            "site": m.site,
            "author": m.author,
            "title": m.title,
            "text": m.text,
            "language": m.language,
            "published_at": m.published_at,
            "collected_at": m.collected_at,
            "brands": list(m.brands),
            "topics": list(m.topics),
            "sentiment": SentimentPublic(
                label=m.sentiment.label, scores=dict(m.sentiment.scores), model=m.sentiment.model
            )
            if m.sentiment
            else None,
            "unscored_reason": m.unscored_reason,
            "rating": m.rating,
            "metrics": dict(m.metrics),
            "duplicate_of": m.duplicate_of,
        }


class MentionHit(MentionPublic):
    """A search result: the mention, its relevance score and highlighted fragments."""

    score: float | None = Field(default=None, description="relevance score (sort=relevance), else null")
    highlights: dict[str, list[str]] = Field(
        default_factory=dict,
        description="field → text fragments around the matched words, each match wrapped in <mark>…</mark>",
        examples=[{"text": ["<mark>Acme</mark> checkout has been failing"]}],
    )

    @classmethod
    def from_hit(cls, hit: SearchHit) -> MentionHit:
        return cls(**cls._fields(hit.mention), score=hit.score, highlights=dict(hit.highlights))


class MentionPage(BaseModel):
    """One page of results; pass ``next_cursor`` as ``cursor`` for the next one."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            **_MENTION_EXAMPLE,
                            "score": None,
                            "highlights": {"text": ["<mark>Acme</mark> checkout has been failing for an hour"]},
                        }
                    ],
                    "next_cursor": "WyJ0aW1lIiwxNzQxMDc5NzAwMDAwMDAwLCI1ZjBjM2IxZSJd",
                    "total": 1234,
                }
            ]
        }
    )

    items: list[MentionHit]
    next_cursor: str | None = Field(
        description="opaque cursor for the next page; null on the last page. Stable under concurrent inserts."
    )
    total: int | None = Field(default=None, description="matches in all pages, when the store counts them")
