"""Streamed CSV export of mentions for analysts: rows are written as the store yields them.

Memory stays flat however many mentions match: :meth:`MentionStore.iter_mentions`
pages through the store and each chunk of rows is sent before the next is read.
Cells that a spreadsheet would run as a formula are prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator

from earshot.models import Mention
from store.base import MentionFilter, MentionStore

log = logging.getLogger(__name__)

CSV_MEDIA_TYPE = "text/csv"
COLUMNS = (
    "id",
    "published_at",
    "source",
    "site",
    "author",
    "title",
    "text",
    "url",
    "language",
    "brands",
    "topics",
    "sentiment",
    "negative",
    "neutral",
    "positive",
    "model",
    "rating",
    "duplicate_of",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CHUNK_ROWS = 200


def wants_csv(accept: str | None) -> bool:
    """True when the Accept header prefers text/csv over JSON (q-values honoured)."""
    if not accept:
        return False
    best: dict[str, float] = {}
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        q = 1.0
        for param in fields[1:]:
            if param.lower().startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        best[media] = max(q, best.get(media, 0.0))
    csv_q = best.get(CSV_MEDIA_TYPE, 0.0)
    json_q = max(best.get("application/json", 0.0), best.get("application/*", 0.0))
    return csv_q > 0 and csv_q >= json_q


def _safe(value: str | None) -> str:
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def row(m: Mention) -> list[str]:
    s = m.sentiment
    return [
        m.id,
        m.published_at.isoformat().replace("+00:00", "Z"),
        _safe(m.source),
        _safe(m.site),
        _safe(m.author),
        _safe(m.title),
        _safe(m.text),
        _safe(m.canonical_url or m.url),
        m.language,
        _safe(";".join(m.brands)),
        _safe(";".join(m.topics)),
        s.label if s else "",
        _num(s.scores.get("negative")) if s else "",
        _num(s.scores.get("neutral")) if s else "",
        _num(s.scores.get("positive")) if s else "",
        _safe(s.model) if s else "",
        _num(m.rating),
        m.duplicate_of or "",
    ]


def mentions_csv(store: MentionStore, flt: MentionFilter, *, max_rows: int) -> Iterator[str]:
    """CSV text in chunks: a header, then up to ``max_rows`` mentions, newest first."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    rows = 0
    try:
        for mention in store.iter_mentions(flt, batch_size=1000):
            if rows >= max_rows:
                break
            writer.writerow(row(mention))
            rows += 1
            if rows % _CHUNK_ROWS == 0:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
    except Exception as exc:
        # Headers are sent already; the client sees a truncated file and the log says why.
        log.error("event=csv_export_failed rows=%d error_type=%s", rows, type(exc).__name__)
        raise
    yield buf.getvalue()
    log.info("event=csv_export_done rows=%d", rows)
