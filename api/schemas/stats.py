"""Aggregate schemas: timeline buckets, share of voice, top values."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

TimelineSplit = Literal["sentiment", "source", "brand", "none"]
TopFieldName = Literal["site", "author", "source", "brand", "language"]

NET_SENTIMENT_DEFINITION = (
    "net sentiment = (positive − negative) / scored mentions, from −1 to 1; null when none are scored"
)
NEGATIVE_SHARE_DEFINITION = "negative share = negative / scored mentions, 0 to 1; null when none are scored"


class TimelineBucket(BaseModel):
    start: datetime = Field(description="bucket start (inclusive), aligned to the Unix epoch")
    end: datetime = Field(description="bucket end (exclusive)")
    total: int = Field(ge=0, description="mentions in the bucket")
    counts: dict[str, int] = Field(description="split value → mentions (split_by=none: {'all': total})")
    scored: int = Field(ge=0, description="mentions with a sentiment score")
    net_sentiment: float | None = Field(ge=-1, le=1, description=NET_SENTIMENT_DEFINITION)
    negative_share: float | None = Field(ge=0, le=1, description=NEGATIVE_SHARE_DEFINITION)


class Timeline(BaseModel):
    """Mentions per time bucket over ``[since, until)``; empty buckets are included with zeros."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "interval": "1d",
                    "interval_seconds": 86400,
                    "split_by": "sentiment",
                    "since": "2025-03-01T00:00:00Z",
                    "until": "2025-03-03T00:00:00Z",
                    "buckets": [
                        {
                            "start": "2025-03-01T00:00:00Z",
                            "end": "2025-03-02T00:00:00Z",
                            "total": 12,
                            "counts": {"negative": 3, "neutral": 5, "positive": 4},
                            "scored": 12,
                            "net_sentiment": 0.0833,
                            "negative_share": 0.25,
                        }
                    ],
                }
            ]
        }
    }

    interval: str
    interval_seconds: int
    split_by: TimelineSplit
    since: datetime
    until: datetime
    buckets: list[TimelineBucket]


class BrandVoice(BaseModel):
    brand: str
    volume: int = Field(ge=0)
    share: float | None = Field(ge=0, le=1, description="volume / volume of all compared brands; null if none")
    net_sentiment: float | None = Field(ge=-1, le=1, description=NET_SENTIMENT_DEFINITION)


class VoicePeriod(BaseModel):
    start: datetime
    end: datetime
    total: int = Field(ge=0, description="mentions of all compared brands in the period")
    brands: list[BrandVoice]


class ShareOfVoice(BaseModel):
    """A brand against its configured competitors: volume share and net sentiment per period and overall."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "brand": "Acme",
                    "competitors": ["Globex"],
                    "interval": "7d",
                    "since": "2025-02-24T00:00:00Z",
                    "until": "2025-03-03T00:00:00Z",
                    "overall": [
                        {"brand": "Acme", "volume": 60, "share": 0.6, "net_sentiment": 0.1},
                        {"brand": "Globex", "volume": 40, "share": 0.4, "net_sentiment": -0.05},
                    ],
                    "periods": [],
                }
            ]
        }
    }

    brand: str
    competitors: list[str]
    interval: str
    since: datetime
    until: datetime
    overall: list[BrandVoice]
    periods: list[VoicePeriod]


class TopEntry(BaseModel):
    value: str
    count: int = Field(ge=0)


class TopValues(BaseModel):
    """Most frequent values per field for the filtered mentions."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "total": 250,
                    "top": {
                        "site": [{"value": "reddit.com", "count": 120}],
                        "author": [{"value": "u/someone", "count": 9}],
                        "source": [{"value": "reddit", "count": 120}],
                    },
                }
            ]
        }
    }

    total: int = Field(ge=0, description="mentions matching the filters")
    top: dict[str, list[TopEntry]] = Field(description="field → values with counts, most frequent first")
