"""What a PATCH does to an alert: lifecycle transitions, assignment, notes and snoozes, with history.

Transitions follow the alert lifecycle (firing → acknowledged → resolved): a
resolved alert cannot be acknowledged again (a new spike opens a new alert),
and each change is appended to ``history`` with who made it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.problems import ProblemError
from api.schemas.alerts import AlertUpdate
from earshot.models import Alert, AlertNote, AlertStatus, as_utc, utcnow

MAX_SNOOZE = timedelta(days=30)


def apply_update(alert: Alert, update: AlertUpdate, *, actor: str) -> Alert:
    """A copy of ``alert`` with ``update`` applied; raises a 409/400 problem for impossible changes."""
    now = utcnow()
    fields: dict[str, Any] = {}
    events: list[dict[str, Any]] = []
    sent = update.model_fields_set

    if update.status is not None:
        target = AlertStatus(update.status)
        if alert.status == AlertStatus.RESOLVED and target == AlertStatus.ACKNOWLEDGED:
            raise ProblemError(
                409,
                f"alert {alert.id!r} is resolved; it cannot be acknowledged again (a new spike opens a new alert)",
                kind="invalid-transition",
                title="Invalid alert transition",
            )
        if target != alert.status:
            fields["status"] = target
            if target == AlertStatus.RESOLVED:
                fields["resolved_at"] = now
            events.append({"event": target.value, "from": alert.status.value})

    if "assignee" in sent and update.assignee != alert.assignee:
        fields["assignee"] = update.assignee
        events.append({"event": "assigned" if update.assignee else "unassigned", "assignee": update.assignee})

    if "snoozed_until" in sent:
        until = as_utc(update.snoozed_until) if update.snoozed_until else None
        if until is not None and not now < until <= now + MAX_SNOOZE:
            raise ProblemError(
                400,
                f"snoozed_until={until.isoformat()} must be in the future and at most 30 days ahead",
                kind="invalid-snooze",
            )
        fields["snoozed_until"] = until
        events.append({"event": "snoozed" if until else "unsnoozed", "until": until.isoformat() if until else None})

    if update.note is not None:
        fields["notes"] = [*alert.notes, AlertNote(at=now, author=actor, text=update.note)]
        events.append({"event": "noted"})

    if not fields:
        return alert
    stamped = [{"at": now.isoformat(), "by": actor, **e} for e in events]
    fields["history"] = [*alert.history, *stamped]
    fields["updated_at"] = now
    return alert.model_copy(update=fields)
