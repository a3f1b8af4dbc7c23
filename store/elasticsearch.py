"""Elasticsearch backend of the `MentionStore` contract (the ``es`` extra), for Elasticsearch 8 and 9.

Layout, for an index prefix ``P`` (default ``earshot``):

- mentions live in ``P-mentions-000001``, ``P-mentions-000002``… created from
  the index template ``P-mentions`` (explicit mappings). Reads go through the
  alias ``P-mentions``, new documents through the write alias
  ``P-mentions-write``, so :meth:`ElasticsearchStore.rollover` can start a new
  index without touching the code. ``_id`` is the mention id; an existing
  mention is always rewritten into the index that already holds it, so a
  rollover never duplicates it.
- small side indices hold the operational state: ``P-cursors``,
  ``P-source-runs``, ``P-alerts``, ``P-outbox``, ``P-api-keys``; their writes
  refresh at once so a read right after a write sees it.

Words are indexed twice: ``title``/``text`` under a whole-word analyzer
(lower case + ASCII folding, no stemming) for people using Kibana, and
``title_words``/``text_words``, the output of :func:`earshot.query.words`,
which the query compiler (:mod:`store.es_query`) searches so that every
backend matches exactly the same words. Field matches use ``f_*`` keyword
fields holding folded values.

Upserts are idempotent: each document carries a fingerprint of its content
(everything but ``collected_at``); an unchanged mention is not rewritten.
Bulk requests go through the official helper with exponential backoff on 429.

The client major version may be newer than the server: the compatibility
headers (``compatible-with=N``) are set to the server's major, so a 9.x client
talks to an 8.x cluster.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from earshot.errors import ConfigError, InputError, NotFoundError, StoreError, require
from earshot.models import Alert, AlertStatus, ApiKey, Mention, OutboxMessage, SourceRun, as_utc, fold
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
from store.es_query import compile_node, compile_scored

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from earshot.settings import Settings

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
UNSCORED = "unscored"
Refresh = bool | Literal["wait_for"]

_PREFIX_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,150}$")
_TOO_MANY_CLAUSES = re.compile(r"too_many_(nested_)?clauses|maxClauseCount|too many clauses", re.I)
_COMPAT_RE = re.compile(r"application/vnd\.elasticsearch\+([a-z-]+);\s*compatible-with=\d+")
# What never needs to come back from a search: the derived fields.
_DERIVED = ["title_words", "text_words", "f_*", "fingerprint", "published_us", "sentiment_split", "reach"]
_TOP_FIELDS: dict[str, str] = {
    "site": "site",
    "author": "author",
    "source": "source",
    "brand": "brands",
    "language": "language",
}
_SPLIT_FIELDS: dict[str, str] = {"sentiment": "sentiment_split", "source": "source", "brand": "brands"}

# -- mappings --------------------------------------------------------------------------

# Lucene refuses a term over 32766 bytes (and the whole document with it): 8000
# characters of up to 4 bytes stay below, and whole words that long do not occur.
_MAX_TOKEN = 8000
_ANALYSIS = {
    "tokenizer": {
        # Runs of letters and digits, like earshot.query.words (no stemming).
        "earshot_word_runs": {"type": "pattern", "pattern": "[^\\p{L}\\p{N}]+"},
        # The default whitespace tokenizer would cut words at 255 characters.
        "earshot_whitespace": {"type": "whitespace", "max_token_length": _MAX_TOKEN},
    },
    "filter": {"earshot_truncate": {"type": "truncate", "length": _MAX_TOKEN}},
    "analyzer": {
        "earshot_text": {
            "type": "custom",
            "tokenizer": "earshot_word_runs",
            "filter": ["lowercase", "asciifolding", "earshot_truncate"],
        },
        # title_words/text_words arrive folded and split by earshot.query.words.
        "earshot_words": {"type": "custom", "tokenizer": "earshot_whitespace"},
    },
}

_KW = {"type": "keyword"}
_LONG_KW = {"type": "keyword", "ignore_above": 2048}
_DATE = {"type": "date"}
_LONG = {"type": "long"}

MENTION_PROPERTIES: dict[str, Any] = {
    "id": _KW,
    "source": _KW,
    "source_id": _LONG_KW,
    "url": _LONG_KW,
    "canonical_url": _LONG_KW,
    "site": _KW,
    "author": {"type": "keyword", "ignore_above": 1024},
    "title": {"type": "text", "analyzer": "earshot_text"},
    "text": {"type": "text", "analyzer": "earshot_text"},
    "title_words": {"type": "text", "analyzer": "earshot_words"},
    "text_words": {"type": "text", "analyzer": "earshot_words"},
    "language": _KW,
    "published_at": _DATE,
    "published_us": _LONG,
    "collected_at": _DATE,
    "brands": _KW,
    "topics": _KW,
    "sentiment": {
        "properties": {
            "label": _KW,
            "model": _KW,
            "scores": {
                "properties": {
                    "negative": {"type": "float"},
                    "neutral": {"type": "float"},
                    "positive": {"type": "float"},
                }
            },
        }
    },
    "sentiment_split": _KW,
    "unscored_reason": _KW,
    "rating": {"type": "float"},
    "metrics": {"type": "object", "enabled": False},
    "reach": {"type": "float"},
    "content_hash": _KW,
    "duplicate_of": _KW,
    "raw": {"type": "object", "enabled": False},
    "fingerprint": _KW,
    "f_source": _KW,
    "f_language": _KW,
    "f_author": {"type": "keyword", "ignore_above": 1024},
    "f_site_domains": _KW,
    "f_brands": _KW,
    "f_sentiment": _KW,
}

SIDE_PROPERTIES: dict[str, dict[str, Any]] = {
    "cursors": {"source": _KW, "updated_at": _DATE},
    "source-runs": {"source": _KW, "started_at": _DATE, "started_us": _LONG, "status": _KW},
    "alerts": {
        "id": _KW,
        "key": _KW,
        "status": _KW,
        "rule": _KW,
        "brand": _KW,
        "opened_at": _DATE,
        "updated_at": _DATE,
        "opened_us": _LONG,
        "updated_us": _LONG,
    },
    "outbox": {
        "id": _KW,
        "channel": _KW,
        "dedup_key": {"type": "keyword", "ignore_above": 4096},
        "created_us": _LONG,
        "next_attempt_us": _LONG,
        "sent_at": _DATE,
        "dead": {"type": "boolean"},
    },
    "api-keys": {"id": _KW, "key_hash": _KW, "created_us": _LONG},
}


def _us(value: datetime) -> int:
    """Microseconds since the epoch: sort keys as precise as the in-memory store's."""
    ts = as_utc(value)
    delta = ts - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _site_value(site: str) -> str:
    value = fold(site).strip().rstrip(".")
    return value[4:] if value.startswith("www.") else value


