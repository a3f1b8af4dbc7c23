"""Mention stores: the `MentionStore` contract (``store.base``) and its backends.

:func:`open_store` turns a store URL into a backend instance (not yet opened):

* ``memory://`` → :class:`store.memory.MemoryStore` (tests, demos);
* ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` → :class:`store.sqlite.SQLiteStore`;
* ``http://…`` / ``https://…`` → :class:`store.elasticsearch.ElasticsearchStore` (the ``es`` extra).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from earshot.errors import ConfigError

if TYPE_CHECKING:
    from store.base import MentionStore

__all__ = ["open_store"]


def open_store(url: str) -> MentionStore:
    """The backend for ``url``; call ``open()`` (or use ``with``) before use."""
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"store url must be a non-empty string, not {url!r}; use sqlite:///path.db")
    url = url.strip()
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "memory":
        from store.memory import MemoryStore

        return MemoryStore(url)
    if scheme == "sqlite":
        path = url[len("sqlite:///") :] if url.lower().startswith("sqlite:///") else ""
        if not path:
            raise ConfigError(
                f"store url {url!r} has no database path; use sqlite:///relative.db or sqlite:////absolute/path.db"
            )
        from store.sqlite import SQLiteStore

        return SQLiteStore(path, url=url)
    if scheme in ("http", "https"):
        from store.elasticsearch import ElasticsearchStore  # type: ignore[import-not-found,unused-ignore]

        es_store: MentionStore = ElasticsearchStore(url)
        return es_store
    raise ConfigError(
        f"unknown store url {url!r}: use memory://, sqlite:///path.db or http(s)://host:9200 for Elasticsearch"
    )
