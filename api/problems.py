"""RFC 9457 problem details: the one error shape every API response uses.

Domain errors (:mod:`earshot.errors`), HTTP errors (404, 405, 401, 403),
request-validation errors (422) and unexpected failures (500) all become
``application/problem+json`` bodies. Bodies never carry stack traces, the
request's credentials or the text of an unexpected exception.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from earshot.errors import (
    ConfigError,
    EarshotError,
    InputError,
    MissingExtraError,
    NotConfiguredError,
    NotFoundError,
    QuerySyntaxError,
    StoreError,
)

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
_TYPE_BASE = "https://earshot.dev/problems/"


class ValidationIssue(BaseModel):
    """One invalid request value."""

    loc: list[str | int] = Field(description="where: ['query', 'limit']", examples=[["query", "limit"]])
    msg: str = Field(examples=["Input should be less than or equal to 500"])
    type: str = Field(examples=["less_than_equal"])


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "https://earshot.dev/problems/query-syntax",
                    "title": "Invalid listening query",
                    "status": 400,
                    "detail": "query syntax error at column 7: expected a term in 'acme (('",
                    "instance": "/api/v1/mentions",
                    "column": 7,
                    "expected": "a term",
                }
            ]
        },
    )

    type: str = Field(default="about:blank", description="URI naming the kind of problem")
    title: str = Field(description="short, human-readable summary of the kind of problem")
    status: int = Field(ge=400, le=599, description="the HTTP status code")
    detail: str | None = Field(default=None, description="what went wrong with this request and what to do")
    instance: str | None = Field(default=None, description="the request path")
    column: int | None = Field(default=None, description="query-syntax problems: 1-based column in `q`")
    expected: str | None = Field(default=None, description="query-syntax problems: what the parser expected")
    errors: list[ValidationIssue] | None = Field(default=None, description="validation problems: each bad value")


class ProblemError(Exception):
    """Raise from a route to answer with a specific problem."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.title = title
        self.headers = headers
        self.extra = extra


def problem_response(
    request: Request | None,
    status: int,
    detail: str | None = None,
    *,
    kind: str | None = None,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response; ``kind`` becomes the type URI, else ``about:blank``."""
    body: dict[str, Any] = {
        "type": f"{_TYPE_BASE}{kind}" if kind else "about:blank",
        "title": title or _phrase(status),
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if request is not None:
        body["instance"] = request.url.path
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# Domain error → (status, kind, title). Order matters: subclasses first.
_DOMAIN: list[tuple[type[EarshotError], int, str, str]] = [
    (QuerySyntaxError, 400, "query-syntax", "Invalid listening query"),
    (InputError, 400, "invalid-input", "Invalid input"),
    (NotFoundError, 404, "not-found", "Not found"),
    (MissingExtraError, 501, "missing-extra", "Feature not installed"),
    (NotConfiguredError, 501, "not-configured", "Not configured"),
    (StoreError, 503, "store-unavailable", "Store unavailable"),
    (ConfigError, 500, "config", "Server misconfigured"),
]


def _domain_problem(request: Request, exc: EarshotError) -> JSONResponse:
    status, kind, title = next(
        ((s, k, t) for cls, s, k, t in _DOMAIN if isinstance(exc, cls)), (400, "invalid-input", "Invalid input")
    )
    extra: dict[str, Any] = {}
    if isinstance(exc, QuerySyntaxError):
        extra = {"column": exc.column, "expected": exc.expected}
    detail = str(exc)
    if status >= 500:
        # Store and config messages may name hosts or paths; log them, answer generically.
        log.error("event=domain_error path=%s status=%d error_type=%s error=%s",
                  request.url.path, status, type(exc).__name__, exc)
        if isinstance(exc, StoreError | ConfigError):
            detail = "the store or configuration failed; see the server log"
    return problem_response(request, status, detail, kind=kind, title=title, **extra)


async def _on_domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EarshotError)
    return _domain_problem(request, exc)


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        request, exc.status, exc.detail, kind=exc.kind, title=exc.title, headers=exc.headers, **exc.extra
    )


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != _phrase(exc.status_code) else None
    if exc.status_code == 404 and detail is None:
        detail = f"no resource at {request.url.path!r}; see /docs for the API's paths"
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        allowed = _allowed_methods(request)
        detail = detail or f"method {request.method} is not allowed on {request.url.path!r}; use {allowed}"
        # Starlette names only the first route that matched the path; list every method it has.
        headers = {**(headers or {}), "Allow": allowed}
    return problem_response(request, exc.status_code, detail, headers=headers)


def _allowed_methods(request: Request) -> str:
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"}) if hasattr(route, "matches") else (None, None)
        if match is not None and match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


def _jsonable_loc(loc: Any) -> list[str | int]:
    return [p if isinstance(p, int) else str(p) for p in loc]


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    issues = [
        {"loc": _jsonable_loc(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    first = issues[0] if issues else None
    where = ".".join(str(p) for p in first["loc"]) if first else "request"
    detail = f"{where}: {first['msg']}" if first else "the request is invalid"
    if len(issues) > 1:
        detail += f" (and {len(issues) - 1} more)"
    return problem_response(request, 422, detail, kind="validation", title="Invalid request", errors=issues)


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error the app can raise to a problem+json response."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(EarshotError, _on_domain_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error statuses (rewritten to problem+json later)."""
    descriptions = {
        400: "Invalid value (listening query, time range, cursor); the detail names it",
        401: "Missing, unknown or revoked API key",
        403: "The API key lacks the scope this operation needs",
        404: "No such object",
        409: "The change conflicts with the object's state",
        422: "A parameter or body field is malformed",
        501: "Not installed or configured on this server",
        503: "The store is unreachable",
    }
    return {s: {"model": Problem, "description": descriptions.get(s, _phrase(s))} for s in statuses}
