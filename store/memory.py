"""In-memory `MentionStore`: the reference implementation of the contract and everyone's test double.

Everything lives in dicts guarded by one lock; queries are evaluated with
:meth:`earshot.query.Query.matches`, so its answers define what the other
backends must return. Objects are copied in and out, so callers never share
state with the store. The data lives as long as the instance (``close`` keeps it).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from earshot.errors import InputError, NotFoundError
from earshot.models import Alert, AlertStatus, ApiKey, Mention, OutboxMessage, SourceRun, as_utc, fold
from earshot.query import site_matches
from store._cursor import decode_cursor, encode_cursor
from store.base import (
    Bucket,
    MentionFilter,
    MentionStore,
    SearchHit,
    SearchPage,
    SearchRequest,
    SplitBy,
    TopField,
    UpsertResult,
)
from store.sqlite_query import from_us, to_us

UNSCORED = "unscored"


def _folded(values: Sequence[str] | None) -> set[str] | None:
    return None if values is None else {fold(v) for v in values}


def mention_doc(mention: Mention) -> dict[str, Any]:
    """What identity of content means for idempotent upsert: everything but ``collected_at``."""
    return mention.model_dump(mode="json", exclude={"collected_at"})


def filter_matches(flt: MentionFilter, mention: Mention) -> bool:
    """Whether ``mention`` passes every restriction of ``flt`` (list fields: case-insensitive, any of)."""
    if flt.since is not None and mention.published_at < as_utc(flt.since):
        return False
    if flt.until is not None and mention.published_at >= as_utc(flt.until):
        return False
    if not flt.include_duplicates and mention.duplicate_of is not None:
        return False
    if (wanted := _folded(flt.sources)) is not None and fold(mention.source) not in wanted:
        return False
    if (wanted := _folded(flt.languages)) is not None and fold(mention.language) not in wanted:
        return False
    if (wanted := _folded(flt.authors)) is not None and (mention.author is None or fold(mention.author) not in wanted):
        return False
    if (wanted := _folded(flt.brands)) is not None and not wanted & {fold(b) for b in mention.brands}:
        return False
    if (wanted := _folded(flt.sentiments)) is not None and (mention.sentiment_label or UNSCORED) not in wanted:
        return False
    if flt.sites is not None:
        site = mention.site
        if not any(site_matches(site, _site_value(s)) for s in flt.sites):
            return False
    return flt.query is None or flt.query.matches(mention)


def _site_value(site: str) -> str:
    value = fold(site).strip().rstrip(".")
    return value[4:] if value.startswith("www.") else value


def bucket_start(ts: datetime, interval_s: int) -> datetime:
    """Start of the epoch-aligned bucket of ``interval_s`` seconds holding ``ts``."""
    us = to_us(ts)
    return from_us(us - us % (interval_s * 1_000_000))


def _check_interval(interval_s: int) -> None:
    if interval_s <= 0:
        raise InputError(f"timeline interval must be a positive number of seconds, not {interval_s!r}")


def _time_key(m: Mention) -> tuple[int, str]:
    return (to_us(m.published_at), m.id)


class MemoryStore(MentionStore):
    """A `MentionStore` held in process memory (``memory://``)."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.RLock()
        self._mentions: dict[str, Mention] = {}
        self._cursors: dict[str, str] = {}
        self._runs: list[SourceRun] = []
        self._alerts: dict[str, Alert] = {}
        self._outbox: dict[str, OutboxMessage] = {}
        self._keys: dict[str, ApiKey] = {}
        self._opened = False

    # lifecycle --------------------------------------------------------------
    def open(self) -> None:
        self._opened = True

    def close(self) -> None:
        self._opened = False

    def ping(self) -> bool:
        return True

    # mentions ---------------------------------------------------------------
    def upsert_mentions(self, mentions: Iterable[Mention]) -> UpsertResult:
        inserted = updated = unchanged = 0
        with self._lock:
            for m in mentions:
                old = self._mentions.get(m.id)
                if old is None:
                    inserted += 1
                elif mention_doc(old) == mention_doc(m):
                    unchanged += 1
                    continue
                else:
                    updated += 1
                    # The first collection time is kept: re-crawling is not new content.
                    m = m.model_copy(update={"collected_at": old.collected_at})
                self._mentions[m.id] = m.model_copy(deep=True)
        return UpsertResult(inserted=inserted, updated=updated, unchanged=unchanged)

    def get_mention(self, mention_id: str) -> Mention | None:
        with self._lock:
            m = self._mentions.get(mention_id)
            return m.model_copy(deep=True) if m else None

    def get_mentions(self, ids: Sequence[str]) -> dict[str, Mention]:
        with self._lock:
            return {i: self._mentions[i].model_copy(deep=True) for i in ids if i in self._mentions}

    def _matching(self, flt: MentionFilter) -> list[Mention]:
        with self._lock:
            return [m for m in self._mentions.values() if filter_matches(flt, m)]

    def search(self, request: SearchRequest) -> SearchPage:
        if request.limit <= 0:
            raise InputError(f"limit must be a positive number, not {request.limit!r}")
        flt = request.filter
        found = self._matching(flt)
        relevance = request.sort == "relevance" and flt.query is not None
        keyed: list[tuple[tuple[Any, ...], Mention]]
        if relevance:
            assert flt.query is not None
            query = flt.query
            keyed = [((query.score(m), *_time_key(m)), m) for m in found]
        else:
            keyed = [(_time_key(m), m) for m in found]
        keyed.sort(key=lambda km: km[0], reverse=True)
        if request.cursor:
            after = tuple(decode_cursor(request.cursor, request.sort, 3 if relevance else 2))
            keyed = [km for km in keyed if km[0] < after]
        page = keyed[: request.limit]
        hits: list[SearchHit] = []
        for key, m in page:
            hit = SearchHit(mention=m.model_copy(deep=True), score=float(key[0]) if relevance else None)
            if request.highlight and flt.query is not None:
                for name, value in (("title", m.title), ("text", m.text)):
                    fragment = flt.query.snippet(value, max_words=1_000_000 if name == "title" else 32)
                    if fragment:
                        hit.highlights[name] = [fragment]
            hits.append(hit)
        next_cursor = encode_cursor(request.sort, list(page[-1][0])) if len(keyed) > request.limit else None
        return SearchPage(hits=hits, next_cursor=next_cursor, total=len(found) if not request.cursor else None)

    def count(self, flt: MentionFilter) -> int:
        return len(self._matching(flt))

    def timeline(self, flt: MentionFilter, interval_s: int, split_by: SplitBy = "sentiment") -> list[Bucket]:
        _check_interval(interval_s)
        totals: Counter[datetime] = Counter()
        splits: dict[datetime, Counter[str]] = {}
        for m in self._matching(flt):
            start = bucket_start(m.published_at, interval_s)
            totals[start] += 1
            counts = splits.setdefault(start, Counter())
            if split_by == "sentiment":
                counts[m.sentiment_label or UNSCORED] += 1
            elif split_by == "source":
                counts[m.source] += 1
            elif split_by == "brand":
                counts.update(set(m.brands))
            else:
                counts["all"] += 1
        return [Bucket(start=s, total=totals[s], counts=dict(splits[s])) for s in sorted(totals)]

    def top(self, flt: MentionFilter, field: TopField, size: int = 10) -> list[tuple[str, int]]:
        counts: Counter[str] = Counter()
        for m in self._matching(flt):
            if field == "brand":
                counts.update(set(m.brands))
                continue
            value = {"site": m.site, "author": m.author, "source": m.source, "language": m.language}[field]
            if value:
                counts[value] += 1
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:size]

    def delete_mentions(self, flt: MentionFilter) -> int:
        with self._lock:
            doomed = [m.id for m in self._matching(flt)]
            for i in doomed:
                del self._mentions[i]
        return len(doomed)

    # per-source state ---------------------------------------------------------
    def get_cursor(self, source: str) -> str | None:
        with self._lock:
            return self._cursors.get(source)

    def set_cursor(self, source: str, value: str) -> None:
        with self._lock:
            self._cursors[source] = value

    def record_source_run(self, run: SourceRun) -> None:
        with self._lock:
            self._runs.append(run.model_copy(deep=True))

    def source_runs(self, source: str | None = None, limit: int = 20) -> list[SourceRun]:
        with self._lock:
            runs = [r for r in self._runs if source is None or r.source == source]
        runs.sort(key=lambda r: r.started_at, reverse=True)
        return [r.model_copy(deep=True) for r in runs[:limit]]

    # alerts -------------------------------------------------------------------
    def save_alert(self, alert: Alert) -> None:
        with self._lock:
            self._alerts[alert.id] = alert.model_copy(deep=True)

    def get_alert(self, alert_id: str) -> Alert | None:
        with self._lock:
            a = self._alerts.get(alert_id)
            return a.model_copy(deep=True) if a else None

    def get_alert_by_key(self, key: str) -> Alert | None:
        with self._lock:
            found = [a for a in self._alerts.values() if a.key == key]
        if not found:
            return None
        return max(found, key=lambda a: (a.updated_at, a.opened_at, a.id)).model_copy(deep=True)

    def list_alerts(
        self, status: AlertStatus | None = None, since: datetime | None = None, limit: int = 100
    ) -> list[Alert]:
        with self._lock:
            found = [
                a
                for a in self._alerts.values()
                if (status is None or a.status == status) and (since is None or a.updated_at >= as_utc(since))
            ]
        found.sort(key=lambda a: (a.updated_at, a.id), reverse=True)
        return [a.model_copy(deep=True) for a in found[:limit]]

    # notification outbox ----------------------------------------------------------
    def enqueue(self, message: OutboxMessage) -> bool:
        with self._lock:
            if any(m.channel == message.channel and m.dedup_key == message.dedup_key for m in self._outbox.values()):
                return False
            self._outbox[message.id] = message.model_copy(deep=True)
            return True

    def due_messages(self, now: datetime, limit: int = 100) -> list[OutboxMessage]:
        now = as_utc(now)
        with self._lock:
            due = [m for m in self._outbox.values() if m.sent_at is None and not m.dead and m.next_attempt_at <= now]
        due.sort(key=lambda m: (m.next_attempt_at, m.created_at, m.id))
        return [m.model_copy(deep=True) for m in due[:limit]]

    def update_message(self, message: OutboxMessage) -> None:
        with self._lock:
            if message.id not in self._outbox:
                raise NotFoundError(f"outbox message {message.id!r} does not exist; enqueue it first")
            self._outbox[message.id] = message.model_copy(deep=True)

    # api keys -----------------------------------------------------------------------
    def save_api_key(self, key: ApiKey) -> None:
        with self._lock:
            self._keys[key.id] = key.model_copy(deep=True)

    def find_api_key(self, key_hash: str) -> ApiKey | None:
        with self._lock:
            for k in self._keys.values():
                if k.key_hash == key_hash:
                    return k.model_copy(deep=True)
        return None

    def list_api_keys(self) -> list[ApiKey]:
        with self._lock:
            keys = sorted(self._keys.values(), key=lambda k: (k.created_at, k.id))
        return [k.model_copy(deep=True) for k in keys]
