"""APScheduler 3.x job registration for the alert engine (used by ``earshot run`` / ``earshot worker``).

Three jobs, each with ``max_instances=1`` and ``coalesce=True`` so a slow run is
never stacked: ``alerts.evaluate`` (every ``interval``), ``alerts.dispatch``
(the outbox, every ``dispatch_interval``; separate so a slow channel never delays
evaluation) and ``alerts.digest`` (daily at ``alerts.digest_at`` UTC).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from alerts.engine import AlertEngine
from alerts.notifiers.base import Notifier
from alerts.outbox import OutboxDispatcher
from earshot.config import parse_duration

log = logging.getLogger(__name__)

JOB_IDS = ("alerts.evaluate", "alerts.dispatch", "alerts.digest")


def _safe(name: str, fn: Any) -> Any:
    def run() -> None:
        try:
            fn()
        except Exception:  # a failed run is logged; the next one tries again
            log.exception("event=job_failed job=%s", name)

    run.__name__ = name.replace(".", "_")
    return run


def add_alert_jobs(
    scheduler: Any,
    engine: AlertEngine,
    interval: str | timedelta | None = None,
    *,
    notifiers: Mapping[str, Notifier] | None = None,
    dispatcher: OutboxDispatcher | None = None,
    dispatch_interval: str | timedelta = "15s",
) -> list[Any]:
    """Register the alert jobs on an APScheduler 3.x scheduler; returns the jobs.

    ``interval`` defaults to ``alerts.interval`` from the config. Pass ``notifiers``
    (or a ready ``dispatcher``) to also deliver the outbox from this process.
    """
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    every = interval if isinstance(interval, timedelta) else parse_duration(interval or engine.config.alerts.interval)
    jobs = [
        scheduler.add_job(
            _safe("alerts.evaluate", engine.evaluate),
            IntervalTrigger(seconds=max(1, int(every.total_seconds()))),
            id="alerts.evaluate",
            name="evaluate alert rules",
            max_instances=1,
            coalesce=True,
            replace_existing=True,
        )
    ]
    if dispatcher is None and notifiers is not None:
        dispatcher = OutboxDispatcher(engine.store, notifiers)
    if dispatcher is not None:
        d_every = (
            dispatch_interval if isinstance(dispatch_interval, timedelta) else parse_duration(dispatch_interval)
        )
        jobs.append(
            scheduler.add_job(
                _safe("alerts.dispatch", dispatcher.dispatch),
                IntervalTrigger(seconds=max(1, int(d_every.total_seconds()))),
                id="alerts.dispatch",
                name="deliver queued notifications",
                max_instances=1,
                coalesce=True,
                replace_existing=True,
            )
        )
    hh, _, mm = engine.config.alerts.digest_at.partition(":")
    jobs.append(
        scheduler.add_job(
            _safe("alerts.digest", engine.enqueue_digest),
            CronTrigger(hour=int(hh), minute=int(mm or 0), timezone="UTC"),
            id="alerts.digest",
            name="daily alert digest",
            max_instances=1,
            coalesce=True,
            replace_existing=True,
        )
    )
    return jobs
