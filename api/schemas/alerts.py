"""Alert schemas: ``AlertPublic`` out, ``AlertUpdate`` in (acknowledge, assign, note, snooze, resolve); rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from earshot.config import AlertRule
from earshot.models import Alert, AlertNote


class AlertNotePublic(BaseModel):
    at: datetime
    author: str | None = None
    text: str

    @classmethod
    def from_model(cls, n: AlertNote) -> AlertNotePublic:
        return cls(at=n.at, author=n.author, text=n.text)


_ALERT_EXAMPLE: dict[str, Any] = {
    "id": "al_7f3a",
    "rule": "acme-negative-spike",
    "brand": "Acme",
    "group": None,
    "metric": "negative_volume",
    "status": "firing",
    "severity": "warning",
    "opened_at": "2025-03-04T10:00:00Z",
    "updated_at": "2025-03-04T10:00:00Z",
    "resolved_at": None,
    "last_fired_at": "2025-03-04T10:00:00Z",
    "bucket_start": "2025-03-04T09:00:00Z",
    "bucket_end": "2025-03-04T10:00:00Z",
    "observed": 48,
    "expected": 6.5,
    "score": 7.1,
    "assignee": None,
    "notes": [],
    "snoozed_until": None,
    "evidence": {"top_mentions": ["5f0c3b1e9a7d2c4b6e8f0a1b"], "sources": {"reddit": 30}},
    "history": [],
}


class AlertPublic(BaseModel):
    """An alert and its lifecycle: firing → acknowledged → resolved."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ALERT_EXAMPLE]})

    id: str
    rule: str
    brand: str | None = None
    group: str | None = None
    metric: str
    status: Literal["firing", "acknowledged", "resolved"]
    severity: Literal["notice", "warning", "critical"]
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    last_fired_at: datetime | None = None
    bucket_start: datetime | None = None
    bucket_end: datetime | None = None
    observed: float | None = Field(default=None, description="metric value in the bucket that fired")
    expected: float | None = Field(default=None, description="baseline the detector expected")
    score: float | None = Field(default=None, description="detector score (how unusual)")
    assignee: str | None = None
    notes: list[AlertNotePublic]
    snoozed_until: datetime | None = Field(default=None, description="no notifications until then")
    evidence: dict[str, Any] = Field(description="top mentions, sources and baseline behind the alert")
    history: list[dict[str, Any]] = Field(description="lifecycle events, oldest first")

    @classmethod
    def from_model(cls, a: Alert) -> AlertPublic:
        return cls(
            id=a.id,
            rule=a.rule,
            brand=a.brand,
            group=a.group,
            metric=a.metric,
            status=a.status.value,
            severity=a.severity.value,
            opened_at=a.opened_at,
            updated_at=a.updated_at,
            resolved_at=a.resolved_at,
            last_fired_at=a.last_fired_at,
            bucket_start=a.bucket_start,
            bucket_end=a.bucket_end,
            observed=a.observed,
            expected=a.expected,
            score=a.score,
            assignee=a.assignee,
            notes=[AlertNotePublic.from_model(n) for n in a.notes],
            snoozed_until=a.snoozed_until,
            evidence=dict(a.evidence),
            history=list(a.history),
        )


class AlertList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_ALERT_EXAMPLE]}]})

    items: list[AlertPublic]


class AlertUpdate(BaseModel):
    """A change to an alert; send any combination of fields (at least one).

    ``status``: `acknowledged` (someone is on it) or `resolved` (over). ``assignee``:
    who owns it (null unassigns). ``note``: appended with the key's name as author.
    ``snoozed_until``: hold its notifications until then (null clears the snooze).
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "minProperties": 1,
            "examples": [
                {"status": "acknowledged", "assignee": "maria@pr.example", "note": "Looking into it with support."},
                {"snoozed_until": "2025-03-04T18:00:00Z"},
                {"status": "resolved", "note": "Outage fixed at 11:40."},
            ]
        },
    )

    status: Literal["acknowledged", "resolved"] | None = None
    assignee: str | None = Field(default=None, min_length=1, max_length=200)
    note: str | None = Field(default=None, min_length=1, max_length=5000)
    snoozed_until: datetime | None = None

    @model_validator(mode="after")
    def _something(self) -> AlertUpdate:
        if not self.model_fields_set:
            raise ValueError("send at least one of status, assignee, note, snoozed_until")
        return self


class RulePublic(BaseModel):
    """An alert rule as configured in the watch config (``alerts.rules``)."""

    name: str
    brand: str | None = None
    query: str | None = None
    metric: str
    bucket: str
    detector: str
    settings: dict[str, Any]
    min_volume: int
    severity: str
    cooldown: str
    channels: list[str]
    quiet_hours: str | None = None
    count_duplicates: bool
    source: str | None = None
    group_by: str | None = None

    @classmethod
    def from_model(cls, r: AlertRule) -> RulePublic:
        return cls(**r.model_dump())


class RuleList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "name": "acme-negative-spike",
                            "brand": "Acme",
                            "query": None,
                            "metric": "negative_volume",
                            "bucket": "1h",
                            "detector": "seasonal",
                            "settings": {},
                            "min_volume": 10,
                            "severity": "warning",
                            "cooldown": "6h",
                            "channels": ["pr-slack"],
                            "quiet_hours": None,
                            "count_duplicates": False,
                            "source": None,
                            "group_by": None,
                        }
                    ]
                }
            ]
        }
    )

    items: list[RulePublic]
