"""``/reports``: the yearly satisfaction report (survey + targets + web sentiment) as JSON, HTML, PDF or XLSX.

Built by :func:`reports.build.build_report` from the server's survey file and
rendered by :mod:`reports.render`; heavy renderers load only when asked for.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam

from api.deps import ApiKeyDep, ConfigDep, StoreDep
from api.problems import ProblemError, problem_responses
from api.reporting import ReportSource, TtlCache, public_report
from earshot.errors import InputError, NotConfiguredError

log = logging.getLogger(__name__)

router = APIRouter(prefix="/reports", tags=["reports"])

ReportFormat = Literal["json", "html", "pdf", "xlsx"]
MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

_REPORT_EXAMPLE = {
    "schema_version": 1,
    "year": 2025,
    "metric": "csat",
    "group_by": ["region", "product"],
    "overall": {"n": 1604, "csat": 78.4, "target": 80, "status": "red"},
    "groups": {},
    "trend": {},
    "web_sentiment": {"available": True},
    "follow_ups": [],
    "definitions": {"csat": "share of 4–5 answers on a 5-point scale, in %"},
    "provenance": {"survey": {"path": "survey.csv", "sha256": "…"}},
}

_OK = {
    "description": "The report: JSON (default), or the file named by `format`.",
    "content": {
        "application/json": {
            "schema": {"type": "object", "additionalProperties": True},
            "example": _REPORT_EXAMPLE,
        },
        "text/html": {"schema": {"type": "string"}},
        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        MEDIA_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
    },
}


def _source(request: Request) -> ReportSource:
    source: ReportSource = request.app.state.report_source
    if source.survey is None:
        raise NotConfiguredError(
            "no survey file is configured for the API's reports; set EARSHOT_REPORT_SURVEY or "
            "start the server with 'earshot serve --survey FILE'"
        )
    return source


def _cache(request: Request) -> TtlCache:
    cache: TtlCache = request.app.state.report_cache
    return cache


def _render(report: dict[str, Any], fmt: str) -> bytes:
    from reports.render import to_json

    if fmt == "json":
        return to_json(report).encode("utf-8")
    from reports.render.html import render_html

    if fmt == "html":
        return render_html(report).encode("utf-8")
    with tempfile.TemporaryDirectory(prefix="earshot-report-") as tmp:
        target = Path(tmp) / f"report.{fmt}"
        if fmt == "pdf":
            from reports.render import write_pdf

            write_pdf(render_html(report), target)
        else:
            from reports.render import write_xlsx

            write_xlsx(report, target)
        return target.read_bytes()


@router.get(
    "/satisfaction/{year}",
    response_model=None,
    summary="Yearly satisfaction report",
    responses={200: _OK, **problem_responses(400, 401, 403, 422, 501, 503)},
)
def satisfaction_report(
    *,
    request: Request,
    store: StoreDep,
    config: ConfigDep,
    key: ApiKeyDep,
    year: Annotated[int, PathParam(ge=1900, le=2200, description="Report year.", examples=[2025])],
    format: Annotated[ReportFormat, Query(description="json, html, pdf or xlsx.")] = "json",
    group_by: Annotated[
        Sequence[str],
        Query(
            max_length=10,
            description="Survey group columns to compare (repeat); default: every group column.",
            examples=[["region"]],
        ),
    ] = (),
    metric: Annotated[
        Literal["auto", "csat", "nps", "mean"],
        Query(description="Figure that decides target, status and rank; auto: CSAT when the survey has it."),
    ] = "auto",
    web: Annotated[bool, Query(description="Include web sentiment from the mention store.")] = True,
) -> Response:
    """Results against targets, trends, group ranking, web sentiment and follow-ups for `year`.

    The survey and targets are the server's (`EARSHOT_REPORT_SURVEY`, `EARSHOT_REPORT_TARGETS`
    or the watch config's `reports.targets`); a server without a survey answers 501.
    Built reports are cached for five minutes.
    """
    source = _source(request)
    groups = tuple(dict.fromkeys(g.strip() for g in group_by if g.strip()))
    settings = request.app.state.settings
    key_ = ("report", year, groups, metric, web, source.stamp())

    def build() -> dict[str, Any]:
        from reports.build import build_report

        assert source.survey is not None
        try:
            report = build_report(
                source.survey,
                source.targets,
                year,
                group_by=list(groups) or None,
                store=store if web else None,
                config=config,
                config_path=settings.config,
                metric=None if metric == "auto" else metric,
            )
        except InputError as exc:
            # The message may name the server's files; show their names only.
            detail = str(exc)
            for p in (source.survey, source.targets):
                if p is not None:
                    detail = detail.replace(str(p), p.name)
            raise ProblemError(400, detail, kind="invalid-report-request", title="Report cannot be built") from None
        return public_report(report)

    cache = _cache(request)
    report = cache.get_or_build(key_, build)
    body: bytes = cache.get_or_build((*key_, format), lambda: _render(report, format))
    log.info("event=report_served year=%d format=%s key_id=%s bytes=%d", year, format, key.id, len(body))
    headers = {}
    if format in ("pdf", "xlsx", "html"):
        headers["Content-Disposition"] = f'attachment; filename="satisfaction-{year}.{format}"'
    return Response(content=body, media_type=MEDIA_TYPES[format], headers=headers)
