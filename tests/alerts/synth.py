"""Synthetic mention streams for the alert tests: a week with a daily cycle, bursts, ramps, quiet nights."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from earshot.config import WatchConfig, parse_config
from earshot.models import Mention, RawMention, Sentiment

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
BRAND = "Acme"


def sentiment(label: str) -> Sentiment:
    scores = {"negative": 0.1, "neutral": 0.1, "positive": 0.1}
    scores[label] = 0.8  # type: ignore[index]
    return Sentiment(label=label, scores=scores, model="test")  # type: ignore[arg-type]


_VOCAB = [
    "app", "order", "delivery", "support", "refund", "store", "price", "service", "update", "login", "card",
    "account", "shipping", "parcel", "late", "great", "terrible", "quick", "slow", "friendly", "rude", "broken",
    "working", "fixed", "again", "today", "yesterday", "weekend", "morning", "night", "staff", "manager",
    "website", "checkout", "coupon", "discount", "quality", "size", "colour", "return", "exchange", "warranty",
    "battery", "screen", "charger", "cable", "review", "recommend", "never", "always", "finally", "still",
    "waiting", "answer", "email", "chat", "phone", "queue", "branch", "city"
]


def chatter(i: str, label: str, n: int = 14) -> str:
    """Varied text (so near-duplicate detection leaves ordinary chatter alone)."""
    rng = random.Random(i)
    return f"acme {' '.join(rng.choice(_VOCAB) for _ in range(n))} ({label})"


def mention(i: str, at: datetime, label: str, *, text: str | None = None, reach: float = 10.0,
            source: str = "reddit", duplicate_of: str | None = None) -> Mention:
    return Mention(
        id=f"m{i}",
        source=source,
        source_id=i,
        url=f"https://{source}.example.com/p/{i}",
        author=f"user{hash(i) % 50}",
        text=text or chatter(i, label),
        published_at=at,
        brands=[BRAND],
        sentiment=sentiment(label),
        metrics={"reach": reach},
        duplicate_of=duplicate_of,
    )


def daily_rate(hour: float, base: float = 20.0, amp: float = 15.0) -> float:
    """Mentions per hour: low at night, peak mid-afternoon."""
    return max(0.5, base + amp * math.sin((hour - 9) / 24 * 2 * math.pi))


def week(days: int = 7, *, seed: int = 7, base: float = 20.0, amp: float = 15.0,
         ramp: float = 0.0, neg_share: float = 0.15, start: datetime = START) -> Iterator[Mention]:
    """Mentions hour by hour; ``ramp`` multiplies the rate linearly up to (1+ramp) by the end."""
    rng = random.Random(seed)
    n = 0
    for h in range(days * 24):
        t0 = start + timedelta(hours=h)
        growth = 1.0 + ramp * h / (days * 24)
        lam = daily_rate(t0.hour, base, amp) * growth
        count = _poisson(rng, lam)
        for _ in range(count):
            n += 1
            label = "negative" if rng.random() < neg_share else rng.choice(["neutral", "positive", "positive"])
            at = t0 + timedelta(seconds=rng.randrange(3600))
            yield mention(f"{seed}-{n}", at, label, reach=float(rng.randrange(1, 500)))


def burst(at: datetime, count: int, *, prefix: str = "b", label: str = "negative",
          duplicates_of: str | None = None) -> list[Mention]:
    out = []
    for k in range(count):
        out.append(
            mention(
                f"{prefix}{k}",
                at + timedelta(seconds=30 * k),
                label,
                text=f"acme app down again, lost my data #{k}" if duplicates_of is None else "acme outage statement",
                reach=1000.0 + k,
                source="mastodon",
                duplicate_of=duplicates_of if k else None,
            )
        )
    return out


def as_raw(m: Mention) -> RawMention:
    """The crawler's view of a synthetic mention (no brands, sentiment or duplicate link yet)."""
    return RawMention(source=m.source, source_id=m.source_id, url=m.url, author=m.author, text=m.text,
                      published_at=m.published_at, metrics=dict(m.metrics))


def press_release(at: datetime, count: int, *, distinct: bool = False) -> list[Mention]:
    """One negative statement syndicated ``count`` times across sites (or ``distinct`` complaints)."""
    out = []
    for k in range(count):
        text = (
            chatter(f"complaint-{k}", "negative") + " acme down"
            if distinct
            else "Acme confirms a data outage affecting customer accounts and apologises for the disruption "
            f"while engineers restore service, reported by outlet {k}"
        )
        out.append(
            Mention(id=f"pr{k}", source="feed", source_id=f"pr{k}", url=f"https://news{k}.example.org/acme-outage",
                    text=text, published_at=at + timedelta(seconds=40 * k), brands=[BRAND],
                    metrics={"reach": 100.0})
        )
    return out


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method is fine for the small rates used here.
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def config(rules: list[dict[str, Any]] | None = None, **alerts: Any) -> WatchConfig:
    data: dict[str, Any] = {
        "brands": [{"name": BRAND, "aliases": ["acme"]}],
        "alerts": {
            "interval": "15m",
            "channels": {
                "owner": {"kind": "recording"},
                "pr": {"kind": "recording"},
                "mgmt": {"kind": "recording"},
            },
            "escalation": {"notice": ["owner"], "warning": ["pr"], "critical": ["mgmt"]},
            "rules": rules
            if rules is not None
            else [
                {
                    "name": "neg-spike",
                    "brand": BRAND,
                    "metric": "negative_volume",
                    "bucket": "1h",
                    "detector": "seasonal",
                    "min_volume": 10,
                    "cooldown": "6h",
                    "severity": "warning",
                    "settings": {"history": 192},
                }
            ],
            **alerts,
        },
    }
    return parse_config(data)
