"""What a PATCH does to an alert, on top of :mod:`alerts.lifecycle` (the same moves as the CLI's).

Acknowledge and resolve go through ``alerts.lifecycle`` so the API and
``earshot alerts ack/resolve`` behave alike; assigning, unassigning and
annotating without a status change, and the snooze bounds, are handled here
with the same history events. Impossible moves become 409/400 problems.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from alerts import lifecycle
from api.problems import ProblemError
from api.schemas.alerts import AlertUpdate
from earshot.models import Alert, AlertNote, as_utc, utcnow

MAX_SNOOZE = timedelta(days=30)


def _annotate(alert: Alert, update: AlertUpdate, actor: str) -> Alert:
    """Assign/unassign and add a note without touching the status."""
    now = utcnow()
    fields: dict[str, Any] = {}
    events: list[dict[str, Any]] = []
    if "assignee" in update.model_fields_set and update.assignee != alert.assignee:
        fields["assignee"] = update.assignee
        events.append({"event": "assigned" if update.assignee else "unassigned", "assignee": update.assignee})
    if update.note is not None:
        fields["notes"] = [*alert.notes, AlertNote(at=now, author=actor, text=update.note)]
        events.append({"event": "noted"})
    if not events:
        return alert
    fields["history"] = [*alert.history, *({"at": now.isoformat(), "by": actor, **e} for e in events)]
    fields["updated_at"] = now
    return alert.model_copy(update=fields)


def apply_update(alert: Alert, update: AlertUpdate, *, actor: str) -> Alert:
    """A copy of ``alert`` with ``update`` applied; raises a 409/400 problem for impossible changes."""
    sent = update.model_fields_set
    until = None
    if "snoozed_until" in sent and update.snoozed_until is not None:
        until = as_utc(update.snoozed_until)
        now = utcnow()
        if not now < until <= now + MAX_SNOOZE:
            raise ProblemError(
                400,
                f"snoozed_until={until.isoformat()} must be in the future and at most 30 days ahead",
                kind="invalid-snooze",
            )

    changed = alert
    if update.status is not None:
        move = lifecycle.acknowledge if update.status == "acknowledged" else lifecycle.resolve
        try:
            # lifecycle takes assignee=None as "unchanged"; an explicit unassign is applied below.
            changed = move(changed, by=actor, note=update.note, assignee=update.assignee or None)
        except ValueError as exc:
            raise ProblemError(409, str(exc), kind="invalid-transition", title="Invalid alert transition") from None
        if "assignee" in sent and update.assignee is None and changed.assignee is not None:
            changed = _annotate(changed, AlertUpdate(assignee=None), actor)
    else:
        changed = _annotate(changed, update, actor)

    if "snoozed_until" in sent:
        changed = lifecycle.snooze(changed, by=actor, until=until)
    return changed
