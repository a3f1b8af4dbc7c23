"""Synthetic, scored web mentions and a watch config matching the sample survey.

For demos and tests only: ``sample_config()`` names the brand (Acme) with its
products and a competitor (Globex) and maps languages/sources to the survey's
regions; ``sample_mentions()`` yields mentions over 2024–2025 whose net sentiment
follows the survey's story (APAC improving, LATAM weak). Deterministic (fixed seed).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from earshot.config import WatchConfig, parse_config
from earshot.models import Mention, RawMention, Sentiment

REGION_LANGUAGES = {"de": "EMEA", "fr": "EMEA", "nl": "EMEA", "ja": "APAC", "ko": "APAC", "pt": "LATAM",
                    "es": "LATAM"}
MODEL = "earshot-sample-sentiment/1"


def sample_config() -> WatchConfig:
    return parse_config(
        {
            "brands": [
                {"name": "Acme", "aliases": ["acme"], "competitors": ["Globex"],
                 "products": {"Cloud": ["acme cloud"], "Mobile": ["acme app", "acme mobile"],
                              "Payments": ["acme pay"], "Hardware": ["acme box"]}},
                {"name": "Globex", "aliases": ["globex"], "own": False},
            ],
            "sources": [
                {"name": "reviews-us", "kind": "reviews", "region": "AMER"},
                {"name": "forum-apac", "kind": "web", "region": "APAC"},
            ],
            "reports": {"language_regions": REGION_LANGUAGES},
        },
        file="<sample config>",
    )


def _label(rng: random.Random, positive: float, negative: float) -> str:
    x = rng.random()
    return "positive" if x < positive else "negative" if x < positive + negative else "neutral"


def sample_mentions(seed: int = 7, per_day: int = 6) -> Iterator[Mention]:
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, 9, tzinfo=UTC)
    products = {"Cloud": "acme cloud", "Mobile": "acme app", "Payments": "acme pay"}
    i = 0
    for day in range(731):
        when = start + timedelta(days=day)
        t = day / 730
        for _ in range(per_day):
            i += 1
            brand = "Globex" if rng.random() < 0.35 else "Acme"
            region = rng.choices(["EMEA", "AMER", "APAC", "LATAM"], weights=[0.36, 0.3, 0.24, 0.1])[0]
            if region == "AMER":
                source, lang = "reviews-us", "en"
            elif region == "APAC" and rng.random() < 0.5:
                source, lang = "forum-apac", "en"
            else:
                source = "social"
                lang = rng.choice([k for k, v in REGION_LANGUAGES.items() if v == region])
            pos = {"EMEA": 0.42, "AMER": 0.45, "APAC": 0.25 + 0.25 * t, "LATAM": 0.3}[region]
            neg = {"EMEA": 0.2, "AMER": 0.18, "APAC": 0.35 - 0.17 * t, "LATAM": 0.33}[region]
            if brand == "Globex":
                pos, neg = 0.38, 0.24
            product = rng.choice(list(products))
            name = products[product] if brand == "Acme" else "globex"
            label = _label(rng, pos, neg)
            scores = {"positive": 0.1, "neutral": 0.1, "negative": 0.1}
            scores[label] = 0.8
            raw = RawMention(source=source, source_id=f"s{i}", url=f"https://example.org/{source}/{i}",
                             text=f"Talking about {name} today ({label}).", language=lang,
                             published_at=when + timedelta(minutes=rng.randrange(600)))
            scored = rng.random() > 0.03  # a few mentions stay unscored, as in real runs
            yield Mention.from_raw(
                raw, brands=[brand],
                sentiment=Sentiment(label=label, scores=scores, model=MODEL) if scored else None,
                unscored_reason=None if scored else "language not supported",
            )
