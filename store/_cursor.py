"""Opaque pagination cursors shared by the store backends.

A cursor is URL-safe base64 of a small JSON list: the sort it belongs to and
the sort key of the last hit returned (keyset pagination, so inserts between
pages neither repeat nor skip hits).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from earshot.errors import InputError


def encode_cursor(sort: str, key: list[Any]) -> str:
    raw = json.dumps([sort, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str, arity: int) -> list[Any]:
    """The key inside ``cursor``; :class:`InputError` when it is not one of ours for ``sort``."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"invalid cursor {cursor!r}: pass the next_cursor of a previous page") from exc
    if not isinstance(data, list) or len(data) != arity + 1 or data[0] != sort:
        raise InputError(
            f"invalid cursor {cursor!r} for sort={sort!r}: pass the next_cursor of a previous page with the same sort"
        )
    return data[1:]
