"""Source health: last run, last success, errors and items per run, per source."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

HealthStatus = Literal["ok", "degraded", "failing", "stale", "never_run", "disabled"]


class SourceHealth(BaseModel):
    name: str
    kind: str | None = Field(default=None, description="configured kind (feed, reddit, …); null if not configured")
    configured: bool = Field(description="listed in the watch config")
    enabled: bool
    status: HealthStatus = Field(
        description=(
            "ok: last run succeeded; degraded: last run partial; failing: last run failed; "
            "stale: no success for 3 intervals; never_run; disabled"
        )
    )
    last_run_at: datetime | None = None
    last_run_status: str | None = None
    last_success_at: datetime | None = None
    runs: int = Field(ge=0, description="recent runs considered")
    errors: int = Field(ge=0, description="errors over those runs")
    items_per_run: float | None = Field(default=None, description="mean items seen per run")
    new_per_run: float | None = Field(default=None, description="mean new mentions per run")
    last_error: str | None = Field(default=None, description="most recent error message (truncated, secrets masked)")


class SourceList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "name": "reddit",
                            "kind": "reddit",
                            "configured": True,
                            "enabled": True,
                            "status": "degraded",
                            "last_run_at": "2025-03-04T10:00:00Z",
                            "last_run_status": "partial",
                            "last_success_at": "2025-03-04T10:00:41Z",
                            "runs": 20,
                            "errors": 2,
                            "items_per_run": 48.5,
                            "new_per_run": 6.2,
                            "last_error": "GET https://oauth.reddit.com/r/acme/new?token=*** returned 502",
                        }
                    ]
                }
            ]
        }
    )

    items: list[SourceHealth]
