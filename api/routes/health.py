"""``/healthz`` (liveness, no auth) and ``/readyz`` (the store answers)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request

from api.deps import StoreDep
from api.problems import ProblemError, problem_responses
from api.schemas.health import Health, Ready

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness")
def healthz() -> Health:
    """The process is up. No API key needed."""
    return Health(status="ok")


@router.get("/readyz", response_model=Ready, summary="Readiness", responses=problem_responses(503))
def readyz(request: Request, store: StoreDep) -> Ready:
    """The store answers a ping. No API key needed."""
    try:
        ok = store.ping()
    except Exception as exc:
        log.warning("event=readiness_failed error_type=%s", type(exc).__name__)
        ok = False
    if not ok:
        raise ProblemError(503, "the store does not answer; check the store URL and that it is running",
                           kind="store-unavailable", title="Store unavailable")
    return Ready(status="ready", store=type(store).__name__)
