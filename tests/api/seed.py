"""Deterministic mentions, alerts, source runs and keys for the API tests (no randomness, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from api.security import new_api_key
from earshot.config import WatchConfig, parse_config
from earshot.models import Alert, AlertStatus, ApiKey, Mention, Sentiment, Severity, SourceRun
from store.base import MentionStore

T0 = datetime(2025, 3, 1, tzinfo=UTC)
LABELS = ("negative", "neutral", "positive")
SOURCES = ("reddit", "hn", "review")
SITES = ("www.reddit.com", "news.ycombinator.com", "reviews.example.org", "blog.acme.com")
WORDS = ("checkout outage", "great support", "slow delivery", "love the app", "refund problem")


def sentiment(label: str) -> Sentiment:
    scores = {name: (0.8 if name == label else 0.1) for name in LABELS}
    return Sentiment(label=label, scores=scores, model="test-model-v1")  # type: ignore[arg-type]


def make_mention(i: int, *, at: datetime | None = None, brand: str | None = None) -> Mention:
    """Mention number ``i``: every 5 hours from T0, cycling sources, sites, sentiments, brands."""
    label = LABELS[i % 3]
    brand = brand or ("Globex" if i % 4 == 0 else "Acme")
    words = WORDS[i % len(WORDS)]
    return Mention(
        id=f"m{i:05d}",
        source=SOURCES[i % 3],
        source_id=str(i),
        url=f"https://{SITES[i % 4]}/post/{i}",
        author=f"user{i % 5}",
        title=f"{brand} post {i}" if i % 2 else None,
        text=f"{brand} {words} number {i}",
        language="en" if i % 6 else "de",
        published_at=at or T0 + timedelta(hours=5 * i),
        brands=[brand],
        sentiment=None if i % 10 == 7 else sentiment(label),
        unscored_reason="language" if i % 10 == 7 else None,
        duplicate_of="m00000" if i % 25 == 24 else None,
        metrics={"likes": float(i)},
    )


def seed_mentions(n: int = 60) -> list[Mention]:
    return [make_mention(i) for i in range(n)]


def seed_alerts() -> list[Alert]:
    base = T0 + timedelta(days=2)
    return [
        Alert(
            id=f"al{i}",
            key=f"rule{i % 2}:Acme",
            rule=f"rule{i % 2}",
            brand="Acme" if i != 2 else "Globex",
            metric="negative_volume",
            status=[AlertStatus.FIRING, AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED][i % 3],
            severity=Severity.WARNING,
            opened_at=base + timedelta(hours=i),
            updated_at=base + timedelta(hours=i),
            resolved_at=base + timedelta(hours=i + 1) if i % 3 == 2 else None,
            observed=40.0 + i,
            expected=6.0,
            score=5.0,
            evidence={"top_mentions": ["m00001"], "sources": {"reddit": 30}},
        )
        for i in range(4)
    ]


def seed_runs() -> list[SourceRun]:
    now = datetime.now(UTC)
    return [
        SourceRun(source="reddit", kind="reddit", started_at=now - timedelta(minutes=40),
                  finished_at=now - timedelta(minutes=39), seen=20, new=5, status="ok"),
        SourceRun(source="reddit", kind="reddit", started_at=now - timedelta(minutes=10),
                  finished_at=now - timedelta(minutes=9), seen=10, new=1, errors=2, status="partial",
                  error_messages=["GET https://api.example/x?token=abc123&q=1 returned 502"]),
        SourceRun(source="feeds", kind="feed", started_at=now - timedelta(minutes=5),
                  finished_at=now - timedelta(minutes=5), errors=1, status="failed",
                  error_messages=["connect to https://user:pw@feeds.example/rss failed"]),
    ]


CONFIG_DATA = {
    "brands": [
        {"name": "Acme", "aliases": ["acme"], "competitors": ["Globex"]},
        {"name": "Globex", "aliases": ["globex"], "own": False},
    ],
    "sources": [
        {"name": "reddit", "kind": "reddit", "interval": "15m", "subreddits": ["acme"]},
        {"name": "feeds", "kind": "feed", "interval": "15m", "urls": ["https://feeds.example/rss"]},
        {"name": "bluesky", "kind": "bluesky", "interval": "15m", "enabled": False},
    ],
    "alerts": {
        "rules": [
            {"name": "acme-negative-spike", "brand": "Acme", "metric": "negative_volume", "detector": "relative"},
        ]
    },
}


def seed_config() -> WatchConfig:
    return parse_config(CONFIG_DATA)


def add_key(store: MentionStore, name: str, scopes: list[str]) -> tuple[str, ApiKey]:
    secret, record = new_api_key(name, scopes)
    store.save_api_key(record)
    return secret, record


def seed_store(store: MentionStore, n: int = 60) -> dict[str, str]:
    """Fill ``store``; returns secrets for keys named read, write, admin and revoked."""
    store.upsert_mentions(seed_mentions(n))
    for alert in seed_alerts():
        store.save_alert(alert)
    for run in seed_runs():
        store.record_source_run(run)
    keys = {name: add_key(store, name, [name if name != "revoked" else "admin"])[0]
            for name in ("read", "write", "admin", "revoked")}
    revoked = next(k for k in store.list_api_keys() if k.name == "revoked")
    store.save_api_key(revoked.model_copy(update={"revoked_at": T0}))
    return keys


def write_survey(folder: Path, rows: int = 120) -> Path:
    """A small survey: 2025, two regions, CSAT 1–5 and NPS 0–10."""
    lines = ["date,region,csat,nps"] + [
        f"2025-{1 + i % 12:02d}-{1 + i % 28:02d},{('EMEA', 'APAC')[i % 2]},{1 + i % 5},{i % 11}" for i in range(rows)
    ]
    path = folder / "survey.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
