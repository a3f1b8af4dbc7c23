"""API benchmark: requests/s and latency of /mentions searches and /stats/timeline over HTTP, beside the store.

Usage (from the repository root)::

    nice python benchmarks/api.py [--size 1M] [--clients 1,10,50] [--requests 300] [--max-seconds 30]
        [--dir var/bench-api] [--seed 11] [--port 0]

Builds (or reuses) a SQLite store of ``--size`` synthetic mentions, starts the
real server (``earshot serve``, uvicorn, one process) on 127.0.0.1, and for
each endpoint and each client count runs ``--requests`` requests (or stops
after ``--max-seconds``) from that many concurrent HTTP clients
(httpx, keep-alive). The same queries then run directly on the store, with
the same number of threads, so the API's overhead (HTTP, auth, validation,
JSON) is visible. Prints one table; figures go in docs/api.md.

The requests are what the marketing dashboard sends: a keyword query + one
brand + a 30-day range, first page of 50 newest hits with the total; and the
daily sentiment timeline for the same filter.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from api.security import new_api_key  # noqa: E402
from earshot.models import Mention, Sentiment  # noqa: E402
from earshot.query import parse  # noqa: E402
from store import open_store  # noqa: E402
from store.base import MentionFilter, MentionStore, SearchRequest  # noqa: E402

BRANDS = ["Acme", "Nordlys", "Globex", "Initech", "Umbrella"]
SOURCES = ["reddit", "hn", "mastodon", "bluesky", "review", "rss"]
LABELS = ["negative", "neutral", "positive"]
START = datetime(2025, 1, 1, tzinfo=UTC)
YEAR_S = 365 * 86_400
SYLLABLES = ["ka", "lo", "mi", "ren", "sa", "tor", "vel", "un", "qui", "bra", "dex", "fo", "ly", "ne", "pa", "zu"]


def parse_size(text: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", text.strip())
    if not m:
        raise SystemExit(f"bad size {text!r}: use e.g. 20k, 1M or 250000")
    return int(float(m.group(1)) * {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2).lower()])


class Corpus:
    """Deterministic synthetic mentions from a Zipf vocabulary."""

    def __init__(self, seed: int, vocab_size: int = 20_000) -> None:
        self.rng = random.Random(seed)
        seen: set[str] = set()
        while len(seen) < vocab_size:
            seen.add("".join(self.rng.choices(SYLLABLES, k=self.rng.randint(2, 4))))
        self.vocab = sorted(seen)
        self.rng.shuffle(self.vocab)
        total = 0.0
        self.cum = []
        for r in range(vocab_size):
            total += 1.0 / (r + 1)
            self.cum.append(total)
        self.sentiments = {
            label: Sentiment(label=label, scores={x: (0.8 if x == label else 0.1) for x in LABELS}, model="bench@1")
            for label in LABELS
        }

    def mentions(self, n: int, offset: int) -> Iterator[Mention]:
        rng = self.rng
        for i in range(offset, offset + n):
            n_words = rng.randint(8, 40) if rng.random() < 0.7 else rng.randint(40, 150)
            words = rng.choices(self.vocab, cum_weights=self.cum, k=n_words)
            brand = rng.choice(BRANDS)
            words.insert(rng.randrange(len(words) + 1), brand)
            source = SOURCES[i % len(SOURCES)]
            label = rng.choice(LABELS) if rng.random() < 0.95 else None
            yield Mention(
                id=f"a{i:08d}",
                source=source,
                source_id=str(i),
                url=f"https://{source}.example.com/{i}",
                author=f"user{rng.randrange(50_000)}",
                text=" ".join(words),
                language="en",
                published_at=START + timedelta(seconds=rng.randrange(YEAR_S)),
                brands=[brand],
                sentiment=self.sentiments[label] if label else None,
            )


def build_store(path: Path, size: int, seed: int) -> None:
    """A fresh store file unless one with the same size and seed is already there."""
    marker = path.with_suffix(".done")
    stamp = f"{size}:{seed}"
    if path.exists() and marker.exists() and marker.read_text() == stamp:
        print(f"reusing {path}", file=sys.stderr)
        return
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), marker):
        p.unlink(missing_ok=True)
    corpus = Corpus(seed)
    t = time.perf_counter()
    with open_store(f"sqlite:///{path}") as store:
        done = 0
        while done < size:
            chunk = list(corpus.mentions(min(5000, size - done), offset=done))
            store.upsert_mentions(chunk)
            done += len(chunk)
            if done % 100_000 == 0:
                print(f"  built {done:,} mentions ({time.perf_counter() - t:.0f}s)", file=sys.stderr, flush=True)
    marker.write_text(stamp)
    print(f"built {size:,} mentions in {time.perf_counter() - t:.0f}s", file=sys.stderr)


@dataclass(frozen=True)
class Request:
    q: str
    brand: str
    since: datetime
    until: datetime

    def params(self) -> dict[str, str]:
        return {"q": self.q, "brand": self.brand, "since": self.since.isoformat(), "until": self.until.isoformat()}

    def filter(self) -> MentionFilter:
        return MentionFilter(
            query=parse(self.q), brands=[self.brand], since=self.since, until=self.until, include_duplicates=False
        )


def workload(corpus: Corpus, n: int, seed: int) -> list[Request]:
    """Mid-frequency words, pairs and ORs, one brand, a random 30-day window."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        w1, w2 = corpus.vocab[rng.randrange(20, 1500)], corpus.vocab[rng.randrange(20, 1500)]
        q = [w1, f"{w1} {w2}", f"{w1} OR {w2}"][i % 3]
        since = START + timedelta(days=rng.randrange(0, 335))
        out.append(Request(q, rng.choice(BRANDS), since, since + timedelta(days=30)))
    return out


