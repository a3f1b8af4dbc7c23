"""Run one Scrapy crawl in a child process and read back its items and errors.

Why a child process per crawl: Twisted's reactor can be started once per
process, so a long-lived service (the scheduler, ``earshot crawl`` looping)
cannot run ``CrawlerProcess`` twice. Scrapy's ``CrawlerRunner`` on an asyncio
reactor avoids the restart, but then every crawl shares one reactor, one
event loop and the installed signal handlers with the rest of the process,
and a spider that hangs or leaks memory takes the service down with it. A
child process per crawl is simpler and sturdier: a fresh reactor every time,
a hard timeout (the child is killed), memory returned at exit, and the
parent never imports Scrapy or Twisted. The cost is ~1 s of start-up per
source per run, nothing next to the politeness delays of a crawl.

Protocol: the parent writes a JSON spec (kind, source, crawl settings, cursor
state) to a temp file and runs ``python -m crawlers.scrapy_job SPEC OUT``; the
child writes JSON lines (``item``, ``error``, ``skip``, ``stats``) to ``OUT``
as they happen, so even a crashed child hands back what it scraped.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawlers.base import CrawlBatch, CrawlContext, dump_cursor, load_cursor, remember
from crawlers.polite import user_agent

logger = logging.getLogger(__name__)

_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class SpiderRun:
    items: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_ids: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    exit_code: int = 0
    finished: bool = False


def scrapy_settings(spec: dict[str, Any]) -> dict[str, Any]:
    """Scrapy settings from the watch config's ``crawl`` section and the source (politeness lives here)."""
    from earshot.config import Crawl

    crawl = Crawl.model_validate(spec["crawl"])
    source = spec["source"]
    options = source.get("options") or {}
    timeout = float(spec.get("timeout_s", 600))
    delay = float(options.get("download_delay_s", crawl.download_delay_s))
    per_domain = int(options.get("concurrency_per_domain", crawl.concurrency_per_domain))
    return {
        "BOT_NAME": "earshot",
        "USER_AGENT": user_agent(crawl),
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        "ROBOTSTXT_USER_AGENT": crawl.user_agent,
        # AutoThrottle adapts the per-domain delay to the server's latency, never below DOWNLOAD_DELAY.
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": max(delay, 0.05),
        "AUTOTHROTTLE_MAX_DELAY": max(60.0, delay),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(per_domain),
        "DOWNLOAD_DELAY": delay,
        "RANDOMIZE_DOWNLOAD_DELAY": True,
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": per_domain,
        "DOWNLOAD_TIMEOUT": crawl.timeout_s,
        "DOWNLOAD_MAXSIZE": crawl.max_page_bytes,
        "DOWNLOAD_WARNSIZE": max(1, crawl.max_page_bytes // 2),
        # Connection errors: Scrapy's RetryMiddleware; HTTP 429/5xx: ours, with backoff and Retry-After.
        "RETRY_ENABLED": True,
        "RETRY_TIMES": crawl.retries,
        "RETRY_HTTP_CODES": [],
        "EARSHOT_RETRIES": crawl.retries,
        "EARSHOT_MAX_RETRY_WAIT_S": float(options.get("max_retry_wait_s", 120)),
        "DOWNLOADER_MIDDLEWARES": {"crawlers.spiders.RetryAfterMiddleware": 555},
        "ITEM_PIPELINES": {"crawlers.spiders.SinkPipeline": 100},
        "REDIRECT_MAX_TIMES": 5,
        # Link depth bounds the web crawl; review pagination has its own max_pages, feeds follow one hop.
        "DEPTH_LIMIT": int(source.get("max_depth", 1)) if spec["kind"] == "web" else 0,
        "CLOSESPIDER_TIMEOUT": max(1.0, timeout - 5),
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,  # no listening ports from a crawl child
        "LOG_LEVEL": os.environ.get("EARSHOT_SCRAPY_LOG_LEVEL", "WARNING"),
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    }


def run_spider(kind: str, ctx: CrawlContext, state: dict[str, Any]) -> SpiderRun:
    """Crawl ``ctx.source`` with the spider for ``kind`` in a child process; never raises for crawl problems."""
    timeout = float(ctx.option("run_timeout_s", 600))
    spec = {
        "kind": kind,
        "source": ctx.source.model_dump(mode="json"),
        "crawl": ctx.crawl.model_dump(mode="json"),
        "state": state,
        "timeout_s": timeout,
    }
    result = SpiderRun()
    with tempfile.TemporaryDirectory(prefix="earshot-crawl-") as tmp:
        spec_path = Path(tmp) / "spec.json"
        out_path = Path(tmp) / "out.jsonl"
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        out_path.touch()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH", "")) if p)
        cmd = [sys.executable, "-m", "crawlers.scrapy_job", str(spec_path), str(out_path)]
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout + 30, check=False)
            result.exit_code = proc.returncode
            stderr = proc.stderr
        except subprocess.TimeoutExpired as exc:
            result.exit_code = -9
            stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
            ctx.errors.add("timeout", f"crawl killed after {timeout + 30:.0f}s; kept what it had scraped")
        _read_output(out_path, result, ctx)
    if result.exit_code not in (0, -9) or not result.finished:
        tail = " | ".join(stderr.strip().splitlines()[-3:])
        if result.exit_code != -9:
            ctx.errors.add("crash", f"crawl process exited with {result.exit_code}: {tail[:300]}")
    elif stderr.strip():
        logger.debug("scrapy_stderr source=%s tail=%r", ctx.source.name, stderr[-2000:])
    return result


