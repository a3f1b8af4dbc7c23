"""Domain models shared by every layer: mentions, sentiment, alerts, source runs.

These are storage/domain models. The API has its own public schemas and never
returns these as is. All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SENTIMENT_LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")
SentimentLabel = Literal["negative", "neutral", "positive"]
UNDETERMINED_LANGUAGE = "und"
_INTERACTIONS = frozenset({"likes", "shares", "replies", "score", "comments", "reposts", "favourites"})


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def mention_id(source: str, source_id: str) -> str:
    """Stable id from source and source id, so a re-crawl never duplicates."""
    digest = hashlib.blake2b(f"{source}\x1f{source_id}".encode(), digest_size=12).hexdigest()
    return digest


def content_hash(text: str) -> str:
    """Hash of the normalised text (case, accents, whitespace folded): exact-duplicate key."""
    folded = fold(text)
    return hashlib.blake2b(" ".join(folded.split()).encode(), digest_size=12).hexdigest()


def fold(text: str) -> str:
    """Case- and accent-insensitive form of ``text`` (NFKD, combining marks dropped)."""
    if text.isascii():  # fast path for most social text: ASCII casefold is lower()
        return text.lower()
    return unicodedata.normalize("NFKD", text).translate(_combining_marks()).casefold()


@functools.cache
def _combining_marks() -> dict[int, None]:
    """str.translate table deleting every combining mark (built once, on first non-ASCII text)."""
    # Every code point with a non-zero combining class lies in [U+0300, U+1E94A] (Unicode 15).
    return {cp: None for cp in range(0x300, 0x1F000) if unicodedata.combining(chr(cp))}


def site_of(url: str | None) -> str | None:
    """Host of ``url``, lower-cased, without a leading ``www.``."""
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


class Sentiment(BaseModel):
    """A model's verdict on one text."""

    model_config = ConfigDict(frozen=True)

    label: SentimentLabel
    scores: dict[SentimentLabel, float]
    model: str

    @field_validator("scores")
    @classmethod
    def _three_probabilities(cls, v: dict[str, float]) -> dict[str, float]:
        missing = set(SENTIMENT_LABELS) - set(v)
        if missing:
            raise ValueError(f"scores lack {sorted(missing)!r}")
        return v


class RawMention(BaseModel):
    """What a crawler or an import yields before the pipeline enriches it."""

    source: str = Field(min_length=1, description="free-form source name: reddit, hn, review, …")
    source_id: str | None = None
    url: str | None = None
    author: str | None = None
    title: str | None = None
    text: str
    published_at: datetime
    rating: float | None = Field(default=None, ge=1, le=5, description="review rating on 1–5")
    metrics: dict[str, float] = Field(default_factory=dict, description="likes, shares, replies, reach…")
    language: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict)

    @field_validator("published_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return as_utc(v)

    @model_validator(mode="after")
    def _has_content(self) -> RawMention:
        if not self.text.strip() and not (self.title or "").strip():
            raise ValueError("text and title are both empty")
        return self

    def effective_source_id(self) -> str:
        """Source id, else url, else a hash of the content: the dedup key within a source."""
        if self.source_id:
            return self.source_id
        if self.url:
            return self.url
        return content_hash(f"{self.title or ''}\n{self.text}\n{self.published_at.isoformat()}")


class Mention(BaseModel):
    """A stored brand mention."""

    id: str
    source: str
    source_id: str
    url: str | None = None
    canonical_url: str | None = None
    site: str | None = None
    author: str | None = None
    title: str | None = None
    text: str
    language: str = UNDETERMINED_LANGUAGE
    published_at: datetime
    collected_at: datetime = Field(default_factory=utcnow)
    brands: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    sentiment: Sentiment | None = None
    unscored_reason: str | None = None
    rating: float | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    content_hash: str = ""
    duplicate_of: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict)

    @field_validator("published_at", "collected_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return as_utc(v)

    @model_validator(mode="after")
    def _derived(self) -> Mention:
        if not self.content_hash:
            self.content_hash = content_hash(f"{self.title or ''} {self.text}")
        if self.site is None:
            self.site = site_of(self.canonical_url or self.url)
        return self

    @property
    def sentiment_label(self) -> str | None:
        return self.sentiment.label if self.sentiment else None

    @property
    def reach(self) -> float:
        """Engagement used to rank evidence: reach if known, else the sum of interactions."""
        if "reach" in self.metrics:
            return self.metrics["reach"]
        return sum(v for k, v in self.metrics.items() if k in _INTERACTIONS)

    @classmethod
    def from_raw(cls, raw: RawMention, **extra: Any) -> Mention:
        sid = raw.effective_source_id()
        return cls(
            id=mention_id(raw.source, sid),
            source=raw.source,
            source_id=sid,
            url=raw.url,
            author=raw.author,
            title=raw.title,
            text=raw.text,
            language=raw.language or UNDETERMINED_LANGUAGE,
            published_at=raw.published_at,
            rating=raw.rating,
            metrics=dict(raw.metrics),
            raw=dict(raw.raw),
            **extra,
        )


class AlertStatus(StrEnum):
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Severity(StrEnum):
    NOTICE = "notice"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return ("notice", "warning", "critical").index(self.value)


class AlertNote(BaseModel):
    at: datetime = Field(default_factory=utcnow)
    author: str | None = None
    text: str


class Alert(BaseModel):
    """One alert's current state; ``key`` = rule + brand + group identifies its lifecycle."""

    id: str
    key: str
    rule: str
    brand: str | None = None
    group: str | None = None
    metric: str
    status: AlertStatus = AlertStatus.FIRING
    severity: Severity = Severity.WARNING
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    last_fired_at: datetime | None = None
    bucket_start: datetime | None = None
    bucket_end: datetime | None = None
    observed: float | None = None
    expected: float | None = None
    score: float | None = None
    assignee: str | None = None
    notes: list[AlertNote] = Field(default_factory=list)
    snoozed_until: datetime | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)
    history: list[dict[str, Any]] = Field(default_factory=list)


class SourceRun(BaseModel):
    """What one crawl of one source did; used by `earshot sources`, silence alerts and coverage."""

    source: str
    kind: str = ""
    started_at: datetime
    finished_at: datetime | None = None
    seen: int = 0
    new: int = 0
    duplicates: int = 0
    errors: int = 0
    error_messages: list[str] = Field(default_factory=list)
    status: Literal["ok", "partial", "failed", "not_configured", "running"] = "ok"

    @property
    def duration_s(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class ApiKey(BaseModel):
    """An API key as stored: only the hash of the secret is kept."""

    id: str
    name: str
    prefix: str
    key_hash: str
    scopes: list[Literal["read", "write", "admin"]]
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class OutboxMessage(BaseModel):
    """A notification waiting for delivery; ``dedup_key`` makes a send happen once per alert state."""

    id: str
    channel: str
    dedup_key: str
    payload: dict[str, Any]
    created_at: datetime = Field(default_factory=utcnow)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    last_error: str | None = None
    dead: bool = False
