"""The FastAPI app factory: routers under ``/api/v1``, a lifespan owning the store, errors as problem+json.

``create_app(settings, store, config)`` builds an app; nothing happens at
import time. A store passed in is used as is (the caller opens and closes
it — tests do); otherwise the lifespan opens ``settings.store_url()`` and
closes it on shutdown. The watch config is loaded in the lifespan from
``settings.config`` when none is passed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import ApiLimits, reject_unknown_query_params
from api.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers, problem_response
from api.reporting import ReportSettings, ReportSource, TtlCache
from api.routes import alerts, health, mentions, reports, sources, stats
from earshot.config import WatchConfig, load_config
from earshot.settings import Settings, get_settings
from store.base import MentionStore

log = logging.getLogger("api.access")

API_PREFIX = "/api/v1"
API_VERSION = "1.0.0"

_DESCRIPTION = """
Search brand mentions with a listening query, follow sentiment over time, compare
share of voice with competitors, and work the alerts a spike raises.

**Authentication**: every operation but `/healthz` and `/readyz` needs an API key,
sent as `Authorization: Bearer esk_…`. Create one with `earshot apikey create NAME --scope read`.
Scopes: `read` (search, stats, alerts), `write` (update alerts), `admin` (everything).

**Errors** are [RFC 9457](https://www.rfc-editor.org/rfc/rfc9457) `application/problem+json`
objects; a listening-query syntax error is a 400 whose `column` points at the problem.

**Exports**: `GET /api/v1/mentions` with `Accept: text/csv` streams every matching mention as CSV.
"""

_TAGS = [
    {"name": "mentions", "description": "Search mentions and export them."},
    {"name": "stats", "description": "Timelines, share of voice and top values."},
    {"name": "alerts", "description": "Spike alerts and the rules that raise them."},
    {"name": "sources", "description": "Crawl health per source."},
    {"name": "reports", "description": "Satisfaction reports."},
    {"name": "health", "description": "Liveness and readiness probes (no API key)."},
]


class RequestLogMiddleware:
    """One log line per request (method, path, status, duration, key id — never the key or query string),
    and a bare problem+json 500 for anything unhandled, without the exception's text."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            # No traceback in the log line either: the type is enough to find it; details at DEBUG.
            log.error("event=unhandled_error method=%s path=%s error_type=%s",
                      scope["method"], scope["path"], type(exc).__name__)
            log.debug("unhandled error detail", exc_info=True)
            if not response_started:
                status = 500
                response = problem_response(
                    None, 500, "an unexpected error occurred; it has been logged", kind="internal"
                )
                await response(scope, receive, send)
        finally:
            key_id = (scope.get("state") or {}).get("api_key_id", "-")
            log.info(
                "event=request method=%s path=%s status=%d duration_ms=%.1f key_id=%s",
                scope["method"], scope["path"], status, (time.perf_counter() - started) * 1000, key_id,
            )


def _rewrite_error_media_types(schema: dict[str, Any]) -> None:
    """Error responses are documented as problem+json, which is what the handlers send."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for code, response in operation.get("responses", {}).items():
                content = response.get("content")
                if code.isdigit() and int(code) >= 400 and content and "application/json" in content:
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
        servers=app.servers,
    )
    _rewrite_error_media_types(schema)
    app.openapi_schema = schema
    return schema


def create_app(
    settings: Settings | None = None,
    store: MentionStore | None = None,
    config: WatchConfig | None = None,
    *,
    limits: ApiLimits | None = None,
    cors_origins: list[str] | None = None,
    report_source: ReportSource | None = None,
) -> FastAPI:
    """Build the API app. ``store``/``config`` given → used as is; else opened/loaded in the lifespan.

    ``report_source``: the survey/targets files behind ``/reports`` (default: ``EARSHOT_REPORT_*``).
    """
    settings = settings or get_settings()
    owns_store = store is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.config is None:
            app.state.config = load_config(settings.config) if settings.config else WatchConfig()
        opened: MentionStore | None = None
        if owns_store:
            from store import open_store

            opened = open_store(settings.store_url())
            opened.open()
            app.state.store = opened
            log.info("event=store_opened backend=%s", type(opened).__name__)
        try:
            yield
        finally:
            if opened is not None:
                opened.close()
                app.state.store = None
                log.info("event=store_closed backend=%s", type(opened).__name__)

    app = FastAPI(
        title="Earshot API",
        version=API_VERSION,
        description=_DESCRIPTION,
        openapi_tags=_TAGS,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        dependencies=[Depends(reject_unknown_query_params)],
    )
    app.state.settings = settings
    app.state.store = store
    app.state.config = config
    app.state.limits = limits or ApiLimits()
    if report_source is None:
        env = ReportSettings()
        report_source = ReportSource(env.survey, env.targets)
    app.state.report_source = report_source
    app.state.report_cache = TtlCache()

    install_problem_handlers(app)
    for module in (mentions, stats, alerts, sources):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(reports.router, prefix=API_PREFIX)
    app.include_router(health.router)

    origins = cors_origins if cors_origins is not None else list(settings.api_cors_origins)
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "PATCH", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Accept"],
            max_age=600,
        )
    app.add_middleware(RequestLogMiddleware)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