def to_mentions(ctx: CrawlContext, items: list[dict[str, Any]]) -> list[Any]:
    """Spider items → validated RawMentions; a bad item is counted, never fatal. Missing dates → now."""
    from pydantic import ValidationError

    from crawlers.text import parse_date
    from earshot.models import RawMention, utcnow

    out: list[RawMention] = []
    for item in items:
        raw = dict(item.get("raw") or {})
        published = parse_date(item.get("published_at"))
        if published is None:
            # Kept, dated when we first saw it; flagged so analysts can tell.
            published = utcnow()
            raw["date_missing"] = True
        try:
            out.append(
                RawMention(
                    source=ctx.source.name,
                    source_id=item.get("source_id") or None,
                    url=item.get("url") or None,
                    author=(str(item["author"]).strip() or None) if item.get("author") else None,
                    title=item.get("title") or None,
                    text=item.get("text") or "",
                    published_at=published,
                    rating=item.get("rating"),
                    metrics=item.get("metrics") or {},
                    raw=raw,
                )
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            ctx.errors.add("invalid", f"{'.'.join(map(str, first['loc']))}: {first['msg']}", id=item.get("source_id"))
    return out


def crawl_remembering_ids(ctx: CrawlContext, kind: str, *, remember_skipped: bool) -> CrawlBatch:
    """Run spider ``kind`` with the cursor's recent ids as ``seen``; the new cursor adds the ids read.

    ``remember_skipped`` also moves the ids the spider skipped to the newest end of
    the cursor, so an entry still listed somewhere is not forgotten.
    """
    seen: list[str] = list(load_cursor(ctx.cursor).get("seen") or [])
    run = run_spider(kind, ctx, {"seen": seen})
    mentions = to_mentions(ctx, run.items)
    skipped = run.skipped.get("seen", 0)
    batch = CrawlBatch(mentions=mentions, seen=len(run.items) + skipped, skipped=skipped)
    new_ids = [m.effective_source_id() for m in mentions]
    if remember_skipped:
        new_ids += run.skipped_ids
    batch.cursor = dump_cursor({"seen": remember(seen, new_ids, int(ctx.option("remember", 5000)))})
    return batch


def _read_output(path: Path, result: SpiderRun, ctx: CrawlContext) -> None:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line cut short by a killed child
            kind = record.get("type")
            if kind == "item":
                result.items.append(record["item"])
                ctx.report(len(result.items))
            elif kind == "error":
                result.errors.append(record)
                ctx.errors.add(record.get("kind", "error"), record.get("message", ""), url=record.get("url", ""))
            elif kind == "skip":
                reason = record.get("reason", "skip")
                result.skipped[reason] = result.skipped.get(reason, 0) + 1
                if record.get("id"):
                    result.skipped_ids.append(str(record["id"]))
            elif kind == "stats":
                result.stats = record.get("stats") or {}
                result.finished = True


def _child(spec_path: str, out_path: str) -> int:
    from scrapy.crawler import CrawlerProcess

    from crawlers.spiders import SPIDERS, Output

    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    with open(out_path, "a", encoding="utf-8") as stream:
        out = Output(stream)
        process = CrawlerProcess(scrapy_settings(spec), install_root_handler=True)
        crawler = process.create_crawler(SPIDERS[spec["kind"]])
        process.crawl(crawler, spec=spec, out=out)
        process.start()
        stats = crawler.stats.get_stats() if crawler.stats else {}
        stream.write(json.dumps({"type": "stats", "stats": stats}, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1], sys.argv[2]))
