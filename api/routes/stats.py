"""``/stats``: timeline per bucket, share of voice against competitors, top sites/authors/sources."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from api.buckets import INTERVAL_PATTERN, Span, by_start, parse_interval, ratios, span_for
from api.deps import ApiKeyDep, ConfigDep, LimitsDep, StoreDep
from api.filters import MentionFilterDep, VoiceFilterDep
from api.problems import ProblemError, problem_responses
from api.schemas.stats import (
    BrandVoice,
    ShareOfVoice,
    Timeline,
    TimelineBucket,
    TimelineSplit,
    TopEntry,
    TopFieldName,
    TopValues,
    VoicePeriod,
)
from store.base import Bucket, MentionFilter, MentionStore

router = APIRouter(prefix="/stats", tags=["stats"])

_ERRORS = problem_responses(400, 401, 403, 422, 503)


def _interval_param(default: str, what: str) -> object:
    return Query(
        pattern=INTERVAL_PATTERN,
        description=f"{what}: minutes (m), hours (h), days (d) or weeks (w), from 1m to 366d.",
        examples=[default],
    )


def _sentiment_series(store: MentionStore, flt: MentionFilter, span: Span) -> dict[datetime, Bucket]:
    ranged = replace(flt, since=span.since, until=span.until)
    return by_start(store.timeline(ranged, span.interval_s, split_by="sentiment"))


@router.get("/timeline", response_model=Timeline, summary="Mentions over time", responses=_ERRORS)
def timeline(
    store: StoreDep,
    limits: LimitsDep,
    key: ApiKeyDep,
    flt: MentionFilterDep,
    interval: Annotated[str, _interval_param("1d", "Bucket length")] = "1d",
    split_by: Annotated[
        TimelineSplit, Query(description="Count each bucket by sentiment label, source or brand, or not at all.")
    ] = "sentiment",
) -> Timeline:
    """Mentions per bucket with net sentiment and negative share.

    Without `since`, the range is the last 30 days up to `until` (default now).
    Buckets are aligned to the Unix epoch (UTC: days start at midnight, weeks on Thursdays);
    empty buckets are included with zeros. Only mentions in `[since, until)` are counted, so
    the first and last bucket may cover part of their interval.
    """
    step = parse_interval(interval)
    span = span_for(flt.since, flt.until, step, limits.default_stats_range, limits.max_buckets)
    sentiment = _sentiment_series(store, flt, span)
    if split_by in ("sentiment", "none"):
        split = sentiment
    else:
        ranged = replace(flt, since=span.since, until=span.until)
        split = by_start(store.timeline(ranged, step, split_by=split_by))
    buckets: list[TimelineBucket] = []
    for start in span.starts:
        s = sentiment.get(start)
        b = split.get(start)
        total = b.total if b else 0
        counts: dict[str, int] = {}
        if split_by == "none" and total:
            counts = {"all": total}
        elif split_by != "none" and b is not None:
            counts = dict(b.counts)
        r = ratios(s.counts if s else {})
        buckets.append(
            TimelineBucket(
                start=start,
                end=start + timedelta(seconds=step),
                total=total,
                counts=counts,
                scored=r.scored,
                net_sentiment=r.net,
                negative_share=r.negative_share,
            )
        )
    return Timeline(
        interval=interval, interval_seconds=step, split_by=split_by, since=span.since, until=span.until, buckets=buckets
    )


@router.get(
    "/share-of-voice", response_model=ShareOfVoice, summary="Share of voice against competitors", responses=_ERRORS
)
def share_of_voice(
    store: StoreDep,
    config: ConfigDep,
    limits: LimitsDep,
    key: ApiKeyDep,
    flt: VoiceFilterDep,
    brand: Annotated[
        str,
        Query(min_length=1, max_length=200, description="A configured brand; compared with its `competitors`.",
              examples=["Acme"]),
    ],
    interval: Annotated[str, _interval_param("7d", "Period length")] = "7d",
) -> ShareOfVoice:
    """Each brand's share of the compared brands' mentions, and its net sentiment, per period and overall.

    Compared brands are `brand` and the `competitors` listed for it in the watch config.
    Without `since`, the range is the last 30 days up to `until` (default now). Periods are
    aligned to the Unix epoch like the timeline's buckets; only `[since, until)` is counted.
    """
    configured = config.brand(brand)
    if configured is None:
        names = ", ".join(b.name for b in config.brands) or "none configured"
        raise ProblemError(
            400, f"brand={brand!r} is not a configured brand (configured: {names})", kind="unknown-brand"
        )
    step = parse_interval(interval)
    span = span_for(flt.since, flt.until, step, limits.default_stats_range, limits.max_buckets)
    compared = [configured.name, *[c for c in configured.competitors if c != configured.name]]
    series = {name: _sentiment_series(store, replace(flt, brands=[name]), span) for name in compared}

    def voice(name: str, counts: dict[str, int], volume: int, total: int) -> BrandVoice:
        share = round(volume / total, 4) if total else None
        return BrandVoice(brand=name, volume=volume, share=share, net_sentiment=ratios(counts).net)

    periods: list[VoicePeriod] = []
    for start in span.starts:
        vols = {n: (series[n][start].total if start in series[n] else 0) for n in compared}
        total = sum(vols.values())
        periods.append(
            VoicePeriod(
                start=start,
                end=start + timedelta(seconds=step),
                total=total,
                brands=[
                    voice(n, dict(series[n][start].counts) if start in series[n] else {}, vols[n], total)
                    for n in compared
                ],
            )
        )
    overall_counts: dict[str, dict[str, int]] = {}
    for n in compared:
        acc: dict[str, int] = {}
        for b in series[n].values():
            for label, c in b.counts.items():
                acc[label] = acc.get(label, 0) + c
        overall_counts[n] = acc
    overall_vol = {n: sum(b.total for b in series[n].values()) for n in compared}
    grand = sum(overall_vol.values())
    return ShareOfVoice(
        brand=configured.name,
        competitors=compared[1:],
        interval=interval,
        since=span.since,
        until=span.until,
        overall=[voice(n, overall_counts[n], overall_vol[n], grand) for n in compared],
        periods=periods,
    )


@router.get("/top", response_model=TopValues, summary="Top sites, authors and sources", responses=_ERRORS)
def top(
    *,
    store: StoreDep,
    limits: LimitsDep,
    key: ApiKeyDep,
    flt: MentionFilterDep,
    field: Annotated[
        Sequence[TopFieldName],
        Query(
            description="Field(s) to rank; default site, author and source.",
            examples=[["site", "author"]],
        ),
    ] = (),
    size: Annotated[int, Query(ge=1, le=100, description="Values per field (at most 100).")] = 10,
) -> TopValues:
    """The most frequent values of each field among the mentions the filters select."""
    fields: list[TopFieldName] = list(dict.fromkeys(field)) if field else ["site", "author", "source"]
    n = min(size, limits.max_top_size)
    return TopValues(
        total=store.count(flt),
        top={f: [TopEntry(value=v, count=c) for v, c in store.top(flt, f, n)] for f in fields},
    )
