"""Small helpers to turn what sites send into clean text and UTC datetimes."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

_TAGS = re.compile(r"<[^>]*>")
_BLOCK = re.compile(r"</?(p|div|br|li|h[1-6]|blockquote|tr)\b[^>]*>", re.IGNORECASE)
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_SPACES = re.compile(r"[ \t\r\f\v]+")
_NEWLINES = re.compile(r"\n\s*\n+")


def html_to_text(value: str | None) -> str:
    """Visible text of an HTML fragment (summaries, post bodies); entities decoded, whitespace tidied."""
    if not value:
        return ""
    text = _SCRIPT.sub(" ", value)
    text = _BLOCK.sub("\n", text)
    text = _TAGS.sub(" ", text)
    text = html.unescape(text).replace("\xa0", " ")
    text = _SPACES.sub(" ", text)
    lines = [line.strip() for line in text.split("\n")]
    return _NEWLINES.sub("\n\n", "\n".join(lines)).strip()


def parse_date(value: Any) -> datetime | None:
    """A datetime from ISO 8601, RFC 2822, a Unix timestamp or free-form text; ``None`` when unreadable.

    Naive values are taken as UTC; the result is always timezone-aware UTC.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None:
        from email.utils import parsedate_to_datetime

        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            parsed = None
    if parsed is None:
        from dateutil import parser as dateparser

        try:
            parsed = dateparser.parse(text)
        except (ValueError, OverflowError, TypeError):
            return None
    if parsed is None:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def clip(text: str, limit: int = 20_000) -> str:
    """Keep stored text bounded (a page-size cap for what we keep, not only what we download)."""
    return text if len(text) <= limit else text[:limit].rstrip() + " …"
