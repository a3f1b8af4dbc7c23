"""Bucket arithmetic for the stats routes: ranges aligned to the interval, zero-filled series, sentiment ratios."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from api.problems import ProblemError
from earshot.config import parse_duration
from earshot.models import utcnow
from store.base import Bucket

INTERVAL_PATTERN = r"^[1-9][0-9]{0,4}[mhdw]$"
_INTERVAL_RE = re.compile(INTERVAL_PATTERN)
MIN_INTERVAL = timedelta(minutes=1)
MAX_INTERVAL = timedelta(days=366)


@dataclass(frozen=True)
class Span:
    """Buckets of ``interval_s`` seconds aligned to the Unix epoch covering ``[since, until)``.

    ``since``/``until`` are the range counted (the request's, exactly); ``first``/``last_end``
    the aligned bucket bounds, so the first and last bucket may be partly outside the range.
    """

    since: datetime
    until: datetime
    interval_s: int
    first: datetime
    last_end: datetime

    @property
    def starts(self) -> list[datetime]:
        step = timedelta(seconds=self.interval_s)
        out, cur = [], self.first
        while cur < self.last_end:
            out.append(cur)
            cur += step
        return out


def parse_interval(value: str) -> int:
    """Seconds in ``value`` ("15m", "1h", "1d", "1w"); errors name the value."""
    if not _INTERVAL_RE.match(value):
        raise ProblemError(
            400, f"interval={value!r} is not a duration; use e.g. 15m, 1h, 1d or 1w", kind="invalid-interval"
        )
    span = parse_duration(value)
    if not MIN_INTERVAL <= span <= MAX_INTERVAL:
        raise ProblemError(400, f"interval={value!r} must be between 1m and 366d", kind="invalid-interval")
    return int(span.total_seconds())


def _floor(t: datetime, step: int) -> datetime:
    ts = int(t.timestamp())
    return datetime.fromtimestamp(ts - ts % step, tz=UTC)


def _ceil(t: datetime, step: int) -> datetime:
    floored = _floor(t, step)
    return floored if floored == t else floored + timedelta(seconds=step)


def span_for(
    since: datetime | None, until: datetime | None, interval_s: int, default_range: timedelta, max_buckets: int
) -> Span:
    """Buckets over the requested range; default: whole buckets over the last ``default_range`` up to now."""
    end = until or utcnow()
    start = since or _floor(end - max(default_range, timedelta(seconds=interval_s)), interval_s)
    aligned = Span(start, end, interval_s, _floor(start, interval_s), _ceil(end, interval_s))
    count = int((aligned.last_end - aligned.first).total_seconds()) // interval_s
    if count > max_buckets:
        raise ProblemError(
            400,
            f"{count} buckets of {interval_s}s between {start.isoformat()} and {end.isoformat()}; "
            f"the limit is {max_buckets}: shorten the range or use a longer interval",
            kind="too-many-buckets",
            title="Time range too long for the interval",
        )
    return aligned


def by_start(buckets: Iterable[Bucket]) -> dict[datetime, Bucket]:
    return {b.start.astimezone(UTC): b for b in buckets}


@dataclass(frozen=True)
class SentimentRatios:
    scored: int
    net: float | None
    negative_share: float | None


def ratios(counts: dict[str, int]) -> SentimentRatios:
    neg, neu, pos = counts.get("negative", 0), counts.get("neutral", 0), counts.get("positive", 0)
    scored = neg + neu + pos
    if scored == 0:
        return SentimentRatios(0, None, None)
    return SentimentRatios(scored, round((pos - neg) / scored, 4), round(neg / scored, 4))
