"""Query parameters shared by the search and stats routes, turned into a :class:`MentionFilter`.

Times: ``since``/``until`` take an ISO date or date-time; a date-only
``until`` covers that whole UTC day (``[since, until)`` inside). A bad
listening query raises :class:`QuerySyntaxError`, which the API answers with
a 400 naming the column.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import Depends, Query

from api.problems import ProblemError
from earshot import query as query_language
from earshot.models import as_utc
from earshot.query import Query as ListeningQuery
from store.base import MentionFilter

SentimentName = Literal["negative", "neutral", "positive", "unscored"]

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Timestamps outside this window are almost certainly mistakes, and bounding them keeps
# bucket arithmetic (epoch seconds, ``date + 1 day``) far from datetime's limits.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)

_INSTANT_SCHEMA = {
    "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
}


def parse_instant(value: str, name: str, *, end: bool = False) -> datetime:
    """An ISO date or date-time as aware UTC; a date-only ``end`` means the end of that day."""
    text = value.strip()
    day_only = bool(_DATE_ONLY.match(text))
    try:
        if day_only:
            result = datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
        else:
            result = as_utc(datetime.fromisoformat(text))
    except (ValueError, OverflowError):
        raise ProblemError(
            400,
            f"{name}={value!r} is not an ISO date or date-time; use e.g. 2025-03-01 or 2025-03-01T12:00:00Z",
            kind="invalid-time",
            title="Invalid time",
        ) from None
    if not EARLIEST <= result < LATEST:
        raise ProblemError(
            400,
            f"{name}={value!r} is outside {EARLIEST.year}–{LATEST.year - 1}; pass a realistic time",
            kind="invalid-time",
            title="Invalid time",
        )
    return result + timedelta(days=1) if day_only and end else result


MAX_QUERY_LENGTH = 2000


def parse_listening_query(text: str | None) -> ListeningQuery | None:
    """Parse ``q``; blank means no query. Syntax errors propagate as :class:`QuerySyntaxError`.

    Parsing is pure CPU and bounded (``q`` is at most 2,000 characters), so the filter
    dependencies run it on the event loop.
    """
    if text is None or not text.strip():
        return None
    return query_language.parse(text)


@dataclass(frozen=True)
class TimeRange:
    since: datetime | None
    until: datetime | None


async def time_range(
    since: Annotated[
        str | None,
        Query(
            description="Start (inclusive): ISO date or date-time, UTC unless an offset is given.",
            examples=["2025-03-01"],
            json_schema_extra=_INSTANT_SCHEMA,
        ),
    ] = None,
    until: Annotated[
        str | None,
        Query(
            description="End (exclusive); a date-only value includes that whole UTC day.",
            examples=["2025-03-31"],
            json_schema_extra=_INSTANT_SCHEMA,
        ),
    ] = None,
) -> TimeRange:
    start = parse_instant(since, "since") if since is not None else None
    end = parse_instant(until, "until", end=True) if until is not None else None
    if start is not None and end is not None and start >= end:
        raise ProblemError(
            400,
            f"since ({since}) must be before until ({until})",
            kind="invalid-time-range",
            title="Invalid time range",
        )
    return TimeRange(start, end)


TimeRangeDep = Annotated[TimeRange, Depends(time_range)]


_Q = Annotated[
    str,
    Query(
        description=(
            "Listening query: words AND-ed, `OR`, `NOT`/`-word`, `\"exact phrase\"`, `word*`, "
            "`a NEAR/5 b`, `\"a b\"~5`, fields `source:` `lang:` `author:` `site:` `brand:` `sentiment:`. "
            "A syntax error answers 400 with the column."
        ),
        examples=['acme AND (outage OR "not working") -site:acme.com'],
        max_length=MAX_QUERY_LENGTH,
    ),
]


def _many(description: str, example: str | None = None) -> object:
    """A repeatable query parameter (``?source=a&source=b``); absent means no restriction.

    The default is an empty tuple rather than ``default_factory=list``: pydantic inspects a
    factory's signature on every request, which cost about a millisecond per request.
    """
    return Query(description=description, examples=[[example]] if example else None)


_BRAND = Annotated[Sequence[str], _many("Configured brand name(s); repeat for several.", "Acme")]
_SOURCE = Annotated[Sequence[str], _many("Source name(s): reddit, hn, review, …; repeat for several.", "reddit")]
_LANG = Annotated[Sequence[str], _many("Language code(s) (ISO 639-1, `und` if unknown).", "en")]
_SENTIMENT = Annotated[
    Sequence[SentimentName], _many("Sentiment label(s); `unscored` for mentions without a score.", "negative")
]
_SITE = Annotated[Sequence[str], _many("Host(s); matches subdomains too, ignoring `www.`.", "example.com")]
_AUTHOR = Annotated[Sequence[str], _many("Author name(s), whole value.")]
_DUPLICATES = Annotated[bool, Query(description="Include exact and near duplicates of other mentions.")]


async def mention_filter(
    times: TimeRangeDep,
    *,
    q: _Q = "",
    brand: _BRAND = (),
    source: _SOURCE = (),
    lang: _LANG = (),
    sentiment: _SENTIMENT = (),
    site: _SITE = (),
    author: _AUTHOR = (),
    include_duplicates: _DUPLICATES = False,
) -> MentionFilter:
    return MentionFilter(
        query=parse_listening_query(q),
        brands=_clean(brand),
        sources=_clean(source),
        languages=_clean(lang),
        sentiments=_clean(sentiment),
        sites=_clean(site),
        authors=_clean(author),
        since=times.since,
        until=times.until,
        include_duplicates=include_duplicates,
    )


async def voice_filter(
    times: TimeRangeDep,
    *,
    q: _Q = "",
    source: _SOURCE = (),
    lang: _LANG = (),
    site: _SITE = (),
    include_duplicates: _DUPLICATES = False,
) -> MentionFilter:
    """The filters share of voice accepts: everything but brand, sentiment and author."""
    return MentionFilter(
        query=parse_listening_query(q),
        sources=_clean(source),
        languages=_clean(lang),
        sites=_clean(site),
        since=times.since,
        until=times.until,
        include_duplicates=include_duplicates,
    )


def _clean(values: Sequence[str]) -> list[str] | None:
    if not values:
        return None
    out = [v.strip() for v in values if v and v.strip()]
    return out or None


MentionFilterDep = Annotated[MentionFilter, Depends(mention_filter)]
VoiceFilterDep = Annotated[MentionFilter, Depends(voice_filter)]


def with_range(flt: MentionFilter, since: datetime, until: datetime) -> MentionFilter:
    return replace(flt, since=since, until=until)
