"""``/sources``: crawl health per source from the store's run records and the watch config."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from fastapi import APIRouter

from api.deps import ApiKeyDep, ConfigDep, StoreDep
from api.problems import problem_responses
from api.schemas.sources import HealthStatus, SourceHealth, SourceList
from earshot.config import Source, parse_duration
from earshot.models import SourceRun, utcnow

router = APIRouter(tags=["sources"])

RECENT_RUNS = 20
_SECRETISH = re.compile(r"(?i)\b(token|key|secret|password|passwd|auth|sig|signature)=([^&\s]+)")
_USERINFO = re.compile(r"//[^/@\s]+@")


def mask(message: str, limit: int = 300) -> str:
    """Drop credentials a crawler error might echo (``?token=…``, ``user:pass@``) and cap the length."""
    text = _USERINFO.sub("//***@", _SECRETISH.sub(r"\1=***", message))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _status(configured: Source | None, runs: list[SourceRun], last_success: datetime | None) -> HealthStatus:
    if configured is not None and not configured.enabled:
        return "disabled"
    finished = [r for r in runs if r.status != "running"]
    if not finished:
        return "never_run"
    last = finished[0].status
    if last == "failed":
        return "failing"
    if configured is not None:
        interval = max(parse_duration(configured.interval), timedelta(minutes=1))
        # Never succeeded: measure from the oldest run we know of.
        reference = last_success or finished[-1].started_at
        if utcnow() - reference > 3 * interval:
            return "stale"
    if last in ("partial", "not_configured"):
        return "degraded"
    return "ok"


def health(name: str, configured: Source | None, runs: list[SourceRun]) -> SourceHealth:
    ok_runs = [r for r in runs if r.status in ("ok", "partial")]
    last_success = max((r.finished_at or r.started_at for r in ok_runs), default=None)
    last_error = next((r.error_messages[-1] for r in runs if r.error_messages), None)
    return SourceHealth(
        name=name,
        kind=configured.kind if configured else (runs[0].kind or None if runs else None),
        configured=configured is not None,
        enabled=configured.enabled if configured else True,
        status=_status(configured, runs, last_success),
        last_run_at=runs[0].started_at if runs else None,
        last_run_status=runs[0].status if runs else None,
        last_success_at=last_success,
        runs=len(runs),
        errors=sum(r.errors for r in runs),
        items_per_run=round(sum(r.seen for r in runs) / len(runs), 2) if runs else None,
        new_per_run=round(sum(r.new for r in runs) / len(runs), 2) if runs else None,
        last_error=mask(last_error) if last_error else None,
    )


@router.get("/sources", response_model=SourceList, summary="Source health", responses=problem_responses(401, 403, 503))
def list_sources(store: StoreDep, config: ConfigDep, key: ApiKeyDep) -> SourceList:
    """Every configured source, and any other source with recorded runs: last run, last success,
    errors and items per run over its last 20 runs."""
    configured = {s.name: s for s in config.sources}
    names = list(configured)
    for run in store.source_runs(None, limit=500):
        if run.source not in configured and run.source not in names:
            names.append(run.source)
    items = [health(n, configured.get(n), store.source_runs(n, limit=RECENT_RUNS)) for n in names]
    return SourceList(items=items)
