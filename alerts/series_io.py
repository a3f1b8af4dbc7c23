"""Reading and writing ``timestamp,value`` series (the detector CSV format, as NAB uses it)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from alerts.detectors import Detection
from earshot.errors import InputError


def parse_timestamp(text: str, where: str) -> datetime:
    """``YYYY-MM-DD HH:MM:SS`` or ISO 8601; naive times are UTC."""
    raw = text.strip()
    try:
        ts = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{where}: timestamp {raw!r} is not ISO 8601 (e.g. '2024-05-01 13:00:00')") from None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def read_series(path: str | Path) -> tuple[list[datetime], list[float], list[str]]:
    """Timestamps, values and the timestamps as written (echoed unchanged in the output)."""
    p = Path(path)
    try:
        handle = p.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {str(p)!r}: {exc.strerror or exc}; pass an existing CSV file") from None
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise InputError(f"{str(p)!r} is empty; expected a header 'timestamp,value'")
        cols = [h.strip().lower() for h in header]
        if "timestamp" not in cols or "value" not in cols:
            raise InputError(f"{str(p)!r}: header {header!r} lacks 'timestamp' and 'value' columns")
        ti, vi = cols.index("timestamp"), cols.index("value")
        stamps: list[datetime] = []
        values: list[float] = []
        written: list[str] = []
        for n, row in enumerate(reader, start=2):
            if not row or all(not c.strip() for c in row):
                continue
            where = f"{p.name} line {n}"
            if len(row) <= max(ti, vi):
                raise InputError(f"{where}: expected {len(cols)} columns, got {row!r}")
            stamps.append(parse_timestamp(row[ti], where))
            try:
                values.append(float(row[vi]))
            except ValueError:
                raise InputError(f"{where}: value {row[vi]!r} is not a number") from None
            written.append(row[ti].strip())
    return stamps, values, written


def write_detections(
    out: TextIO, written: Sequence[str], values: Sequence[float], detections: Sequence[Detection]
) -> None:
    """``timestamp,value,score,alert`` rows (alert is 0/1)."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["timestamp", "value", "score", "alert"])
    for ts, v, d in zip(written, values, detections, strict=True):
        value = int(v) if float(v).is_integer() else v
        w.writerow([ts, value, f"{d.score:.4f}", 1 if d.alert else 0])
