"""The `MentionStore` contract every backend implements.

Backends: ``store.sqlite.SQLiteStore`` (embedded default) and
``store.elasticsearch.ElasticsearchStore``. Both pass ``tests/store/test_contract.py``.
Beyond mentions, the store keeps the small operational state the service
needs to be stateless elsewhere: per-source cursors and run records, alerts,
the notification outbox and hashed API keys.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Literal, Self

from earshot.models import Alert, AlertStatus, ApiKey, Mention, OutboxMessage, SourceRun
from earshot.query import Query

SortOrder = Literal["time", "relevance"]
SplitBy = Literal["sentiment", "source", "brand", "none"]
TopField = Literal["site", "author", "source", "brand", "language"]


@dataclass(frozen=True)
class MentionFilter:
    """Which mentions an operation covers. Every field narrows; ``None`` means no restriction.

    ``since`` is inclusive, ``until`` exclusive (callers turn date-only inclusive
    ranges into ``[day 00:00, day+1 00:00)``).
    """

    query: Query | None = None
    brands: Sequence[str] | None = None
    sources: Sequence[str] | None = None
    languages: Sequence[str] | None = None
    sentiments: Sequence[str] | None = None
    sites: Sequence[str] | None = None
    authors: Sequence[str] | None = None
    since: datetime | None = None
    until: datetime | None = None
    include_duplicates: bool = True


@dataclass(frozen=True)
class SearchRequest:
    filter: MentionFilter = field(default_factory=MentionFilter)
    sort: SortOrder = "time"
    limit: int = 50
    cursor: str | None = None
    highlight: bool = False


@dataclass
class SearchHit:
    mention: Mention
    score: float | None = None
    highlights: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class SearchPage:
    hits: list[SearchHit]
    next_cursor: str | None
    total: int | None = None


@dataclass(frozen=True)
class UpsertResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class Bucket:
    """Counts in one time bucket; ``counts`` maps split value (e.g. sentiment label) to count."""

    start: datetime
    total: int
    counts: dict[str, int]


class MentionStore(abc.ABC):
    """Abstract store. Open with ``with store:`` or ``open()``/``close()``; no I/O in ``__init__``."""

    url: str

    # lifecycle --------------------------------------------------------------
    @abc.abstractmethod
    def open(self) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    def ping(self) -> bool:
        """True when the backend answers (readiness)."""

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # mentions ---------------------------------------------------------------
    @abc.abstractmethod
    def upsert_mentions(self, mentions: Iterable[Mention]) -> UpsertResult:
        """Insert or update by id. Re-upserting an identical mention changes nothing."""

    @abc.abstractmethod
    def get_mention(self, mention_id: str) -> Mention | None: ...

    @abc.abstractmethod
    def get_mentions(self, ids: Sequence[str]) -> dict[str, Mention]:
        """The mentions among ``ids`` that exist (for dedup and evidence)."""

    @abc.abstractmethod
    def search(self, request: SearchRequest) -> SearchPage:
        """One page; ``next_cursor`` continues after the last hit, stable under inserts."""

    def iter_mentions(self, flt: MentionFilter, batch_size: int = 1000) -> Iterator[Mention]:
        """Every mention matching ``flt``, newest first, streamed page by page."""
        cursor: str | None = None
        while True:
            page = self.search(SearchRequest(filter=flt, sort="time", limit=batch_size, cursor=cursor))
            for hit in page.hits:
                yield hit.mention
            if not page.next_cursor or not page.hits:
                return
            cursor = page.next_cursor

    @abc.abstractmethod
    def count(self, flt: MentionFilter) -> int: ...

    @abc.abstractmethod
    def timeline(self, flt: MentionFilter, interval_s: int, split_by: SplitBy = "sentiment") -> list[Bucket]:
        """Counts per time bucket of ``interval_s`` seconds aligned to the Unix epoch, ascending.

        Only non-empty buckets are returned. With ``split_by="sentiment"``
        unscored mentions count under ``"unscored"``.
        """

    @abc.abstractmethod
    def top(self, flt: MentionFilter, field: TopField, size: int = 10) -> list[tuple[str, int]]:
        """Most frequent values of ``field`` with their counts, descending."""

    @abc.abstractmethod
    def delete_mentions(self, flt: MentionFilter) -> int:
        """Delete what ``flt`` matches (retention); returns how many."""

    # per-source state ---------------------------------------------------------
    @abc.abstractmethod
    def get_cursor(self, source: str) -> str | None: ...

    @abc.abstractmethod
    def set_cursor(self, source: str, value: str) -> None: ...

    @abc.abstractmethod
    def record_source_run(self, run: SourceRun) -> None: ...

    @abc.abstractmethod
    def source_runs(self, source: str | None = None, limit: int = 20) -> list[SourceRun]:
        """Most recent runs first."""

    # alerts -------------------------------------------------------------------
    @abc.abstractmethod
    def save_alert(self, alert: Alert) -> None: ...

    @abc.abstractmethod
    def get_alert(self, alert_id: str) -> Alert | None: ...

    @abc.abstractmethod
    def get_alert_by_key(self, key: str) -> Alert | None:
        """The most recent alert with this key (any status)."""

    @abc.abstractmethod
    def list_alerts(
        self, status: AlertStatus | None = None, since: datetime | None = None, limit: int = 100
    ) -> list[Alert]:
        """Most recently updated first."""

    # notification outbox ----------------------------------------------------------
    @abc.abstractmethod
    def enqueue(self, message: OutboxMessage) -> bool:
        """Add unless a message with the same ``dedup_key`` and channel exists; True if added."""

    @abc.abstractmethod
    def due_messages(self, now: datetime, limit: int = 100) -> list[OutboxMessage]: ...

    @abc.abstractmethod
    def update_message(self, message: OutboxMessage) -> None: ...

    # api keys -----------------------------------------------------------------------
    @abc.abstractmethod
    def save_api_key(self, key: ApiKey) -> None: ...

    @abc.abstractmethod
    def find_api_key(self, key_hash: str) -> ApiKey | None: ...

    @abc.abstractmethod
    def list_api_keys(self) -> list[ApiKey]: ...