def site_domains(site: str | None) -> list[str]:
    """The folded host and each parent domain: what ``site:`` may name."""
    if not site:
        return []
    host = fold(site)
    parts = host.split(".")
    return [".".join(parts[i:]) for i in range(len(parts)) if parts[i]] if "." in host else [host]


def _fingerprint(doc: dict[str, Any]) -> str:
    """Content identity for idempotent upsert: the mention's JSON without ``collected_at``."""
    content = {k: v for k, v in doc.items() if k != "collected_at"}
    return hashlib.blake2b(json.dumps(content, sort_keys=True).encode(), digest_size=16).hexdigest()


def mention_document(mention: Mention) -> dict[str, Any]:
    """The indexed document: the mention as JSON plus derived search fields."""
    from earshot.query import words

    doc = mention.model_dump(mode="json")
    fingerprint = _fingerprint(doc)
    doc.update(
        title_words=" ".join(words(mention.title)),
        text_words=" ".join(words(mention.text)),
        published_us=_us(mention.published_at),
        sentiment_split=mention.sentiment_label or UNSCORED,
        reach=float(mention.reach),
        fingerprint=fingerprint,
        f_source=fold(mention.source),
        f_language=fold(mention.language),
        f_author=fold(mention.author) if mention.author else None,
        f_site_domains=site_domains(mention.site),
        f_brands=[fold(b) for b in mention.brands],
        f_sentiment=fold(mention.sentiment_label) if mention.sentiment_label else None,
    )
    return doc


_MENTION_FIELDS = frozenset(Mention.model_fields)


def _mention_from(source: dict[str, Any]) -> Mention:
    return Mention.model_validate({k: v for k, v in source.items() if k in _MENTION_FIELDS})


def _doc_id(value: str) -> str:
    """An ``_id`` for a free-form key (ids are limited to 512 bytes)."""
    if len(value.encode()) <= 200:
        return value
    return "h:" + hashlib.blake2b(value.encode(), digest_size=20).hexdigest()


def _outbox_id(channel: str, dedup_key: str) -> str:
    return hashlib.blake2b(f"{channel}\x1f{dedup_key}".encode(), digest_size=20).hexdigest()


