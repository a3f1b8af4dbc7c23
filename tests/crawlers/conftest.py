"""Fixtures for the crawler tests: the local fake world, stores, a pipeline with deterministic nlp doubles."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from crawlers.base import CrawlContext
from crawlers.fakes import FakeWorld, sample_world
from earshot.config import Crawl, Source, WatchConfig, parse_config
from earshot.models import Sentiment
from earshot.pipeline import Pipeline
from earshot.settings import Settings

BLUESKY = {"bluesky_handle": "earshot.test", "bluesky_app_password": "app-pass-1234"}
REDDIT = {"reddit_client_id": "cid", "reddit_client_secret": "csecret"}


class WordScorer:
    """Deterministic stand-in for the transformer: a few negative/positive words decide the label."""

    model_name = "word-test/1"
    NEG = ("worst", "terrible", "lost", "cancelled", "delayed", "not impressed", "crashed", "not happy")
    POS = ("lovely", "great", "praise", "comfortable", "fixed", "smooth", "fine", "friendly")

    def score(self, texts: Sequence[str], languages: Sequence[str]) -> list[Sentiment | str]:
        out: list[Sentiment | str] = []
        for text in texts:
            low = text.lower()
            label = (
                "negative"
                if any(w in low for w in self.NEG)
                else "positive"
                if any(w in low for w in self.POS)
                else "neutral"
            )
            scores = {k: (0.8 if k == label else 0.1) for k in ("negative", "neutral", "positive")}
            out.append(Sentiment(label=label, scores=scores, model=self.model_name))  # type: ignore[arg-type]
        return out


class EnglishDetector:
    def detect(self, texts: Sequence[str]) -> list[str]:
        return ["en" if len(t) >= 10 else "und" for t in texts]


@pytest.fixture
def world() -> Iterator[FakeWorld]:
    w = sample_world().start()
    yield w
    w.stop()


@pytest.fixture
def crawl_cfg() -> Crawl:
    # No politeness delay against our own fake servers; 2 retries keep failure tests short.
    return Crawl(download_delay_s=0, retries=2, timeout_s=10, contact="crawler-tests@example.org")


@pytest.fixture
def settings() -> Settings:
    return Settings(env="test", **BLUESKY, **REDDIT)  # type: ignore[arg-type]


def make_ctx(source: Source, crawl: Crawl, settings: Settings, cursor: str | None = None) -> CrawlContext:
    return CrawlContext(source=source, crawl=crawl, settings=settings, cursor=cursor, brand_terms=["Nordlys"])


def all_sources_config(world: FakeWorld) -> WatchConfig:
    """A watch config with one source of every kind, each pointed at the local fakes."""
    site = world.url("site")
    return parse_config(
        {
            "brands": [{"name": "Nordlys", "aliases": ["Nordlys Air"]}],
            "crawl": {"download_delay_s": 0, "retries": 2, "timeout_s": 10, "contact": "tests@example.org"},
            "sources": [
                {"name": "news", "kind": "feed", "urls": [f"{site}/feeds/rss.xml", f"{site}/feeds/atom.xml"]},
                {"name": "blog", "kind": "web", "urls": [f"{site}/blog/"], "max_depth": 1},
                {"name": "reviews", "kind": "reviews", "urls": [f"{site}/reviews/jsonld?page=1"]},
                {"name": "reddit", "kind": "reddit", "base_url": world.url("reddit"), "subreddits": ["travel"]},
                {"name": "hn", "kind": "hackernews", "base_url": world.url("hn")},
                {"name": "mastodon", "kind": "mastodon", "instances": [world.url("mastodon")], "hashtags": ["nordlys"]},
                {"name": "bluesky", "kind": "bluesky", "base_url": world.url("bluesky")},
            ],
        }
    )


def make_pipeline(store, config: WatchConfig | None = None) -> Pipeline:
    from earshot.matching import BrandMatcher

    matcher = BrandMatcher.from_config(config) if config is not None and config.brands else None
    return Pipeline(store, matcher=matcher, scorer=WordScorer(), language_detector=EnglishDetector())


@pytest.fixture
def mem_store():
    from store.memory import MemoryStore

    store = MemoryStore()
    store.open()
    yield store
    store.close()


@pytest.fixture
def sqlite_store(tmp_path: Path):
    from store.sqlite import SQLiteStore

    path = tmp_path / "crawl.db"
    store = SQLiteStore(str(path), url=f"sqlite:///{path}")
    store.open()
    yield store
    store.close()
