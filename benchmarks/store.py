"""Embedded-store benchmark: ingest rate and search latency on SQLite, beside a LIKE-scan baseline.

Usage (from the repository root)::

    nice python benchmarks/store.py [--sizes 100k,1M] [--queries 200] [--baseline-queries 10]
        [--dir var/bench-store] [--seed 7]

For each size it builds a fresh SQLite store from synthetic mentions (tweet-,
post- and review-length texts from a Zipf vocabulary, 5 brands, 6 sources, a
year of timestamps, sentiment labels), timing ``upsert_mentions`` only (mention
generation and scoring excluded), then runs listening searches of the kind the
marketing dashboard sends: a keyword query + one brand + a 30-day range, first
page of 50 newest hits with the total, plus the daily sentiment breakdown
(``timeline(split_by="sentiment")``). The baseline answers the same requests
with a naive ``LIKE '%word%'`` scan over the same table (no FTS, no brand
index). Prints one table; figures go in docs/store.md.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from earshot.models import Mention, Sentiment  # noqa: E402
from earshot.query import parse  # noqa: E402
from store.base import MentionFilter, SearchRequest  # noqa: E402
from store.sqlite import SQLiteStore  # noqa: E402
from store.sqlite_query import to_us  # noqa: E402

BRANDS = ["Acme", "Nordlys", "Globex", "Initech", "Umbrella"]
SOURCES = ["reddit", "hn", "mastodon", "bluesky", "review", "rss"]
START = datetime(2025, 1, 1, tzinfo=UTC)
YEAR_S = 365 * 86_400
SYLLABLES = ["ka", "lo", "mi", "ren", "sa", "tor", "vel", "un", "qui", "bra", "dex", "fo", "ly", "ne", "pa", "zu"]
LABELS = ["negative", "neutral", "positive"]
SCORES = {
    label: Sentiment(label=label, scores={x: (0.8 if x == label else 0.1) for x in LABELS}, model="bench@1")  # type: ignore[misc]
    for label in LABELS
}


def parse_size(text: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", text.strip())
    if not m:
        raise SystemExit(f"bad size {text!r}: use e.g. 100k, 1M or 250000")
    return int(float(m.group(1)) * {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2).lower()])


class Corpus:
    """Deterministic synthetic mentions."""

    def __init__(self, seed: int, vocab_size: int = 30_000) -> None:
        self.rng = random.Random(seed)
        seen: set[str] = set()
        vocab: list[str] = []
        while len(vocab) < vocab_size:
            w = "".join(self.rng.choices(SYLLABLES, k=self.rng.randint(1, 4)))
            if w not in seen:
                seen.add(w)
                vocab.append(w)
        self.vocab = vocab
        # Zipf: the word at rank r has weight 1/r.
        self.cum = list(_accumulate(1.0 / (r + 1) for r in range(vocab_size)))

    def text(self, n_words: int, brand: str | None) -> str:
        ws = self.rng.choices(self.vocab, cum_weights=self.cum, k=n_words)
        if brand:
            ws.insert(self.rng.randrange(len(ws) + 1), self.rng.choice([brand, "#" + brand, "@" + brand.lower()]))
        return " ".join(ws)

    def mentions(self, n: int, offset: int = 0) -> Iterator[Mention]:
        rng = self.rng
        for i in range(offset, offset + n):
            kind = rng.random()
            # tweets/toots ~20 words, forum posts ~60, reviews ~150
            n_words = rng.randint(8, 40) if kind < 0.6 else rng.randint(30, 90) if kind < 0.9 else rng.randint(80, 250)
            brands = rng.sample(BRANDS, k=1 if rng.random() < 0.85 else 2)
            source = SOURCES[i % len(SOURCES)]
            label = rng.choice(LABELS) if rng.random() < 0.95 else None
            yield Mention(
                id=f"b{i:08d}",
                source=source,
                source_id=str(i),
                url=f"https://{source}.example.com/{i}",
                author=f"user{rng.randrange(50_000)}",
                title=self.text(rng.randint(3, 9), None) if source in ("review", "rss") else None,
                text=self.text(n_words, brands[0]),
                language="en",
                published_at=START + timedelta(seconds=rng.randrange(YEAR_S)),
                brands=brands,
                sentiment=SCORES[label] if label else None,
            )


def _accumulate(xs: Iterator[float]) -> Iterator[float]:
    total = 0.0
    for x in xs:
        total += x
        yield total


def ingest(store: SQLiteStore, corpus: Corpus, n: int, batch: int = 5000) -> tuple[float, float]:
    """Mentions per second for ``upsert_mentions`` alone: (wall clock, CPU time of this process)."""
    wall = cpu = 0.0
    done = 0
    while done < n:
        chunk = list(corpus.mentions(min(batch, n - done), offset=done))
        t, c = time.perf_counter(), time.process_time()
        store.upsert_mentions(chunk)
        wall += time.perf_counter() - t
        cpu += time.process_time() - c
        done += len(chunk)
    return n / wall, n / cpu


def workload(corpus: Corpus, n: int, seed: int, *, stress: bool = False) -> list[tuple[str, str, datetime, datetime]]:
    """(query text, brand, since, until) with a random 30-day range and brand.

    Listening queries use mid-frequency words (Zipf ranks 20–2000: product words,
    complaints, names): one word, two words, OR, NOT, proximity. ``stress`` queries
    put one of the 20 most frequent words (stop-word-like, in most mentions)
    first, which makes FTS read most of the range's postings.
    """
    rng = random.Random(seed)
    out = []
    for i in range(n):
        w1 = corpus.vocab[rng.randrange(20, 2000)]
        w2 = corpus.vocab[rng.randrange(20, 2000)]
        common = corpus.vocab[rng.randrange(0, 20)]
        if stress:
            text = [common, f"{common} -{w2}", f'"{common} {w1}"~3'][i % 3]
        else:
            text = [w1, f"{w1} {w2}", f"{w1} OR {w2}", f"{w1} -{w2}", f'"{w1} {w2}"~3'][i % 5]
        since = START + timedelta(days=rng.randrange(0, 335))
        out.append((text, rng.choice(BRANDS), since, since + timedelta(days=30)))
    return out


def percentiles(xs: list[float]) -> tuple[float, float]:
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, max(0, round(0.95 * len(xs)) - 1))]
    return statistics.median(xs), p95


def run_fts(store: SQLiteStore, queries: list[tuple[str, str, datetime, datetime]]) -> tuple[list[float], list[float]]:
    """Per request: (wall ms, CPU ms)."""
    wall, cpu = [], []
    for text, brand, since, until in queries:
        flt = MentionFilter(query=parse(text), brands=[brand], since=since, until=until)
        t, c = time.perf_counter(), time.process_time()
        store.search(SearchRequest(filter=flt, limit=50))
        store.timeline(flt, 86_400, split_by="sentiment")
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return wall, cpu


def run_like(store: SQLiteStore, queries: list[tuple[str, str, datetime, datetime]]) -> list[float]:
    """The naive way: substring LIKE over the stored JSON, brand by LIKE too, no FTS, no brand index."""
    conn = store._conn
    assert conn is not None
    times = []
    for text, brand, since, until in queries:
        terms = [t for t in re.findall(r"[a-z]+", text) if t not in ("or",)]
        like = " AND ".join("m.doc LIKE ?" for _ in terms)
        where = f"{like} AND m.doc LIKE ? AND m.published_us >= ? AND m.published_us < ?"
        params = [*(f"%{t}%" for t in terms), f'%"{brand}"%', to_us(since), to_us(until)]
        t = time.perf_counter()
        conn.execute(
            f"SELECT doc FROM mentions m NOT INDEXED WHERE {where} ORDER BY published_us DESC LIMIT 50", params
        ).fetchall()
        conn.execute(
            f"SELECT published_us / 86400000000, coalesce(sentiment, 'unscored'), count(*) FROM mentions m NOT INDEXED"
            f" WHERE {where} GROUP BY 1, 2",
            params,
        ).fetchall()
        times.append((time.perf_counter() - t) * 1000)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100k,1M", help="comma-separated store sizes (default 100k,1M)")
    ap.add_argument("--queries", type=int, default=200, help="search requests per size")
    ap.add_argument("--baseline-queries", type=int, default=10, help="LIKE-scan requests per size (slow)")
    ap.add_argument("--stress-queries", type=int, default=60, help="requests led by a stop-word-like word")
    ap.add_argument("--dir", default="var/bench-store", help="where the SQLite files go (deleted after)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    out = Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in sizes:
        path = out / f"bench-{size}.db"
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            p.unlink(missing_ok=True)
        corpus = Corpus(args.seed)
        store = SQLiteStore(path)
        with store:
            rate, cpu_rate = ingest(store, corpus, size)
            print(f"ingested size={size} wall={rate:.0f}/s cpu={cpu_rate:.0f}/s", file=sys.stderr, flush=True)
            queries = workload(corpus, args.queries, args.seed + size)
            run_fts(store, queries[:10])  # warm the page cache
            fts, fts_cpu = run_fts(store, queries)
            stress, _ = run_fts(store, workload(corpus, args.stress_queries, args.seed + size + 1, stress=True))
            like = run_like(store, queries[: args.baseline_queries])
        db_mb = path.stat().st_size / 1e6
        rows.append(
            (
                size,
                rate,
                cpu_rate,
                db_mb,
                *percentiles(fts),
                percentiles(fts_cpu)[1],
                *percentiles(like),
                *percentiles(stress),
            )
        )
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            p.unlink(missing_ok=True)
    print()
    print(
        "| mentions | ingest/s (wall) | ingest/s (CPU) | db MB | FTS p50 ms | FTS p95 ms | FTS p95 CPU ms"
        " | LIKE p50 ms | LIKE p95 ms | p50 speed-up | stop-word p50 ms | stop-word p95 ms |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, rate, cpu_rate, mb, p50, p95, c95, l50, l95, s50, s95 in rows:
        print(
            f"| {size:,} | {rate:,.0f} | {cpu_rate:,.0f} | {mb:,.0f} | {p50:.1f} | {p95:.1f} | {c95:.1f}"
            f" | {l50:.0f} | {l95:.0f} | {l50 / p50:.0f}x | {s50:.1f} | {s95:.1f} |"
        )
    print(
        f"\nrequests per size: {args.queries} FTS, {args.baseline_queries} LIKE, {args.stress_queries} stop-word;"
        " each = first page of 50 newest + total + daily sentiment counts"
    )


if __name__ == "__main__":
    main()
