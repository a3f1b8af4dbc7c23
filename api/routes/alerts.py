"""``/alerts`` and ``/rules``: list and read alerts, act on them (acknowledge, assign, note, snooze, resolve)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.alert_actions import apply_update
from api.deps import ApiKeyDep, ConfigDep, StoreDep, WriteKeyDep
from api.filters import TimeRangeDep
from api.problems import ProblemError, problem_responses
from api.schemas.alerts import AlertList, AlertPublic, AlertUpdate, RuleList, RulePublic
from earshot.models import AlertStatus

log = logging.getLogger(__name__)

router = APIRouter(tags=["alerts"])

_ID = Annotated[str, Path(max_length=200, description="The alert's id.", examples=["al_7f3a"])]


@router.get(
    "/alerts", response_model=AlertList, summary="List alerts", responses=problem_responses(400, 401, 403, 422, 503)
)
def list_alerts(
    store: StoreDep,
    key: ApiKeyDep,
    times: TimeRangeDep,
    status: Annotated[AlertStatus | None, Query(description="Only alerts in this state.")] = None,
    brand: Annotated[str | None, Query(max_length=200, description="Only alerts for this brand.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many (default 100).")] = 100,
) -> AlertList:
    """Alerts, most recently updated first. `since`/`until` bound their last update;
    `brand` looks through the 500 most recently updated."""
    # The store filters by status and time only; for a brand, look through the 500 most recent.
    alerts = store.list_alerts(status=status, since=times.since, limit=limit if brand is None else 500)
    if times.until is not None:
        alerts = [a for a in alerts if a.updated_at < times.until]
    if brand is not None:
        alerts = [a for a in alerts if a.brand == brand]
    return AlertList(items=[AlertPublic.from_model(a) for a in alerts[:limit]])


@router.get(
    "/alerts/{alert_id}",
    response_model=AlertPublic,
    summary="Get one alert",
    responses=problem_responses(401, 403, 404, 422, 503),
)
def get_alert(store: StoreDep, key: ApiKeyDep, alert_id: _ID) -> AlertPublic:
    """One alert with its evidence (top mentions, sources, baseline), notes and history."""
    alert = store.get_alert(alert_id)
    if alert is None:
        raise ProblemError(404, f"no alert with id {alert_id!r}", kind="not-found", title="Alert not found")
    return AlertPublic.from_model(alert)


@router.patch(
    "/alerts/{alert_id}",
    response_model=AlertPublic,
    summary="Acknowledge, assign, annotate, snooze or resolve an alert",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
)
def update_alert(store: StoreDep, key: WriteKeyDep, alert_id: _ID, update: AlertUpdate) -> AlertPublic:
    """Change an alert's state; needs an API key with the `write` scope.

    A resolved alert can still be annotated but not acknowledged again; a new
    spike opens a new alert.
    """
    alert = store.get_alert(alert_id)
    if alert is None:
        raise ProblemError(404, f"no alert with id {alert_id!r}", kind="not-found", title="Alert not found")
    changed = apply_update(alert, update, actor=key.name)
    store.save_alert(changed)
    log.info("event=alert_updated alert_id=%s key_id=%s status=%s", alert_id, key.id, changed.status.value)
    return AlertPublic.from_model(changed)


@router.get("/rules", response_model=RuleList, summary="Alert rules", responses=problem_responses(401, 403, 503))
def list_rules(config: ConfigDep, key: ApiKeyDep) -> RuleList:
    """The alert rules of the watch config (`alerts.rules`), in file order."""
    return RuleList(items=[RulePublic.from_model(r) for r in config.alerts.rules])