@dataclass
class Result:
    done: int
    seconds: float
    latencies_ms: list[float]
    errors: int

    @property
    def rps(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        xs = sorted(self.latencies_ms)
        if not xs:
            return float("nan")
        return xs[min(len(xs) - 1, max(0, round(p * len(xs)) - 1))]


async def http_run(base: str, key: str, path: str, extra: dict[str, str], reqs: list[Request], clients: int,
                   max_s: float) -> Result:
    """``clients`` concurrent keep-alive clients working through ``reqs``; stops at ``max_s``."""
    queue = list(reversed(reqs))
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + max_s
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while queue and time.perf_counter() < deadline:
            r = queue.pop()
            t = time.perf_counter()
            resp = await client.get(path, params={**r.params(), **extra}, headers=headers)
            latencies.append((time.perf_counter() - t) * 1000)
            if resp.status_code != 200:
                errors += 1

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        elapsed = time.perf_counter() - t0
    return Result(len(latencies), elapsed, latencies, errors)


def direct_run(call: Callable[[Request], object], reqs: list[Request], clients: int, max_s: float) -> Result:
    """The same requests straight on the store from ``clients`` threads."""
    deadline = time.perf_counter() + max_s
    latencies: list[float] = []

    def one(r: Request) -> None:
        if time.perf_counter() >= deadline:
            return
        t = time.perf_counter()
        call(r)
        latencies.append((time.perf_counter() - t) * 1000)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, reqs))
    return Result(len(latencies), time.perf_counter() - t0, latencies, 0)


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    t = time.perf_counter()
    while time.perf_counter() - t < timeout_s:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with code {proc.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit("the server did not become ready")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="1M", help="mentions in the store (default 1M; e.g. 20k for a quick run)")
    ap.add_argument("--clients", default="1,10,50", help="concurrent clients, comma-separated")
    ap.add_argument("--requests", type=int, default=300, help="requests per endpoint and client count")
    ap.add_argument("--max-seconds", type=float, default=30.0, help="time cap per endpoint and client count")
    ap.add_argument("--dir", default="var/bench-api", help="where the SQLite file is kept (reused across runs)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    ap.add_argument("--build-only", action="store_true", help="build the store file and stop")
    args = ap.parse_args()
    size = parse_size(args.size)
    levels = [int(c) for c in args.clients.split(",") if c.strip()]
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    db = (folder / f"api-{size}.db").resolve()
    build_store(db, size, args.seed)
    if args.build_only:
        return
    url = f"sqlite:///{db}"

    secret, record = new_api_key("benchmark", ["read"])
    with open_store(url) as store:
        store.save_api_key(record)
    corpus = Corpus(args.seed)
    reqs = workload(corpus, args.requests, args.seed + 1)

    port = args.port or _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "EARSHOT_LOG_LEVEL": "WARNING", "EARSHOT_STORE": url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "earshot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    rows: list[tuple[str, int, str, Result]] = []
    try:
        wait_ready(base, proc)
        endpoints = [
            ("/mentions", "/api/v1/mentions", {"limit": "50"}),
            ("/stats/timeline", "/api/v1/stats/timeline", {"interval": "1d", "split_by": "sentiment"}),
        ]
        for name, path, extra in endpoints:
            asyncio.run(http_run(base, secret, path, extra, reqs[:10], 1, args.max_seconds))  # warm up
            for n in levels:
                res = asyncio.run(http_run(base, secret, path, extra, reqs, n, args.max_seconds))
                rows.append((name, n, "HTTP", res))
                print(f"  {name} clients={n} http: {res.rps:.1f} req/s p95={res.pct(0.95):.1f} ms",
                      file=sys.stderr, flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    with open_store(url) as store:
        calls: dict[str, Callable[[Request], object]] = {
            "/mentions": lambda r: _search(store, r),
            "/stats/timeline": lambda r: store.timeline(r.filter(), 86_400, split_by="sentiment"),
        }
        for name, call in calls.items():
            direct_run(call, reqs[:10], 1, args.max_seconds)
            for n in levels:
                res = direct_run(call, reqs, n, args.max_seconds)
                rows.append((name, n, "store", res))

    print()
    print(f"{size:,} mentions in SQLite; {args.requests} requests per row (cap {args.max_seconds:.0f} s); "
          f"server: one uvicorn process on 127.0.0.1; clients in this process")
    print()
    print("| endpoint | clients | via | req/s | p50 ms | p95 ms | p99 ms | errors | HTTP/store p50 |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    direct = {(e, n): r for e, n, via, r in rows if via == "store"}
    for endpoint, n, via, res in sorted(rows, key=lambda x: (x[0], x[1], x[2] != "HTTP")):
        ratio = ""
        if via == "HTTP" and (endpoint, n) in direct:
            ratio = f"{res.pct(0.5) / max(direct[(endpoint, n)].pct(0.5), 1e-6):.1f}x"
        print(f"| {endpoint} | {n} | {via} | {res.rps:,.1f} | {res.pct(0.5):.1f} | {res.pct(0.95):.1f} | "
              f"{res.pct(0.99):.1f} | {res.errors} | {ratio} |")
    answered = sum(res.done for *_, res in rows)
    failed = sum(res.errors for *_, res in rows)
    print(f"\nrequests answered: {answered:,} ({failed} non-200)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _search(store: MentionStore, r: Request) -> object:
    return store.search(SearchRequest(filter=r.filter(), sort="time", limit=50))


if __name__ == "__main__":
    main()
