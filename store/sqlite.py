"""Embedded `MentionStore` on SQLite: one file, WAL, FTS5 full-text index.

Layout (see ``MIGRATIONS``): ``mentions`` keeps each mention as JSON plus the
columns that filters, sorting and aggregations need (folded keys, microsecond
timestamps); ``mention_brands`` has one row per (mention, brand) so brand +
time-range queries walk an index; ``mentions_fts`` is a contentless FTS5 table
over the *folded* words of title and text (``unicode61 remove_diacritics 2``),
kept in sync by this module inside the same transaction as the row it indexes.
Operational state (cursors, source runs, alerts, outbox, API keys) has its own
small tables.

Writes go through one connection behind a lock (IMMEDIATE transactions, so
allocated rowids stay ours). Reads use one connection per thread: under WAL
readers do not block each other or the writer, so concurrent API requests run
in parallel instead of queueing on the lock. Other processes can read and
write the same file concurrently thanks to WAL and a busy timeout.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from earshot.errors import InputError, NotFoundError, StoreError
from earshot.models import Alert, AlertStatus, ApiKey, Mention, OutboxMessage, SourceRun, fold, utcnow
from earshot.query import words
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
from store.sqlite_query import COUNTER_BITS, SQL, compile_filter, from_us, score_sql, time_rowid_base, to_us

log = logging.getLogger(__name__)

#: Bumped when ``earshot.query.words`` changes what is indexed: the FTS index is rebuilt on open.
FTS_WORDS_VERSION = "1"
_BATCH = 500


def _renumber_by_time(conn: sqlite3.Connection) -> None:
    """Migration 2: give existing mentions time-key rowids (and rebuild what points at them)."""
    rows = conn.execute("SELECT rowid, published_us FROM mentions ORDER BY published_us, id").fetchall()
    used: dict[int, int] = {}
    remap: list[tuple[int, int]] = []
    for old, published_us in rows:
        base = time_rowid_base(published_us)
        n = used.get(base, 0)
        used[base] = n + 1
        remap.append((old, base + n))
    conn.execute("CREATE TEMP TABLE remap (old INTEGER PRIMARY KEY, new INTEGER NOT NULL)")
    conn.executemany("INSERT INTO remap VALUES (?, ?)", remap)
    conn.execute("UPDATE mentions SET rowid = -rowid")  # out of the way of the new keys
    conn.execute("UPDATE mentions SET rowid = (SELECT new FROM remap WHERE old = -mentions.rowid)")
    conn.execute(
        "UPDATE mention_brands SET mention_rowid = (SELECT new FROM remap WHERE old = mention_brands.mention_rowid)"
    )
    conn.execute("DROP TABLE remap")
    conn.execute("DELETE FROM meta WHERE key = 'fts_words'")  # the FTS index is rebuilt after migrating


MIGRATIONS: list[str | Callable[[sqlite3.Connection], None]] = [
    # 1: initial schema
    """
    CREATE TABLE mentions (
        rowid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        source TEXT NOT NULL,
        source_key TEXT NOT NULL,
        language TEXT NOT NULL,
        language_key TEXT NOT NULL,
        author TEXT,
        author_key TEXT,
        site TEXT,
        site_key TEXT,
        sentiment TEXT,
        published_us INTEGER NOT NULL,
        duplicate_of TEXT,
        doc_hash TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX mentions_time ON mentions (published_us, id);
    CREATE INDEX mentions_source_time ON mentions (source_key, published_us);
    CREATE TABLE mention_brands (
        brand_key TEXT NOT NULL,
        published_us INTEGER NOT NULL,
        mention_rowid INTEGER NOT NULL,
        brand TEXT NOT NULL,
        sentiment TEXT,
        PRIMARY KEY (brand_key, published_us, mention_rowid)
    ) WITHOUT ROWID;
    CREATE INDEX mention_brands_mention ON mention_brands (mention_rowid);
    CREATE VIRTUAL TABLE mentions_fts USING fts5(
        title, text, content='', tokenize='unicode61 remove_diacritics 2'
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE source_cursors (source TEXT PRIMARY KEY, value TEXT NOT NULL, updated_us INTEGER NOT NULL);
    CREATE TABLE source_runs (
        seq INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        started_us INTEGER NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX source_runs_source ON source_runs (source, started_us);
    CREATE INDEX source_runs_started ON source_runs (started_us);
    CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        key TEXT NOT NULL,
        status TEXT NOT NULL,
        opened_us INTEGER NOT NULL,
        updated_us INTEGER NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX alerts_key ON alerts (key, updated_us);
    CREATE INDEX alerts_updated ON alerts (updated_us);
    CREATE TABLE outbox (
        id TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        dedup_key TEXT NOT NULL,
        pending INTEGER NOT NULL,
        next_attempt_us INTEGER NOT NULL,
        created_us INTEGER NOT NULL,
        doc TEXT NOT NULL,
        UNIQUE (channel, dedup_key)
    );
    CREATE INDEX outbox_due ON outbox (pending, next_attempt_us);
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        key_hash TEXT NOT NULL,
        created_us INTEGER NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX api_keys_hash ON api_keys (key_hash);
    """,
    # 2: mention rowids become time keys (see time_rowid_base)
    _renumber_by_time,
]


def _fts_values(mention: Mention) -> tuple[str, str]:
    """What the FTS index holds for a mention: its folded words, space-separated."""
    return " ".join(words(mention.title)), " ".join(words(mention.text))


def _doc_hash(mention: Mention) -> str:
    """Content identity for idempotent upsert: everything but ``collected_at``."""
    body = mention.model_dump_json(exclude={"collected_at"})
    return hashlib.blake2b(body.encode(), digest_size=16).hexdigest()


def _id_slot(mention_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(mention_id.encode(), digest_size=8).digest(), "big")


def _key(value: str | None) -> str | None:
    return fold(value) if value else None


def _row(mention: Mention, rowid: int) -> tuple[Any, ...]:
    return (
        rowid,
        mention.id,
        mention.source,
        fold(mention.source),
        mention.language,
        fold(mention.language),
        mention.author,
        _key(mention.author),
        mention.site,
        _key(mention.site),
        mention.sentiment_label,
        to_us(mention.published_at),
        mention.duplicate_of,
        _doc_hash(mention),
        mention.model_dump_json(),
    )


class SQLiteStore(MentionStore):
    """The embedded store (``sqlite:///path.db``)."""

    def __init__(self, path: str | os.PathLike[str], *, url: str | None = None, timeout_s: float = 10.0) -> None:
        self.path = str(path)
        self.url = url or f"sqlite:///{self.path}"
        self.timeout_s = timeout_s
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        # Per-thread readers; ``_generation`` changes on close so a reopened store never
        # hands out a reader of the previous opening.
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._generation = 0

    # lifecycle --------------------------------------------------------------
    def open(self) -> None:
        with self._lock:
            if self._conn is not None:
                return
            if self.path != ":memory:":
                Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            try:
                conn = sqlite3.connect(
                    os.path.expanduser(self.path),
                    timeout=self.timeout_s,
                    check_same_thread=False,
                    isolation_level=None,  # explicit BEGIN/COMMIT below
                )
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA temp_store=MEMORY")
                conn.execute("PRAGMA cache_size=-65536")
                conn.execute("PRAGMA mmap_size=268435456")
                self._migrate(conn)
            except sqlite3.Error as exc:
                raise StoreError(
                    f"cannot open SQLite store {self.path!r}: {exc}; check the path and its permissions"
                ) from exc
            self._conn = conn
            log.info("store_opened backend=sqlite path=%s", self.path)

    def close(self) -> None:
        with self._lock:
            self._generation += 1
            for reader in self._readers:
                with contextlib.suppress(sqlite3.Error):
                    reader.close()
            self._readers.clear()
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):  # best effort: refresh planner statistics
                    self._conn.execute("PRAGMA optimize")
                self._conn.close()
                self._conn = None

    def ping(self) -> bool:
        try:
            with self._read() as conn:
                conn.execute("SELECT 1").fetchone()
            return True
        except (sqlite3.Error, StoreError):
            return False

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
            current = row[0] or 0
            if current > len(MIGRATIONS):
                raise StoreError(
                    f"SQLite store {self.path!r} has schema version {current}, newer than this Earshot "
                    f"({len(MIGRATIONS)}); upgrade Earshot"
                )
            for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
                if callable(script):
                    script(conn)
                else:
                    for statement in script.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
                log.info("store_migrated backend=sqlite path=%s version=%d", self.path, version)
            indexed = conn.execute("SELECT value FROM meta WHERE key = 'fts_words'").fetchone()
            if indexed is None or indexed[0] != FTS_WORDS_VERSION:
                self._rebuild_fts(conn)
                conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('fts_words', ?)", (FTS_WORDS_VERSION,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _rebuild_fts(self, conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO mentions_fts (mentions_fts) VALUES ('delete-all')")
        rows = conn.execute("SELECT rowid, doc FROM mentions").fetchall()
        conn.executemany(
            "INSERT INTO mentions_fts (rowid, title, text) VALUES (?, ?, ?)",
            ((rowid, *_fts_values(Mention.model_validate_json(doc))) for rowid, doc in rows),
        )

    def _not_open(self) -> StoreError:
        return StoreError(f"SQLite store {self.path!r} is not open; call open() or use 'with store:'")

    @contextmanager
    def _locked(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn is None:
                raise self._not_open()
            yield self._conn

    def _reader(self) -> sqlite3.Connection | None:
        """This thread's read connection; ``None`` for an in-memory database (one connection only)."""
        if self.path == ":memory:" or self.path.startswith("file::memory:"):
            return None
        cached = getattr(self._local, "reader", None)
        if cached is not None and cached[0] == self._generation:
            conn: sqlite3.Connection = cached[1]
            return conn
        with self._lock:
            if self._conn is None:
                raise self._not_open()
            try:
                conn = sqlite3.connect(
                    os.path.expanduser(self.path),
                    timeout=self.timeout_s,
                    check_same_thread=False,  # closed by close(), possibly from another thread
                    isolation_level=None,
                )
                conn.execute("PRAGMA query_only=1")
                conn.execute("PRAGMA temp_store=MEMORY")
                conn.execute("PRAGMA cache_size=-16384")
                conn.execute("PRAGMA mmap_size=268435456")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open a reader on SQLite store {self.path!r}: {exc}") from exc
            self._readers.append(conn)
            self._local.reader = (self._generation, conn)
            return conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        if self._conn is None:
            raise self._not_open()
        reader = self._reader()
        if reader is None:
            with self._locked() as conn:
                yield conn
            return
        yield reader

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: the write lock is taken up front, so allocated rowids stay ours."""
        with self._locked() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # mentions ---------------------------------------------------------------
    def upsert_mentions(self, mentions: Iterable[Mention]) -> UpsertResult:
        inserted = updated = unchanged = 0
        batch: list[Mention] = []
        for m in mentions:
            batch.append(m)
            if len(batch) >= 5000:
                i, u, n = self._upsert_batch(batch)
                inserted, updated, unchanged = inserted + i, updated + u, unchanged + n
                batch = []
        if batch:
            i, u, n = self._upsert_batch(batch)
            inserted, updated, unchanged = inserted + i, updated + u, unchanged + n
        return UpsertResult(inserted=inserted, updated=updated, unchanged=unchanged)

    def _upsert_batch(self, batch: list[Mention]) -> tuple[int, int, int]:
        # The last occurrence of an id in one batch wins, as if upserted one by one.
        latest = {m.id: m for m in batch}
        new_rows: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        fts_deletes: list[tuple[Any, ...]] = []
        fts_inserts: list[tuple[Any, ...]] = []
        brand_rows: list[tuple[Any, ...]] = []
        changed_rowids: list[tuple[int]] = []
        moved: list[tuple[int]] = []
        unchanged = n_moved = 0
        with self._write() as conn:
            existing: dict[str, tuple[int, str, str]] = {}
            ids = list(latest)
            for start in range(0, len(ids), _BATCH):
                chunk = ids[start : start + _BATCH]
                for rowid, mid, doc_hash, doc in conn.execute(
                    f"SELECT rowid, id, doc_hash, doc FROM mentions WHERE id IN ({','.join('?' * len(chunk))})", chunk
                ):
                    existing[mid] = (rowid, doc_hash, doc)
            # A new mention's rowid is its second's base plus a slot from a hash of its id, so
            # a batch needs one existence check per 500 rows instead of one query per second.
            slot_mask = (1 << COUNTER_BITS) - 1
            wanted = {
                m.id: time_rowid_base(to_us(m.published_at)) + (_id_slot(m.id) & slot_mask) for m in latest.values()
            }
            taken: set[int] = set()
            candidates = list(wanted.values())
            for start in range(0, len(candidates), _BATCH):
                slots = candidates[start : start + _BATCH]
                marks = ",".join("?" * len(slots))
                taken.update(r for (r,) in conn.execute(f"SELECT rowid FROM mentions WHERE rowid IN ({marks})", slots))
            checked = set(candidates)

            def allocate(m: Mention) -> int:
                base = time_rowid_base(to_us(m.published_at))
                rowid = wanted[m.id]
                while True:
                    if rowid not in checked:
                        checked.add(rowid)
                        if conn.execute("SELECT 1 FROM mentions WHERE rowid = ?", (rowid,)).fetchone():
                            taken.add(rowid)
                    if rowid not in taken:
                        taken.add(rowid)
                        return rowid
                    rowid = base + ((rowid - base + 1) & slot_mask)

            for m in latest.values():
                old = existing.get(m.id)
                published = to_us(m.published_at)
                if old is not None:
                    rowid, old_hash, old_doc = old
                    old_mention = Mention.model_validate_json(old_doc)
                    # The first collection time is kept: re-crawling is not new content.
                    m = m.model_copy(update={"collected_at": old_mention.collected_at})
                    row = _row(m, rowid)
                    if row[13] == old_hash:
                        unchanged += 1
                        continue
                    fts_deletes.append((rowid, *_fts_values(old_mention)))
                    changed_rowids.append((rowid,))
                    if time_rowid_base(published) == time_rowid_base(to_us(old_mention.published_at)):
                        updates.append((*row[2:], rowid))
                    else:
                        # Moved to another second: its rowid (a time key) moves with it.
                        moved.append((rowid,))
                        rowid = allocate(m)
                        row = _row(m, rowid)
                        new_rows.append(row)
                        n_moved += 1
                else:
                    rowid = allocate(m)
                    row = _row(m, rowid)
                    new_rows.append(row)
                fts_inserts.append((rowid, *_fts_values(m)))
                brand_rows.extend(
                    (key, published, rowid, brand, m.sentiment_label)
                    for key, brand in {fold(b): b for b in m.brands}.items()
                )
            if fts_deletes:
                conn.executemany(
                    "INSERT INTO mentions_fts (mentions_fts, rowid, title, text) VALUES ('delete', ?, ?, ?)",
                    fts_deletes,
                )
                conn.executemany("DELETE FROM mention_brands WHERE mention_rowid = ?", changed_rowids)
                conn.executemany("DELETE FROM mentions WHERE rowid = ?", moved)
            if updates:
                conn.executemany(
                    "UPDATE mentions SET source=?, source_key=?, language=?, language_key=?, author=?, author_key=?,"
                    " site=?, site_key=?, sentiment=?, published_us=?, duplicate_of=?, doc_hash=?, doc=?"
                    " WHERE rowid = ?",
                    updates,
                )
            if new_rows:
                conn.executemany(f"INSERT INTO mentions VALUES ({','.join('?' * 15)})", new_rows)
            conn.executemany("INSERT INTO mentions_fts (rowid, title, text) VALUES (?, ?, ?)", fts_inserts)
            conn.executemany("INSERT OR REPLACE INTO mention_brands VALUES (?, ?, ?, ?, ?)", brand_rows)
        return len(new_rows) - n_moved, len(updates) + n_moved, unchanged

    def get_mention(self, mention_id: str) -> Mention | None:
        with self._read() as conn:
            row = conn.execute("SELECT doc FROM mentions WHERE id = ?", (mention_id,)).fetchone()
        return Mention.model_validate_json(row[0]) if row else None

    def get_mentions(self, ids: Sequence[str]) -> dict[str, Mention]:
        out: dict[str, Mention] = {}
        unique = list(dict.fromkeys(ids))
        with self._read() as conn:
            for start in range(0, len(unique), _BATCH):
                chunk = unique[start : start + _BATCH]
                for mid, doc in conn.execute(
                    f"SELECT id, doc FROM mentions WHERE id IN ({','.join('?' * len(chunk))})", chunk
                ):
                    out[mid] = Mention.model_validate_json(doc)
        return out

    def search(self, request: SearchRequest) -> SearchPage:
        if request.limit <= 0:
            raise InputError(f"limit must be a positive number, not {request.limit!r}")
        flt = request.filter
        sql = compile_filter(flt)
        where, params = sql.clause(), list(sql.params)
        relevance = request.sort == "relevance" and flt.query is not None
        if relevance:
            assert flt.query is not None
            score, score_params = score_sql(flt.query.root, sql.rowid_range, sql.rowid_col)
        else:
            score, score_params = "NULL", []
        if request.cursor:
            if relevance:
                last_score, last_us, last_id = decode_cursor(request.cursor, request.sort, 3)
                where += f" AND ({score} < ? OR ({score} = ? AND (m.published_us, m.id) < (?, ?)))"
                params += [*score_params, last_score, *score_params, last_score, last_us, last_id]
            else:
                last_us, last_id = decode_cursor(request.cursor, request.sort, 2)
                where += " AND (m.published_us, m.id) < (?, ?)"
                params += [last_us, last_id]
        order = "score DESC, m.published_us DESC, m.id DESC" if relevance else "m.published_us DESC, m.id DESC"
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {score} AS score, m.published_us, m.id, m.doc FROM {sql.source} WHERE {where}"
                f" ORDER BY {order} LIMIT ?",
                [*score_params, *params, request.limit + 1],
            ).fetchall()
            total = None
            if not request.cursor:
                total = self._count(conn, sql)
        page = rows[: request.limit]
        hits = [self._hit(request, doc, float(s) if relevance else None) for s, _, _, doc in page]
        next_cursor = None
        if len(rows) > request.limit:
            s, us, mid, _ = page[-1]
            next_cursor = encode_cursor(request.sort, [float(s), us, mid] if relevance else [us, mid])
        return SearchPage(hits=hits, next_cursor=next_cursor, total=total)

    @staticmethod
    def _hit(request: SearchRequest, doc: str, score: float | None) -> SearchHit:
        mention = Mention.model_validate_json(doc)
        hit = SearchHit(mention=mention, score=score)
        query = request.filter.query
        if request.highlight and query is not None:
            # Highlights come from the same word rules as matching (earshot.query), on the
            # original text: the FTS index holds folded words only.
            title = query.snippet(mention.title, max_words=1_000_000)
            text = query.snippet(mention.text)
            if title:
                hit.highlights["title"] = [title]
            if text:
                hit.highlights["text"] = [text]
        return hit

    def count(self, flt: MentionFilter) -> int:
        sql = compile_filter(flt)
        with self._read() as conn:
            return self._count(conn, sql)

    @staticmethod
    def _count(conn: sqlite3.Connection, sql: SQL) -> int:
        return int(conn.execute(f"SELECT count(*) FROM {sql.source} WHERE {sql.clause()}", sql.params).fetchone()[0])

    def timeline(self, flt: MentionFilter, interval_s: int, split_by: SplitBy = "sentiment") -> list[Bucket]:
        if interval_s <= 0:
            raise InputError(f"timeline interval must be a positive number of seconds, not {interval_s!r}")
        sql = compile_filter(flt)
        width = interval_s * 1_000_000
        # Floor division (SQLite's / truncates toward zero) so buckets stay epoch-aligned before 1970 too.
        bucket = f"(m.published_us / {width} - (m.published_us % {width} < 0))"
        where = sql.clause()
        value = {"sentiment": "coalesce(m.sentiment, 'unscored')", "source": "m.source", "none": "'all'"}.get(split_by)
        totals: dict[int, int] = {}
        counts: dict[int, dict[str, int]] = {}
        with self._read() as conn:
            if value is not None:
                # Each mention has exactly one value here, so one pass gives the totals too.
                split_sql = f"SELECT {bucket} AS bkt, {value}, count(*) FROM {sql.source} WHERE {where} GROUP BY bkt, 2"
            else:
                totals = dict(
                    conn.execute(
                        f"SELECT {bucket} AS bkt, count(*) FROM {sql.source} WHERE {where} GROUP BY bkt", sql.params
                    ).fetchall()
                )
                split_sql = (
                    f"SELECT {bucket} AS bkt, mb.brand, count(*) FROM {sql.source}"
                    f" JOIN mention_brands mb ON mb.mention_rowid = m.rowid WHERE {where} GROUP BY bkt, 2"
                )
            for b, key, n in conn.execute(split_sql, sql.params):
                bucket_counts = counts.setdefault(b, {})
                bucket_counts[key] = bucket_counts.get(key, 0) + n
                if value is not None:
                    totals[b] = totals.get(b, 0) + n
        for b in totals:
            counts.setdefault(b, {})
        return [Bucket(start=from_us(b * width), total=totals[b], counts=counts[b]) for b in sorted(totals)]

    def top(self, flt: MentionFilter, field: TopField, size: int = 10) -> list[tuple[str, int]]:
        sql = compile_filter(flt)
        if field == "brand":
            query = (
                f"SELECT mb.brand AS v, count(*) AS n FROM {sql.source}"
                " JOIN mention_brands mb ON mb.mention_rowid = m.rowid"
                f" WHERE {sql.clause()} GROUP BY v ORDER BY n DESC, v LIMIT ?"
            )
        else:
            column = {"site": "m.site", "author": "m.author", "source": "m.source", "language": "m.language"}[field]
            query = (
                f"SELECT {column} AS v, count(*) AS n FROM {sql.source} WHERE {sql.clause()} AND {column} IS NOT NULL"
                f" AND {column} != '' GROUP BY v ORDER BY n DESC, v LIMIT ?"
            )
        with self._read() as conn:
            return [(v, int(n)) for v, n in conn.execute(query, [*sql.params, size])]

    def delete_mentions(self, flt: MentionFilter) -> int:
        sql = compile_filter(flt)
        deleted = 0
        with self._write() as conn:
            rows = conn.execute(f"SELECT m.rowid, m.doc FROM {sql.source} WHERE {sql.clause()}", sql.params).fetchall()
            for start in range(0, len(rows), _BATCH):
                chunk = rows[start : start + _BATCH]
                conn.executemany(
                    "INSERT INTO mentions_fts (mentions_fts, rowid, title, text) VALUES ('delete', ?, ?, ?)",
                    [(rowid, *_fts_values(Mention.model_validate_json(doc))) for rowid, doc in chunk],
                )
                conn.executemany("DELETE FROM mention_brands WHERE mention_rowid = ?", [(r,) for r, _ in chunk])
                conn.executemany("DELETE FROM mentions WHERE rowid = ?", [(r,) for r, _ in chunk])
                deleted += len(chunk)
        log.info("mentions_deleted backend=sqlite count=%d", deleted)
        return deleted

    # per-source state ---------------------------------------------------------
    def get_cursor(self, source: str) -> str | None:
        with self._read() as conn:
            row = conn.execute("SELECT value FROM source_cursors WHERE source = ?", (source,)).fetchone()
        return row[0] if row else None

    def set_cursor(self, source: str, value: str) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO source_cursors (source, value, updated_us) VALUES (?, ?, ?)"
                " ON CONFLICT (source) DO UPDATE SET value = excluded.value, updated_us = excluded.updated_us",
                (source, value, to_us(utcnow())),
            )

    def record_source_run(self, run: SourceRun) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO source_runs (source, started_us, doc) VALUES (?, ?, ?)",
                (run.source, to_us(run.started_at), run.model_dump_json()),
            )

    def source_runs(self, source: str | None = None, limit: int = 20) -> list[SourceRun]:
        with self._read() as conn:
            if source is None:
                rows = conn.execute(
                    "SELECT doc FROM source_runs ORDER BY started_us DESC, seq DESC LIMIT ?", (limit,)
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT doc FROM source_runs WHERE source = ? ORDER BY started_us DESC, seq DESC LIMIT ?",
                    (source, limit),
                ).fetchall()
        return [SourceRun.model_validate_json(r[0]) for r in rows]

    # alerts -------------------------------------------------------------------
    def save_alert(self, alert: Alert) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO alerts (id, key, status, opened_us, updated_us, doc) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    alert.id,
                    alert.key,
                    alert.status.value,
                    to_us(alert.opened_at),
                    to_us(alert.updated_at),
                    alert.model_dump_json(),
                ),
            )

    def get_alert(self, alert_id: str) -> Alert | None:
        with self._read() as conn:
            row = conn.execute("SELECT doc FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        return Alert.model_validate_json(row[0]) if row else None

    def get_alert_by_key(self, key: str) -> Alert | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT doc FROM alerts WHERE key = ? ORDER BY updated_us DESC, opened_us DESC, id DESC LIMIT 1",
                (key,),
            ).fetchone()
        return Alert.model_validate_json(row[0]) if row else None

    def list_alerts(
        self, status: AlertStatus | None = None, since: datetime | None = None, limit: int = 100
    ) -> list[Alert]:
        where: list[str] = []
        params: list[Any] = []
        if status is not None:
            where.append("status = ?")
            params.append(AlertStatus(status).value)
        if since is not None:
            where.append("updated_us >= ?")
            params.append(to_us(since))
        clause = " AND ".join(where) or "1"
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT doc FROM alerts WHERE {clause} ORDER BY updated_us DESC, id DESC LIMIT ?", [*params, limit]
            ).fetchall()
        return [Alert.model_validate_json(r[0]) for r in rows]

    # notification outbox ----------------------------------------------------------
    @staticmethod
    def _outbox_row(message: OutboxMessage) -> tuple[Any, ...]:
        pending = int(message.sent_at is None and not message.dead)
        return (
            message.channel,
            message.dedup_key,
            pending,
            to_us(message.next_attempt_at),
            to_us(message.created_at),
            message.model_dump_json(),
        )

    def enqueue(self, message: OutboxMessage) -> bool:
        with self._write() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO outbox (channel, dedup_key, pending, next_attempt_us, created_us, doc, id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*self._outbox_row(message), message.id),
            )
            return cur.rowcount == 1

    def due_messages(self, now: datetime, limit: int = 100) -> list[OutboxMessage]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT doc FROM outbox WHERE pending = 1 AND next_attempt_us <= ?"
                " ORDER BY next_attempt_us, created_us, id LIMIT ?",
                (to_us(now), limit),
            ).fetchall()
        return [OutboxMessage.model_validate_json(r[0]) for r in rows]

    def update_message(self, message: OutboxMessage) -> None:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE outbox SET channel=?, dedup_key=?, pending=?, next_attempt_us=?, created_us=?, doc=?"
                " WHERE id = ?",
                (*self._outbox_row(message), message.id),
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"outbox message {message.id!r} does not exist; enqueue it first")

    # api keys -----------------------------------------------------------------------
    def save_api_key(self, key: ApiKey) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO api_keys (id, key_hash, created_us, doc) VALUES (?, ?, ?, ?)",
                (key.id, key.key_hash, to_us(key.created_at), key.model_dump_json()),
            )

    def find_api_key(self, key_hash: str) -> ApiKey | None:
        with self._read() as conn:
            row = conn.execute("SELECT doc FROM api_keys WHERE key_hash = ? LIMIT 1", (key_hash,)).fetchone()
        return ApiKey.model_validate_json(row[0]) if row else None

    def list_api_keys(self) -> list[ApiKey]:
        with self._read() as conn:
            rows = conn.execute("SELECT doc FROM api_keys ORDER BY created_us, id").fetchall()
        return [ApiKey.model_validate_json(r[0]) for r in rows]
