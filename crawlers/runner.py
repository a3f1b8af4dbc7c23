"""Run configured sources: crawl from the stored cursor → pipeline → store → cursor → run record.

Order matters for "never lose what was stored": the crawler's items go
through :meth:`earshot.pipeline.Pipeline.process` (stored batch by batch),
and only when every item was stored is the source's new cursor saved. If
anything fails in between, the old cursor stays and the next run fetches the
same items again; mention ids (source + source id) make that idempotent.
Every run, whatever happened, leaves a :class:`~earshot.models.SourceRun` in
the store (``earshot sources``, source-silence alerts, coverage in reports).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from crawlers.base import CrawlContext, Crawler, crawler_for
from earshot.config import Source, WatchConfig
from earshot.errors import InputError, MissingExtraError, NotConfiguredError
from earshot.models import RawMention, SourceRun, utcnow
from earshot.settings import Settings, get_settings

if TYPE_CHECKING:
    from earshot.pipeline import PipelineResult
    from store.base import MentionStore

logger = logging.getLogger(__name__)


class MentionPipeline(Protocol):
    """What the runner needs of :class:`earshot.pipeline.Pipeline`."""

    def process(self, raws: Sequence[RawMention]) -> PipelineResult: ...


#: called with (source name, event, number): event is "start", "progress" or "done"
ProgressHook = Callable[[str, str, int], None]


def brand_terms(config: WatchConfig) -> list[str]:
    """Every brand's name and aliases (competitors included): the default search terms of a source."""
    out: list[str] = []
    for brand in config.brands:
        for term in (brand.name, *brand.aliases):
            term = term.lstrip("#@").strip()
            if term and term.casefold() not in {t.casefold() for t in out}:
                out.append(term)
    return out


def select_sources(config: WatchConfig, name: str | None = None) -> list[Source]:
    """The enabled sources, or the one named (enabled or not); an unknown name lists the known ones."""
    if name is None:
        return [s for s in config.sources if s.enabled]
    for source in config.sources:
        if source.name == name:
            return [source]
    known = ", ".join(s.name for s in config.sources) or "none configured"
    raise InputError(f"unknown source {name!r}; configured sources: {known}")


@dataclass
class SourceOutcome:
    run: SourceRun
    stored: int = 0
    filtered: int = 0


def run_source(
    source: Source,
    config: WatchConfig,
    store: MentionStore,
    pipeline: MentionPipeline,
    *,
    settings: Settings | None = None,
    progress: ProgressHook | None = None,
    crawler: Crawler | None = None,
) -> SourceOutcome:
    """One run of one source. Never raises for a source problem: the run record says what happened."""
    started = time.perf_counter()
    run = SourceRun(source=source.name, kind=source.kind, started_at=utcnow(), status="running")
    outcome = SourceOutcome(run)
    old_cursor = store.get_cursor(source.name)
    ctx = CrawlContext(
        source=source,
        crawl=config.crawl,
        settings=settings or get_settings(),
        cursor=old_cursor,
        brand_terms=brand_terms(config),
        progress=(lambda n: progress(source.name, "progress", n)) if progress else None,
    )
    if progress:
        progress(source.name, "start", 0)
    try:
        fetch = crawler or crawler_for(source.kind)
        batch = fetch(ctx)
    except (NotConfiguredError, MissingExtraError) as exc:
        run.status = "not_configured"
        run.error_messages = [str(exc)]
        logger.info("crawl_skipped source=%s reason=%r", source.name, str(exc))
        return _finish(store, outcome, started, progress)
    except Exception as exc:  # a crawler bug must not stop the other sources
        logger.exception("crawl_failed source=%s", source.name)
        ctx.errors.add("crash", f"{type(exc).__name__}: {exc}")
        run.status = "failed"
        run.errors, run.error_messages = ctx.errors.count, list(ctx.errors.messages)
        return _finish(store, outcome, started, progress)

    run.seen = batch.seen or len(batch.mentions)
    try:
        result = pipeline.process(batch.mentions)
    except Exception as exc:  # the store refused: earlier batches are kept, the cursor is not advanced
        logger.exception("crawl_store_failed source=%s", source.name)
        ctx.errors.add("store", f"{type(exc).__name__}: {exc}")
        run.status = "failed"
        run.errors, run.error_messages = ctx.errors.count, list(ctx.errors.messages)
        return _finish(store, outcome, started, progress)

    complete = result.received == len(batch.mentions)
    if complete and batch.cursor is not None and batch.cursor != old_cursor:
        store.set_cursor(source.name, batch.cursor)
    failed = getattr(result, "failed", 0)
    run.new = result.inserted
    # Seen but not new: already stored unchanged, a near/exact duplicate of another mention, the same item
    # twice in this run (e.g. a hashtag timeline and the search), or skipped by the cursor (or deleted).
    run.duplicates = result.unchanged + result.duplicates + max(0, run.seen - len(batch.mentions))
    run.errors = ctx.errors.count + failed
    run.error_messages = list(ctx.errors.messages)
    outcome.stored, outcome.filtered = result.stored, result.filtered
    if run.errors == 0 and complete:
        run.status = "ok"
    elif run.seen == 0 and not batch.mentions:
        run.status = "failed"
    else:
        run.status = "partial"
    return _finish(store, outcome, started, progress)


def _finish(
    store: MentionStore, outcome: SourceOutcome, started: float, progress: ProgressHook | None
) -> SourceOutcome:
    run = outcome.run
    run.finished_at = utcnow()
    try:
        store.record_source_run(run)
    except Exception:  # the run record is bookkeeping; the mentions are already stored
        logger.exception("source_run_not_recorded source=%s", run.source)
    logger.info(
        "crawl_done source=%s kind=%s status=%s seen=%d new=%d duplicates=%d filtered=%d errors=%d duration_s=%.2f",
        run.source,
        run.kind,
        run.status,
        run.seen,
        run.new,
        run.duplicates,
        outcome.filtered,
        run.errors,
        time.perf_counter() - started,
    )
    if progress:
        progress(run.source, "done", run.new)
    return outcome


def run_sources(
    config: WatchConfig,
    store: MentionStore,
    pipeline: MentionPipeline,
    *,
    name: str | None = None,
    settings: Settings | None = None,
    progress: ProgressHook | None = None,
) -> list[SourceOutcome]:
    """Run every enabled source (or the one named), one after the other."""
    return [
        run_source(source, config, store, pipeline, settings=settings, progress=progress)
        for source in select_sources(config, name)
    ]
