"""SQLite-specific behaviour beyond the shared contract: files, migrations, time-key rowids,
threads, and the store URL factory."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from earshot.errors import ConfigError, StoreError
from earshot.query import parse
from store import open_store
from store.base import MentionFilter, SearchRequest
from store.memory import MemoryStore
from store.sqlite import MIGRATIONS, SQLiteStore
from store.sqlite_query import time_rowid_base, to_us
from tests.store.test_contract import CORPUS, T0, mention


def test_open_store_urls(tmp_path: Path) -> None:
    assert isinstance(open_store("memory://"), MemoryStore)
    rel = open_store("sqlite:///var/x.db")
    assert isinstance(rel, SQLiteStore) and rel.path == "var/x.db"
    absolute = open_store(f"sqlite:///{tmp_path}/e.db")
    assert isinstance(absolute, SQLiteStore) and absolute.path == f"{tmp_path}/e.db"
    with pytest.raises(ConfigError, match="'ftp://x'"):
        open_store("ftp://x")
    with pytest.raises(ConfigError, match="no database path"):
        open_store("sqlite://")
    with pytest.raises(ConfigError):
        open_store("")


def test_file_persists_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "earshot.db"
    with SQLiteStore(path) as s:
        s.upsert_mentions(CORPUS)
    with SQLiteStore(path) as s:
        assert s.count(MentionFilter()) == len(CORPUS)
        assert s._conn is not None
        assert s._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s._conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] == len(MIGRATIONS)


def test_unusable_path_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises((StoreError, OSError)):
        SQLiteStore(blocker / "earshot.db").open()
    not_db = tmp_path / "not.db"
    not_db.write_text("this is not a database" * 100)
    with pytest.raises(StoreError, match=r"not\.db"):
        SQLiteStore(not_db).open()


def test_use_before_open_says_so(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not open"):
        SQLiteStore(tmp_path / "e.db").count(MentionFilter())


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "e.db"
    with SQLiteStore(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_version VALUES (99)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="upgrade Earshot"):
        SQLiteStore(path).open()


def test_migration_from_v1_renumbers_rowids_and_keeps_search(tmp_path: Path) -> None:
    """A file written by schema 1 (sequential rowids) is upgraded in place."""
    path = tmp_path / "old.db"
    v1 = MIGRATIONS[0]
    assert isinstance(v1, str)
    conn = sqlite3.connect(path)
    conn.executescript(v1)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (1)")
    conn.commit()
    conn.close()
    # Fill it the way schema 1 did: rowid 1, 2, 3... and the FTS index keyed by them.
    from store import sqlite as sqlite_mod

    conn = sqlite3.connect(path)
    for i, m in enumerate(CORPUS, start=1):
        row = sqlite_mod._row(m, i)
        conn.execute(f"INSERT INTO mentions VALUES ({','.join('?' * 15)})", row)
        conn.execute("INSERT INTO mentions_fts (rowid, title, text) VALUES (?, ?, ?)", (i, *sqlite_mod._fts_values(m)))
        for b in m.brands:
            conn.execute(
                "INSERT INTO mention_brands VALUES (?, ?, ?, ?, ?)", (b.lower(), row[11], i, b, m.sentiment_label)
            )
    conn.execute("INSERT INTO meta VALUES ('fts_words', '1')")
    conn.commit()
    conn.close()
    with SQLiteStore(path) as s:
        assert s._conn is not None
        rowids = dict(s._conn.execute("SELECT id, rowid FROM mentions"))
        for m in CORPUS:
            assert (
                time_rowid_base(to_us(m.published_at))
                <= rowids[m.id]
                < time_rowid_base(to_us(m.published_at)) + (1 << 30)
            )
        assert {m.id for m in s.iter_mentions(MentionFilter(query=parse("refund"), brands=["acme"]))} == {
            "reddit-1",
            "hn-4",
            "reddit-6",
        }
        day = MentionFilter(since=T0 - timedelta(hours=12), until=T0 + timedelta(hours=12), query=parse("nordlys"))
        assert [m.id for m in s.iter_mentions(day)] == ["review-3", "mastodon-2"]


def test_moving_published_at_moves_the_time_key(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "e.db") as s:
        m = mention("mv", "acme moved", at=T0)
        s.upsert_mentions([m])
        later = m.model_copy(update={"published_at": T0 + timedelta(days=40)})
        result = s.upsert_mentions([later])
        assert (result.inserted, result.updated) == (0, 1)
        assert s.count(MentionFilter()) == 1
        window = MentionFilter(query=parse("acme"), since=T0 + timedelta(days=39), until=T0 + timedelta(days=41))
        assert [x.id for x in s.iter_mentions(window)] == [m.id]
        assert s.count(MentionFilter(query=parse("acme"), until=T0 + timedelta(days=1))) == 0


def test_same_second_mentions_get_distinct_keys(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "e.db") as s:
        s.upsert_mentions([mention(f"s{i}", f"acme {i}", at=T0) for i in range(50)])
        s.upsert_mentions([mention(f"t{i}", f"acme {i}", at=T0 + timedelta(microseconds=5)) for i in range(50)])
        assert s.count(MentionFilter(query=parse("acme"), since=T0, until=T0 + timedelta(seconds=1))) == 100


def test_threads_share_one_store(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "e.db") as s:
        errors: list[BaseException] = []

        def writer(k: int) -> None:
            try:
                for j in range(20):
                    s.upsert_mentions([mention(f"w{k}-{j}", f"acme thread {k}", at=T0 + timedelta(seconds=j))])
                    s.search(SearchRequest(filter=MentionFilter(query=parse("acme")), limit=5))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert s.count(MentionFilter(query=parse("thread"))) == 80


def test_two_connections_on_one_file(tmp_path: Path) -> None:
    """An API process and a worker process share the file (WAL)."""
    path = tmp_path / "e.db"
    with SQLiteStore(path) as api, SQLiteStore(path) as worker:
        worker.upsert_mentions(CORPUS)
        assert api.count(MentionFilter(query=parse("acme"))) == 4


def test_each_thread_reads_on_its_own_connection_and_sees_committed_writes(tmp_path: Path) -> None:
    """Readers run in parallel (one connection per thread) and still read what was committed."""
    with SQLiteStore(tmp_path / "e.db") as s:
        s.upsert_mentions([mention("seed", "acme seed")])
        seen: dict[int, int] = {}
        connections: set[int] = set()
        lock = threading.Lock()

        def reader(k: int) -> None:
            with s._read() as conn, lock:
                connections.add(id(conn))
            n = s.count(MentionFilter(query=parse("acme")))
            with lock:
                seen[k] = n

        s.upsert_mentions([mention("late", "acme late")])  # committed before any reader starts
        threads = [threading.Thread(target=reader, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert seen == {k: 2 for k in range(4)}
        assert len(connections) == 4


def test_reopened_store_does_not_reuse_closed_readers(tmp_path: Path) -> None:
    s = SQLiteStore(tmp_path / "e.db")
    with s:
        s.upsert_mentions([mention("a", "acme one")])
        assert s.count(MentionFilter()) == 1
    with pytest.raises(StoreError, match="not open"):
        s.count(MentionFilter())
    with s:
        s.upsert_mentions([mention("b", "acme two")])
        assert s.count(MentionFilter()) == 2
