"""Hand-made lifecycle changes (CLI and library): acknowledge, resolve, assign, note, snooze.

The engine moves alerts on its own (open, escalate, auto-resolve); these are
the people's moves, each appended to the alert's history with who made it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from earshot.models import Alert, AlertNote, AlertStatus, utcnow


def _stamp(alert: Alert, by: str, now: datetime, events: list[dict[str, Any]], fields: dict[str, Any]) -> Alert:
    fields["history"] = [*alert.history, *({"at": now.isoformat(), "by": by, **e} for e in events)]
    fields["updated_at"] = now
    return alert.model_copy(update=fields)


def _common(
    alert: Alert, by: str, now: datetime, note: str | None, assignee: str | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    fields: dict[str, Any] = {}
    events: list[dict[str, Any]] = []
    if assignee is not None and assignee != alert.assignee:
        fields["assignee"] = assignee
        events.append({"event": "assigned", "assignee": assignee})
    if note:
        fields["notes"] = [*alert.notes, AlertNote(at=now, author=by, text=note)]
        events.append({"event": "noted"})
    return fields, events


def acknowledge(alert: Alert, *, by: str, note: str | None = None, assignee: str | None = None) -> Alert:
    if alert.status == AlertStatus.RESOLVED:
        raise ValueError(f"alert {alert.id!r} is resolved; it cannot be acknowledged (a new spike opens it again)")
    now = utcnow()
    fields, events = _common(alert, by, now, note, assignee)
    if alert.status != AlertStatus.ACKNOWLEDGED:
        fields["status"] = AlertStatus.ACKNOWLEDGED
        events.insert(0, {"event": "acknowledged", "from": alert.status.value})
    return _stamp(alert, by, now, events, fields) if events else alert


def resolve(alert: Alert, *, by: str, note: str | None = None, assignee: str | None = None) -> Alert:
    now = utcnow()
    fields, events = _common(alert, by, now, note, assignee)
    if alert.status != AlertStatus.RESOLVED:
        fields["status"] = AlertStatus.RESOLVED
        fields["resolved_at"] = now
        events.insert(0, {"event": "resolved", "from": alert.status.value})
    return _stamp(alert, by, now, events, fields) if events else alert


def snooze(alert: Alert, *, by: str, until: datetime | None) -> Alert:
    """Silence notifications for this alert until ``until`` (None lifts the snooze)."""
    now = utcnow()
    event = {"event": "snoozed" if until else "unsnoozed", "until": until.isoformat() if until else None}
    return _stamp(alert, by, now, [event], {"snoozed_until": until})
