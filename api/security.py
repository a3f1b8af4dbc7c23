"""API keys: generation, hashing, verification and scopes.

A key looks like ``esk_<id>_<secret>``: the id is public (shown by
``earshot apikey list`` and logged), the secret is 256 bits from
:mod:`secrets`. Only the SHA-256 of the whole key is stored; because the key
is high-entropy, a plain fast hash is enough (no password-style stretching)
and lets the store look the key up by its hash. The looked-up hash is then
compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from typing import Literal

from earshot.errors import InputError
from earshot.models import ApiKey, utcnow
from store.base import MentionStore

Scope = Literal["read", "write", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "write", "admin")
KEY_PREFIX = "esk_"
_KEY_RE = re.compile(r"^esk_([0-9a-f]{12})_([A-Za-z0-9_\-]{20,100})$")

# What each granted scope lets a key do: admin can do anything, write implies read
# (updating an alert means reading it first).
_IMPLIED: dict[str, frozenset[str]] = {
    "read": frozenset({"read"}),
    "write": frozenset({"read", "write"}),
    "admin": frozenset({"read", "write", "admin"}),
}


def hash_key(key: str) -> str:
    """Hex SHA-256 of the full key string."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def effective_scopes(granted: Iterable[str]) -> frozenset[str]:
    out: set[str] = set()
    for s in granted:
        out |= _IMPLIED.get(s, frozenset())
    return frozenset(out)


def has_scope(key: ApiKey, scope: Scope) -> bool:
    return scope in effective_scopes(key.scopes)


def parse_scopes(values: Iterable[str]) -> list[Scope]:
    """Validate scope names (comma-separated values allowed); errors name the bad value."""
    out: list[Scope] = []
    for value in values:
        for part in value.split(","):
            name = part.strip().lower()
            if not name:
                continue
            if name not in SCOPES:
                raise InputError(f"unknown scope {part.strip()!r}; use one of {', '.join(SCOPES)}")
            if name not in out:
                out.append(name)  # type: ignore[arg-type,unused-ignore]  # checked against SCOPES above
    if not out:
        raise InputError("no scope given; use one or more of read, write, admin")
    return out


def new_api_key(name: str, scopes: Iterable[str]) -> tuple[str, ApiKey]:
    """A fresh key: returns the secret (show it once) and the record to store."""
    name = name.strip()
    if not name:
        raise InputError("an API key needs a non-empty name (who or what uses it)")
    key_id = secrets.token_hex(6)
    secret = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    record = ApiKey(
        id=key_id,
        name=name,
        prefix=f"{KEY_PREFIX}{key_id}",
        key_hash=hash_key(secret),
        scopes=parse_scopes(scopes),
        created_at=utcnow(),
    )
    return secret, record


def looks_like_key(presented: str) -> bool:
    return bool(_KEY_RE.match(presented))


def verify_key(store: MentionStore, presented: str) -> ApiKey | None:
    """The active key record for ``presented``, or None (unknown, malformed or revoked)."""
    if not looks_like_key(presented):
        return None
    digest = hash_key(presented)
    record = store.find_api_key(digest)
    if record is None or not hmac.compare_digest(record.key_hash, digest):
        return None
    if record.revoked_at is not None:
        return None
    return record


def find_key_by_id(store: MentionStore, key_id: str) -> ApiKey | None:
    """A key by its public id or prefix (``esk_<id>``)."""
    wanted = key_id.removeprefix(KEY_PREFIX)
    return next((k for k in store.list_api_keys() if k.id == wanted), None)