def _redact(url: str) -> tuple[str, str | None, str | None]:
    """(url without credentials, username, password) of an ``http(s)://user:pass@host`` url."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"Elasticsearch url {url!r} is not http(s)://host:port; for example http://127.0.0.1:9200")
    if parts.username is None and parts.password is None:
        return url.rstrip("/"), None, None
    netloc = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    if ":" in (parts.hostname or ""):
        netloc = f"[{parts.hostname}]" + (f":{parts.port}" if parts.port else "")
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)).rstrip("/")
    return clean, parts.username, parts.password


def _client_major() -> int:
    es = require("elasticsearch", "es")
    return int(str(es.__versionstr__).partition(".")[0])  # type: ignore[attr-defined]


def _compat_node_class(target_major: int | None) -> type:
    """A transport node that asks the server for API compatibility with ``target_major``.

    The 9.x client sends ``compatible-with=9``, which an 8.x server refuses
    ("Invalid media-type value on headers"); 8.x accepts ``compatible-with=8``.
    ``None`` sends plain ``application/json`` (used only to learn the version).
    """
    from elastic_transport import HttpHeaders, Urllib3HttpNode
    from elastic_transport._node import NodeApiResponse
    from elastic_transport.client_utils import DEFAULT, DefaultType

    def rewrite(value: str) -> str:
        if target_major is None:
            return _COMPAT_RE.sub(r"application/\1", value)
        return _COMPAT_RE.sub(rf"application/vnd.elasticsearch+\1; compatible-with={target_major}", value)

    class CompatNode(Urllib3HttpNode):
        def perform_request(
            self,
            method: str,
            target: str,
            body: bytes | None = None,
            headers: HttpHeaders | None = None,
            request_timeout: DefaultType | float | None = DEFAULT,
        ) -> NodeApiResponse:
            if headers is not None:
                headers = headers.copy()
                for name in ("accept", "content-type"):
                    if name in headers:
                        headers[name] = rewrite(headers[name])
            return super().perform_request(method, target, body=body, headers=headers, request_timeout=request_timeout)

    return CompatNode


class ElasticsearchStore(MentionStore):
    """`MentionStore` on an Elasticsearch 8/9 cluster (``http(s)://host:9200``).

    Credentials and TLS options default to the settings (``EARSHOT_ES_USERNAME``,
    ``EARSHOT_ES_PASSWORD``, ``EARSHOT_ES_VERIFY_CERTS``, ``EARSHOT_ES_CA_CERTS``,
    ``EARSHOT_ES_INDEX_PREFIX``); credentials in the url are used too and never logged.
    ``refresh`` applies to mention writes: ``"wait_for"`` (default) makes a
    search after an upsert see it; ``False`` is fastest for bulk loads.
    """

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        api_key: str | None = None,
        index_prefix: str | None = None,
        verify_certs: bool | None = None,
        ca_certs: str | Path | None = None,
        request_timeout: float = 30.0,
        refresh: Refresh = "wait_for",
        shards: int = 1,
        replicas: int | None = None,
        bulk_chunk_size: int = 500,
        bulk_max_retries: int = 5,
        bulk_initial_backoff: float = 0.5,
        bulk_max_backoff: float = 30.0,
        settings: Settings | None = None,
    ) -> None:
        clean, url_user, url_password = _redact(url)
        if settings is None and (
            index_prefix is None or verify_certs is None or api_key is None or (username is None and not url_user)
        ):
            from earshot.settings import get_settings

            settings = get_settings()
        self.url = clean
        self._hosts = clean
        self._username = username or url_user or (settings.es_username if settings else None)
        secret = settings.es_password.get_secret_value() if settings and settings.es_password else None
        self._password = password or url_password or secret
        settings_key = settings.es_api_key.get_secret_value() if settings and settings.es_api_key else None
        self._api_key = api_key or settings_key
        prefix = index_prefix if index_prefix is not None else (settings.es_index_prefix if settings else "earshot")
        if not _PREFIX_RE.match(prefix):
            raise ConfigError(
                f"Elasticsearch index prefix {prefix!r} is invalid: use lower-case letters, digits, '-', '_' or '.'"
            )
        self.index_prefix = prefix
        self._verify_certs = (
            verify_certs if verify_certs is not None else (settings.es_verify_certs if settings else True)
        )
        ca = ca_certs if ca_certs is not None else (settings.es_ca_certs if settings else None)
        self._ca_certs = str(ca) if ca else None
        self._request_timeout = request_timeout
        self._refresh: Refresh = refresh
        self._shards = shards
        self._replicas = replicas
        self._chunk = max(1, bulk_chunk_size)
        self._max_retries = bulk_max_retries
        self._initial_backoff = bulk_initial_backoff
        self._max_backoff = bulk_max_backoff
        self._client: Elasticsearch | None = None
        self.server_version: str | None = None

    @classmethod
    def from_settings(cls, url: str, settings: Settings, **kwargs: Any) -> ElasticsearchStore:
        return cls(url, settings=settings, **kwargs)

    # names ------------------------------------------------------------------------
    @property
    def read_alias(self) -> str:
        return f"{self.index_prefix}-mentions"

    @property
    def write_alias(self) -> str:
        return f"{self.index_prefix}-mentions-write"

    @property
    def template_name(self) -> str:
        return f"{self.index_prefix}-mentions"

    def side_index(self, name: str) -> str:
        return f"{self.index_prefix}-{name}"

    # lifecycle --------------------------------------------------------------------
    def _make_client(self, target_major: int | None, *, max_retries: int = 3) -> Elasticsearch:
        es = require("elasticsearch", "es")
        kwargs: dict[str, Any] = {
            "request_timeout": self._request_timeout,
            "retry_on_timeout": True,
            "max_retries": max_retries,
            # 429 is left to the bulk helper, which backs off exponentially and resends only
            # the rejected items; the transport would resend at once.
            "retry_on_status": (502, 503, 504),
            "node_class": _compat_node_class(target_major),
        }
        if self._api_key:
            kwargs["api_key"] = self._api_key
        elif self._username:
            kwargs["basic_auth"] = (self._username, self._password or "")
        if self._hosts.startswith("https"):
            kwargs["verify_certs"] = self._verify_certs
            if self._ca_certs:
                kwargs["ca_certs"] = self._ca_certs
        client: Elasticsearch = es.Elasticsearch(self._hosts, **kwargs)  # type: ignore[attr-defined]
        return client

    def open(self) -> None:
        if self._client is not None:
            return
        for name in ("elastic_transport.transport", "elastic_transport.node_pool"):
            # They log every request at INFO and each retry with a traceback; a failure that
            # survives the retries becomes one StoreError instead. Explicit levels win.
            if logging.getLogger(name).level == logging.NOTSET:
                logging.getLogger(name).setLevel(logging.ERROR)
        with self._errors("connect"):
            probe = self._make_client(None, max_retries=1)  # a wrong url should fail fast
            try:
                info = probe.info()
            finally:
                probe.close()
            self.server_version = str(info["version"]["number"])
            server_major = int(self.server_version.partition(".")[0])
            if server_major < 8:
                raise StoreError(
                    f"Elasticsearch {self.server_version} at {self.url} is too old; Earshot needs 8.x or 9.x"
                )
            self._client = self._make_client(min(server_major, _client_major()))
        try:
            self._ensure_indices()
        except BaseException:
            self.close()
            raise
        log.info("es.open url=%s version=%s prefix=%s", self.url, self.server_version, self.index_prefix)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def ping(self) -> bool:
        if self._client is None:
            return False
        try:
            return bool(self._client.ping())
        except Exception:  # readiness must answer, never raise
            return False

    @property
    def client(self) -> Elasticsearch:
        if self._client is None:
            raise StoreError(f"Elasticsearch store {self.url} is not open; call open() or use 'with store:'")
        return self._client

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn client exceptions into :class:`StoreError` naming the server and what to do."""
        es = require("elasticsearch", "es")
        try:
            yield
        except es.AuthenticationException as exc:  # type: ignore[attr-defined]
            raise StoreError(
                f"Elasticsearch at {self.url} refused the credentials ({action}); "
                "set EARSHOT_ES_USERNAME and EARSHOT_ES_PASSWORD"
            ) from exc
        except es.AuthorizationException as exc:  # type: ignore[attr-defined]
            raise StoreError(
                f"Elasticsearch user lacks privileges for {action} on {self.index_prefix}-*: {exc.message}"
            ) from exc
        except es.ConnectionError as exc:  # type: ignore[attr-defined]
            raise StoreError(
                f"cannot reach Elasticsearch at {self.url} ({action}): {exc.message}; "
                "check the url and that the server is running"
            ) from exc
        except es.ApiError as exc:  # type: ignore[attr-defined]
            if _TOO_MANY_CLAUSES.search(f"{exc} {exc.body}"):
                # A short wildcard (a*) expands to more words than a query may hold.
                raise InputError(
                    f"the query expands to too many words for Elasticsearch ({action}); "
                    "use a longer prefix before '*' or fewer alternatives"
                ) from exc
            raise StoreError(f"Elasticsearch {action} failed at {self.url}: {exc.message} ({exc.meta.status})") from exc
        except es.TransportError as exc:  # type: ignore[attr-defined]
            raise StoreError(f"Elasticsearch {action} failed at {self.url}: {exc}") from exc

    def _replica_settings(self) -> dict[str, Any]:
        if self._replicas is not None:
            return {"number_of_replicas": self._replicas}
        # One replica once a second node exists, none on a single node (green, not yellow).
        return {"auto_expand_replicas": "0-1"}

    def _settings_block(self) -> dict[str, Any]:
        return {"number_of_shards": self._shards, "analysis": _ANALYSIS, **self._replica_settings()}

    def _ensure_indices(self) -> None:
        es = require("elasticsearch", "es")
        c = self.client
        with self._errors("create the index template"):
            c.indices.put_index_template(
                name=self.template_name,
                index_patterns=[f"{self.index_prefix}-mentions-0*"],
                priority=500,
                template={
                    "settings": self._settings_block(),
                    "mappings": {
                        "dynamic": False,
                        "_source": {"excludes": ["title_words", "text_words"]},
                        "properties": MENTION_PROPERTIES,
                    },
                    "aliases": {self.read_alias: {}},
                },
                meta={"earshot_schema": SCHEMA_VERSION, "managed_by": "earshot"},
            )
        with self._errors("create the mentions index"):
            if not c.indices.exists_alias(name=self.write_alias):
                try:
                    c.indices.create(
                        index=f"{self.index_prefix}-mentions-000001",
                        aliases={self.write_alias: {"is_write_index": True}},
                    )
                except es.BadRequestError as exc:  # type: ignore[attr-defined]
                    # Another process created it first: fine.
                    if "resource_already_exists" not in str(exc.error):
                        raise
            else:
                # Additive mapping changes reach indices created by an older version.
                c.indices.put_mapping(index=self.read_alias, properties=MENTION_PROPERTIES, dynamic="false")
        for name, props in SIDE_PROPERTIES.items():
            index = self.side_index(name)
            with self._errors(f"create the {index} index"):
                if c.indices.exists(index=index):
                    c.indices.put_mapping(index=index, properties=props, dynamic="false")
                    continue
                try:
                    c.indices.create(
                        index=index,
                        settings={"number_of_shards": 1, **self._replica_settings()},
                        mappings={"dynamic": False, "properties": props},
                    )  # fmt: skip
                except es.BadRequestError as exc:  # type: ignore[attr-defined]
                    if "resource_already_exists" not in str(exc.error):
                        raise

    def mention_indices(self) -> list[str]:
        """Concrete indices behind the read alias, oldest first."""
        with self._errors("list indices"):
            resp = self.client.indices.get_alias(name=self.read_alias)
        return sorted(resp.body)

    def rollover(self, *, max_docs: int | None = None, max_age: str | None = None,
                 max_primary_shard_size: str | None = None) -> str | None:  # fmt: skip
        """Start a new write index when a condition holds (none given: always); returns its name or None."""
        conditions: dict[str, Any] = {}
        if max_docs is not None:
            conditions["max_docs"] = max_docs
        if max_age is not None:
            conditions["max_age"] = max_age
        if max_primary_shard_size is not None:
            conditions["max_primary_shard_size"] = max_primary_shard_size
        with self._errors("roll over"):
            resp = self.client.indices.rollover(alias=self.write_alias, conditions=conditions or None)
        if resp.get("rolled_over"):
            log.info("es.rollover old=%s new=%s", resp.get("old_index"), resp.get("new_index"))
            return str(resp["new_index"])
        return None

    def drop(self) -> None:
        """Delete every index and the template of this prefix (tests, ``earshot`` resets). Irreversible."""
        es = require("elasticsearch", "es")
        c = self.client
        names: list[str] = []
        with contextlib.suppress(es.NotFoundError):  # type: ignore[attr-defined]
            names.extend(c.indices.get_alias(name=self.read_alias).body)
        names.extend(self.side_index(n) for n in SIDE_PROPERTIES)
        with self._errors("drop indices"):
            for name in names:
                c.options(ignore_status=404).indices.delete(index=name)
            c.options(ignore_status=404).indices.delete_index_template(name=self.template_name)

    # mentions ---------------------------------------------------------------------
    def _mget(self, ids: Sequence[str], **source: Any) -> list[dict[str, Any]]:
        """Found documents for ``ids`` in every mentions index (realtime, unlike a search).

        ``mget`` on an alias that spans several indices is refused, so each
        concrete index behind the read alias is asked.
        """
        if not ids:
            return []
        indices = self.mention_indices()
        with self._errors("read mentions"):
            if len(indices) == 1:
                resp = self.client.mget(index=indices[0], ids=list(ids), **source)
            else:
                docs = [{"_index": i, "_id": d} for i in indices for d in ids]
                resp = self.client.mget(docs=docs, **source)
        # Oldest index first, so a (never expected) copy in a newer index wins.
        return [d for d in resp["docs"] if d.get("found")]

    def _existing(self, ids: Sequence[str]) -> dict[str, tuple[str, str | None, Any]]:
        """id → (concrete index, fingerprint, collected_at) for the ids already stored."""
        out: dict[str, tuple[str, str | None, Any]] = {}
        for doc in self._mget(ids, source_includes=["fingerprint", "collected_at"]):
            src = doc.get("_source") or {}
            out[doc["_id"]] = (doc["_index"], src.get("fingerprint"), src.get("collected_at"))
        return out

    def upsert_mentions(self, mentions: Iterable[Mention]) -> UpsertResult:
        inserted = updated = unchanged = 0
        unrefreshed = False
        batch: dict[str, Mention] = {}
        for m in mentions:
            # The same id twice in one call is applied in order, as separate writes.
            if m.id in batch or len(batch) >= self._chunk:
                # Only the call's last request waits for a refresh: searches after the call
                # see every mention, and a long import is not slowed down chunk by chunk.
                i, u, n = self._upsert_batch(list(batch.values()), refresh=False)
                inserted, updated, unchanged = inserted + i, updated + u, unchanged + n
                unrefreshed = unrefreshed or i + u > 0
                batch = {}
            batch[m.id] = m
        last_wrote = False
        if batch:
            i, u, n = self._upsert_batch(list(batch.values()), refresh=self._refresh)
            inserted, updated, unchanged = inserted + i, updated + u, unchanged + n
            last_wrote = i + u > 0
        if unrefreshed and not last_wrote and self._refresh:
            with self._errors("refresh"):
                self.client.indices.refresh(index=self.read_alias)
        return UpsertResult(inserted=inserted, updated=updated, unchanged=unchanged)

    def _upsert_batch(
        self, batch: list[Mention], *, refresh: Refresh, retry_conflicts: bool = True
    ) -> tuple[int, int, int]:
        existing = self._existing([m.id for m in batch])
        actions: list[dict[str, Any]] = []
        kinds: dict[str, str] = {}
        unchanged = 0
        for m in batch:
            doc = mention_document(m)
            found = existing.get(m.id)
            if found is None:
                actions.append({"_op_type": "create", "_index": self.write_alias, "_id": m.id, "_source": doc})
                kinds[m.id] = "inserted"
            elif found[1] == doc["fingerprint"]:
                unchanged += 1
            else:
                # The first collection time is kept: re-crawling is not new content.
                if found[2]:
                    doc["collected_at"] = found[2]
                actions.append({"_op_type": "index", "_index": found[0], "_id": m.id, "_source": doc})
                kinds[m.id] = "updated"
        inserted = updated = 0
        conflicts: list[Mention] = []
        errors: list[str] = []
        by_id = {m.id: m for m in batch}
        for ok, item in self._bulk(actions, refresh):
            op, info = next(iter(item.items()))
            doc_id = str(info.get("_id"))
            if ok:
                if kinds.get(doc_id) == "inserted":
                    inserted += 1
                else:
                    updated += 1
            elif op == "create" and info.get("status") == 409 and retry_conflicts and doc_id in by_id:
                conflicts.append(by_id[doc_id])  # created meanwhile by another writer
            else:
                errors.append(f"{doc_id}: {info.get('error')}")
        if conflicts:
            i, u, n = self._upsert_batch(conflicts, refresh=refresh, retry_conflicts=False)
            inserted, updated, unchanged = inserted + i, updated + u, unchanged + n
        if errors:
            log.error("es.bulk failed=%d stored=%d first=%s", len(errors), inserted + updated, errors[0][:300])
            raise StoreError(f"{len(errors)} of {len(batch)} mentions were not stored in {self.url}: {errors[0][:300]}")
        log.debug("es.bulk inserted=%d updated=%d unchanged=%d", inserted, updated, unchanged)
        return inserted, updated, unchanged

    def _bulk(self, actions: list[dict[str, Any]], refresh: Refresh) -> Iterator[tuple[bool, dict[str, Any]]]:
        """Send ``actions`` with retries: 429 answers (whole request or single items) back off exponentially."""
        if not actions:
            return
        helpers = require("elasticsearch.helpers", "es")
        with self._errors("bulk index"):
            yield from helpers.streaming_bulk(  # type: ignore[attr-defined]
                self.client,
                actions,
                chunk_size=self._chunk,
                max_retries=self._max_retries,
                initial_backoff=self._initial_backoff,
                max_backoff=self._max_backoff,
                raise_on_error=False,
                raise_on_exception=True,
                refresh=refresh,
            )

    def get_mention(self, mention_id: str) -> Mention | None:
        return self.get_mentions([mention_id]).get(mention_id)

    def get_mentions(self, ids: Sequence[str]) -> dict[str, Mention]:
        wanted = list(dict.fromkeys(ids))
        return {d["_id"]: _mention_from(d["_source"]) for d in self._mget(wanted, source_excludes=_DERIVED)}

    def _filter_query(self, flt: MentionFilter, *, scored: bool = False) -> dict[str, Any]:
        filters: list[dict[str, Any]] = []
        must: list[dict[str, Any]] = []
        must_not: list[dict[str, Any]] = []
        rng: dict[str, int] = {}
        if flt.since is not None:
            rng["gte"] = _us(flt.since)
        if flt.until is not None:
            rng["lt"] = _us(flt.until)
        if rng:
            filters.append({"range": {"published_us": rng}})
        if not flt.include_duplicates:
            must_not.append({"exists": {"field": "duplicate_of"}})
        for values, field, norm in (
            (flt.sources, "f_source", fold),
            (flt.languages, "f_language", fold),
            (flt.authors, "f_author", fold),
            (flt.brands, "f_brands", fold),
            (flt.sentiments, "sentiment_split", fold),
            (flt.sites, "f_site_domains", _site_value),
        ):
            if values is None:
                continue
            wanted = sorted({norm(v) for v in values})
            if not wanted:
                return {"match_none": {}}
            filters.append({"terms": {field: wanted}})
        if flt.query is not None:
            if scored:
                must.append(compile_scored(flt.query.root))
            else:
                filters.append(compile_node(flt.query.root))
        body: dict[str, Any] = {}
        if filters:
            body["filter"] = filters
        if must:
            body["must"] = must
        if must_not:
            body["must_not"] = must_not
        return {"bool": body} if body else {"match_all": {}}

    def search(self, request: SearchRequest) -> SearchPage:
        if request.limit <= 0:
            raise InputError(f"limit must be a positive number, not {request.limit!r}")
        flt = request.filter
        relevance = request.sort == "relevance" and flt.query is not None
        # Keyset pagination on a total order (the last key is the unique id). Relevance
        # scores depend on each mention alone, so keys never move and no point in time
        # is needed: pages neither repeat nor skip while mentions arrive.
        sort: list[Any] = [{"published_us": "desc"}, {"id": "desc"}]
        if relevance:
            sort.insert(0, {"_score": "desc"})
        body: dict[str, Any] = {
            "query": self._filter_query(flt, scored=relevance),
            "sort": sort,
            "size": request.limit + 1,  # one more tells whether a next page exists
            "track_total_hits": request.cursor is None,
            "source_excludes": _DERIVED,
        }
        if request.cursor:
            body["search_after"] = decode_cursor(request.cursor, request.sort, len(sort))
        with self._errors("search"):
            resp = self.client.search(index=self.read_alias, **body)
        raw_hits = resp["hits"]["hits"]
        page = raw_hits[: request.limit]
        hits: list[SearchHit] = []
        for h in page:
            mention = _mention_from(h["_source"])
            hit = SearchHit(mention=mention, score=float(h.get("_score") or 0.0) if relevance else None)
            if request.highlight and flt.query is not None:
                # The shared snippet marks the same words as every other backend does.
                for name, value in (("title", mention.title), ("text", mention.text)):
                    fragment = flt.query.snippet(value, max_words=1_000_000 if name == "title" else 32)
                    if fragment:
                        hit.highlights[name] = [fragment]
            hits.append(hit)
        next_cursor = encode_cursor(request.sort, list(page[-1]["sort"])) if len(raw_hits) > request.limit else None
        total = int(resp["hits"]["total"]["value"]) if request.cursor is None else None
        return SearchPage(hits=hits, next_cursor=next_cursor, total=total)

    def count(self, flt: MentionFilter) -> int:
        with self._errors("count"):
            resp = self.client.count(index=self.read_alias, query=self._filter_query(flt))
        return int(resp["count"])

    def timeline(self, flt: MentionFilter, interval_s: int, split_by: SplitBy = "sentiment") -> list[Bucket]:
        if not isinstance(interval_s, int) or interval_s <= 0:
            raise InputError(f"timeline interval must be a positive number of seconds, not {interval_s!r}")
        hist: dict[str, Any] = {
            "date_histogram": {"field": "published_at", "fixed_interval": f"{interval_s}s", "min_doc_count": 1}
        }
        if split_by in _SPLIT_FIELDS:
            hist["aggs"] = {"split": {"terms": {"field": _SPLIT_FIELDS[split_by], "size": 10_000}}}
        es = require("elasticsearch", "es")
        with self._errors("timeline"):
            try:
                resp = self.client.search(
                    index=self.read_alias, query=self._filter_query(flt), size=0, aggs={"t": hist}
                )
            except es.BadRequestError as exc:  # type: ignore[attr-defined]
                if "too_many_buckets" in str(exc):
                    raise InputError(
                        f"timeline interval {interval_s}s gives too many buckets for this range; "
                        "use a larger interval or a shorter range"
                    ) from exc
                raise
        merged: dict[datetime, tuple[int, dict[str, int]]] = {}
        for b in resp["aggregations"]["t"]["buckets"]:
            epoch = int(b["key"]) // 1000
            start = datetime.fromtimestamp(epoch - epoch % interval_s, UTC)
            total, counts = merged.get(start, (0, {}))
            total += int(b["doc_count"])
            if split_by in _SPLIT_FIELDS:
                for sb in b["split"]["buckets"]:
                    counts[str(sb["key"])] = counts.get(str(sb["key"]), 0) + int(sb["doc_count"])
            else:
                counts["all"] = counts.get("all", 0) + int(b["doc_count"])
            merged[start] = (total, counts)
        return [Bucket(start=s, total=t, counts=c) for s, (t, c) in sorted(merged.items()) if t > 0]

    def top(self, flt: MentionFilter, field: TopField, size: int = 10) -> list[tuple[str, int]]:
        if field not in _TOP_FIELDS:
            raise InputError(f"cannot rank by {field!r}; use one of {', '.join(_TOP_FIELDS)}")
        if size <= 0:
            return []
        agg = {
            "terms": {
                "field": _TOP_FIELDS[field],
                "size": size + 1,  # one spare: an empty value is dropped below
                "shard_size": max(100, (size + 1) * 5),
                "order": [{"_count": "desc"}, {"_key": "asc"}],
            }
        }
        with self._errors("top"):
            resp = self.client.search(index=self.read_alias, query=self._filter_query(flt), size=0, aggs={"top": agg})
        pairs = [(str(b["key"]), int(b["doc_count"])) for b in resp["aggregations"]["top"]["buckets"] if b["key"]]
        pairs.sort(key=lambda kv: (-kv[1], kv[0]))
        return pairs[:size]

    def delete_mentions(self, flt: MentionFilter) -> int:
        with self._errors("delete mentions"):
            # Retention may delete millions of documents: sliced, and given time to finish.
            resp = self.client.options(request_timeout=max(self._request_timeout, 900.0)).delete_by_query(
                index=self.read_alias,
                slices="auto", query=self._filter_query(flt), refresh=True, conflicts="proceed",
                wait_for_completion=True,
            )  # fmt: skip
        deleted = int(resp.get("deleted", 0))
        log.info("es.delete deleted=%d", deleted)
        return deleted

    # side indices -------------------------------------------------------------------
    def _put(self, name: str, doc_id: str, doc: dict[str, Any], *, create: bool = False) -> bool:
        """Write one state document, visible to the next read; False when ``create`` finds it exists."""
        es = require("elasticsearch", "es")
        with self._errors(f"write {name}"):
            try:
                self.client.index(
                    index=self.side_index(name), id=doc_id, document=doc, refresh=True,
                    op_type="create" if create else "index",
                )  # fmt: skip
            except es.ConflictError:  # type: ignore[attr-defined]
                if create:
                    return False
                raise
        return True

    def _get(self, name: str, doc_id: str) -> dict[str, Any] | None:
        es = require("elasticsearch", "es")
        with self._errors(f"read {name}"):
            try:
                resp = self.client.get(index=self.side_index(name), id=doc_id)
            except es.NotFoundError:  # type: ignore[attr-defined]
                return None
        return dict(resp["_source"]) if resp.get("found") else None

    def _find(self, name: str, query: dict[str, Any], sort: list[Any], size: int) -> list[dict[str, Any]]:
        if size <= 0:
            return []
        with self._errors(f"search {name}"):
            resp = self.client.search(index=self.side_index(name), query=query, sort=sort, size=min(size, 10_000))
        return [dict(h["_source"]) for h in resp["hits"]["hits"]]

    def get_cursor(self, source: str) -> str | None:
        doc = self._get("cursors", _doc_id(source))
        return None if doc is None else doc.get("value")

    def set_cursor(self, source: str, value: str) -> None:
        now = datetime.now(UTC).isoformat()
        self._put("cursors", _doc_id(source), {"source": source, "value": value, "updated_at": now})

    def record_source_run(self, run: SourceRun) -> None:
        doc = run.model_dump(mode="json")
        doc["started_us"] = _us(run.started_at)
        self._put("source-runs", uuid.uuid4().hex, doc)

    def source_runs(self, source: str | None = None, limit: int = 20) -> list[SourceRun]:
        query = {"term": {"source": source}} if source is not None else {"match_all": {}}
        docs = self._find("source-runs", query, [{"started_us": "desc"}], limit)
        return [SourceRun.model_validate(_only(SourceRun, d)) for d in docs]

    def save_alert(self, alert: Alert) -> None:
        doc = alert.model_dump(mode="json")
        doc.update(opened_us=_us(alert.opened_at), updated_us=_us(alert.updated_at))
        self._put("alerts", _doc_id(alert.id), doc)

    def get_alert(self, alert_id: str) -> Alert | None:
        doc = self._get("alerts", _doc_id(alert_id))
        return None if doc is None else Alert.model_validate(_only(Alert, doc))

    def get_alert_by_key(self, key: str) -> Alert | None:
        docs = self._find(
            "alerts", {"term": {"key": key}}, [{"updated_us": "desc"}, {"opened_us": "desc"}, {"id": "desc"}], 1
        )
        return Alert.model_validate(_only(Alert, docs[0])) if docs else None

    def list_alerts(
        self, status: AlertStatus | None = None, since: datetime | None = None, limit: int = 100
    ) -> list[Alert]:
        filters: list[dict[str, Any]] = []
        if status is not None:
            filters.append({"term": {"status": AlertStatus(status).value}})
        if since is not None:
            filters.append({"range": {"updated_us": {"gte": _us(since)}}})
        docs = self._find("alerts", {"bool": {"filter": filters}}, [{"updated_us": "desc"}, {"id": "desc"}], limit)
        return [Alert.model_validate(_only(Alert, d)) for d in docs]

    def _outbox_doc(self, message: OutboxMessage) -> dict[str, Any]:
        doc = message.model_dump(mode="json")
        doc.update(created_us=_us(message.created_at), next_attempt_us=_us(message.next_attempt_at))
        return doc

    def enqueue(self, message: OutboxMessage) -> bool:
        # The _id is the (channel, dedup_key) pair, so two workers racing to send the same notice add it once.
        return self._put(
            "outbox", _outbox_id(message.channel, message.dedup_key), self._outbox_doc(message), create=True
        )

    def due_messages(self, now: datetime, limit: int = 100) -> list[OutboxMessage]:
        query = {
            "bool": {
                "filter": [{"range": {"next_attempt_us": {"lte": _us(now)}}}, {"term": {"dead": False}}],
                "must_not": [{"exists": {"field": "sent_at"}}],
            }
        }
        docs = self._find("outbox", query, [{"next_attempt_us": "asc"}, {"created_us": "asc"}, {"id": "asc"}], limit)
        return [OutboxMessage.model_validate(_only(OutboxMessage, d)) for d in docs]

    def update_message(self, message: OutboxMessage) -> None:
        doc_id = _outbox_id(message.channel, message.dedup_key)
        current = self._get("outbox", doc_id)
        if current is None or current.get("id") != message.id:
            raise NotFoundError(f"outbox message {message.id!r} does not exist; enqueue it first")
        self._put("outbox", doc_id, self._outbox_doc(message))

    def save_api_key(self, key: ApiKey) -> None:
        doc = key.model_dump(mode="json")
        doc["created_us"] = _us(key.created_at)
        self._put("api-keys", _doc_id(key.id), doc)

    def find_api_key(self, key_hash: str) -> ApiKey | None:
        docs = self._find("api-keys", {"term": {"key_hash": key_hash}}, [{"created_us": "asc"}, {"id": "asc"}], 1)
        return ApiKey.model_validate(_only(ApiKey, docs[0])) if docs else None

    def list_api_keys(self) -> list[ApiKey]:
        docs = self._find("api-keys", {"match_all": {}}, [{"created_us": "asc"}, {"id": "asc"}], 10_000)
        return [ApiKey.model_validate(_only(ApiKey, d)) for d in docs]


def _only(model: type[Any], doc: dict[str, Any]) -> dict[str, Any]:
    fields = model.model_fields
    return {k: v for k, v in doc.items() if k in fields}
