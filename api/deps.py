"""Shared FastAPI dependencies as ``Annotated`` aliases: the store, config, limits and API-key auth.

Routes declare what they need (``store: StoreDep``, ``key: ApiKeyDep`` or
``key: WriteKeyDep``); everything comes from ``app.state``, filled by the
factory or its lifespan, so nothing here is global.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.problems import ProblemError
from api.security import Scope, has_scope, verify_key
from earshot.config import WatchConfig
from earshot.errors import StoreError
from earshot.models import ApiKey, utcnow
from earshot.settings import Settings
from store.base import MentionStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiLimits:
    """Bounds that keep one request from monopolising the store."""

    max_page_size: int = 500
    max_buckets: int = 5000
    default_stats_range: timedelta = timedelta(days=30)
    max_top_size: int = 100
    csv_max_rows: int = 1_000_000
    key_touch_interval: timedelta = timedelta(minutes=5)


# Dependencies that only read app state or the request are ``async`` so FastAPI runs them on
# the event loop instead of sending each to the thread pool; the ones that touch the store stay sync.
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An Earshot API key: `Authorization: Bearer esk_…` (create one with `earshot apikey create`).",
)


async def get_store(request: Request) -> MentionStore:
    store: MentionStore | None = getattr(request.app.state, "store", None)
    if store is None:
        raise StoreError("the store is not open; the app's lifespan has not run")
    return store


async def get_config(request: Request) -> WatchConfig:
    config: WatchConfig | None = getattr(request.app.state, "config", None)
    return config if config is not None else WatchConfig()


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_limits(request: Request) -> ApiLimits:
    limits: ApiLimits = request.app.state.limits
    return limits


def _declared_query_params(route: APIRoute) -> frozenset[str]:
    names: frozenset[str] | None = _QUERY_PARAMS.get(id(route))
    if names is None:
        names = frozenset(_query_names(route.dependant))
        _QUERY_PARAMS[id(route)] = names
    return names


_QUERY_PARAMS: dict[int, frozenset[str]] = {}


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def reject_unknown_query_params(request: Request) -> None:
    """400 for a query parameter the operation does not define.

    A misspelt filter (``?brands=Acme``) would otherwise be ignored silently and
    return unfiltered results that look plausible.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown = sorted(set(request.query_params) - _declared_query_params(route))
    if unknown:
        known = ", ".join(sorted(_declared_query_params(route))) or "none"
        raise ProblemError(
            400,
            f"unknown query parameter {unknown[0]!r} for {route.path}; this operation accepts: {known}",
            kind="unknown-parameter",
            title="Unknown query parameter",
        )


StoreDep = Annotated[MentionStore, Depends(get_store)]
ConfigDep = Annotated[WatchConfig, Depends(get_config)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
LimitsDep = Annotated[ApiLimits, Depends(get_limits)]

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="earshot"'}


def _authenticate(
    request: Request,
    store: MentionStore,
    credentials: HTTPAuthorizationCredentials | None,
) -> ApiKey:
    if credentials is None or not credentials.credentials:
        raise ProblemError(
            401,
            "send an API key as 'Authorization: Bearer <key>'; create one with 'earshot apikey create'",
            kind="unauthenticated",
            title="API key required",
            headers=_CHALLENGE,
        )
    key = verify_key(store, credentials.credentials)
    if key is None:
        raise ProblemError(
            401,
            "the API key is unknown or revoked; check it with 'earshot apikey list'",
            kind="unauthenticated",
            title="Invalid API key",
            headers={"WWW-Authenticate": 'Bearer realm="earshot", error="invalid_token"'},
        )
    # Read by the request-log middleware: the key's public id, never the secret.
    request.state.api_key_id = key.id
    _touch(request, store, key)
    return key


def _touch(request: Request, store: MentionStore, key: ApiKey) -> None:
    """Record last use at most once per interval per key, so reads stay reads."""
    limits: ApiLimits = request.app.state.limits
    now = utcnow()
    if key.last_used_at is not None and now - key.last_used_at < limits.key_touch_interval:
        return
    try:
        store.save_api_key(key.model_copy(update={"last_used_at": now}))
    except Exception as exc:  # a failed bookkeeping write must not fail the request
        log.warning("event=api_key_touch_failed key_id=%s error_type=%s", key.id, type(exc).__name__)


def _require(scope: Scope) -> Callable[..., ApiKey]:
    def dependency(
        request: Request,
        store: StoreDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> ApiKey:
        key = _authenticate(request, store, credentials)
        if not has_scope(key, scope):
            raise ProblemError(
                403,
                f"this operation needs the {scope!r} scope; the key has {', '.join(key.scopes)}",
                kind="forbidden",
                title="Insufficient scope",
            )
        return key

    dependency.__name__ = f"require_{scope}"
    return dependency


require_read = _require("read")
require_write = _require("write")
require_admin = _require("admin")

ApiKeyDep = Annotated[ApiKey, Depends(require_read)]
WriteKeyDep = Annotated[ApiKey, Depends(require_write)]
AdminKeyDep = Annotated[ApiKey, Depends(require_admin)]
