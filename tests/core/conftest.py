"""Shared fixtures for the core tests: a fake scorer/detector/deduplicator and a CLI bound to one store."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from earshot.models import Mention, RawMention, Sentiment
from store.memory import MemoryStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def raw(i: int, text: str, source: str = "reddit", **kw) -> RawMention:
    return RawMention(source=source, source_id=str(i), text=text, published_at=T0 + timedelta(minutes=i), **kw)


class KeywordScorer:
    """A deterministic stand-in for the transformer: 'bad'/'terrible' → negative, 'great' → positive."""

    model_name = "keyword-test/1"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def score(self, texts: Sequence[str], languages: Sequence[str]) -> list[Sentiment | str]:
        self.calls.append(len(texts))
        out: list[Sentiment | str] = []
        for t in texts:
            low = t.lower()
            if "unscorable" in low:
                out.append("text too short")
                continue
            label = "negative" if ("bad" in low or "terrible" in low) else "positive" if "great" in low else "neutral"
            scores = {k: (0.8 if k == label else 0.1) for k in ("negative", "neutral", "positive")}
            out.append(Sentiment(label=label, scores=scores, model=self.model_name))
        return out


class PrefixLanguage:
    """'de:' prefixed texts are German, everything else English (short texts 'und')."""

    def __init__(self) -> None:
        self.seen = 0

    def detect(self, texts: Sequence[str]) -> list[str]:
        self.seen += len(texts)
        return ["de" if "de:" in t else ("und" if len(t) < 8 else "en") for t in texts]


class HashDedup:
    """Exact duplicates by content hash; the first seen wins."""

    def __init__(self) -> None:
        self.first: dict[str, str] = {}

    def check(self, mention: Mention) -> str | None:
        first = self.first.setdefault(mention.content_hash, mention.id)
        return None if first == mention.id else first


@pytest.fixture
def mem_store() -> Iterator[MemoryStore]:
    store = MemoryStore()
    store.open()
    yield store
    store.close()
