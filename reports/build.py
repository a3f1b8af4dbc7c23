"""Assemble the yearly satisfaction report as one JSON-ready dict.

:func:`build_report` reads the survey and the targets, computes every figure
(:mod:`reports.figures`), adds web sentiment from the store when one is given
(:mod:`reports.web`), and records provenance (input hashes, data ranges,
model and query versions) so a yearly figure can be reproduced. Renderers in
:mod:`reports.render` turn the dict into HTML, PDF, XLSX, CSV and JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import earshot
from earshot.errors import InputError
from earshot.models import utcnow
from reports import figures as fig
from reports.survey import Survey, file_sha256, load_survey, normalise_header
from reports.targets import Targets, load_targets, owners_from_config

if TYPE_CHECKING:
    from earshot.config import WatchConfig
    from store.base import MentionStore

log = logging.getLogger(__name__)

DEFAULT_MIN_N = 30
SCHEMA_VERSION = 1


def build_report(
    survey_path: str | Path,
    targets_path: str | Path | None,
    year: int,
    *,
    group_by: Sequence[str] | None = None,
    store: MentionStore | None = None,
    config: WatchConfig | None = None,
    config_path: str | Path | None = None,
    metric: str | None = None,
    min_n: int | None = None,
    column_map: Mapping[str, str] | None = None,
    sheet: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The report for ``year`` (see docs/reports.md for the JSON shape).

    ``group_by``: the survey columns to compare (default: every group column).
    ``metric``: the figure that decides target, status and rank (``csat``,
    ``nps`` or ``mean``; default ``csat`` when the survey has CSAT answers, else ``nps``).
    ``min_n``: minimum answers for a figure to be ranked (default: config, else 30).
    ``targets_path`` defaults to the config's ``reports.targets`` (relative to the config file).
    ``store`` must already be open; without one ``web_sentiment.available`` is false.
    """
    if not 1900 <= int(year) <= 2200:
        raise InputError(f"year {year!r} is out of range; give a four-digit year such as 2025")
    year = int(year)
    cmap = dict(config.reports.column_map) if config else {}
    cmap.update(column_map or {})
    if min_n is None:
        min_n = config.reports.min_n if config else DEFAULT_MIN_N
    if min_n < 1:
        raise InputError(f"minimum n {min_n!r} must be at least 1")
    dims = [normalise_header(g) for g in group_by] if group_by else None
    survey = load_survey(survey_path, column_map=cmap, group_columns=dims, sheet=sheet)
    if targets_path is None and config is not None and config.reports.targets:
        targets_path = _config_relative(config.reports.targets, config_path)
    targets = load_targets(targets_path) if targets_path is not None else Targets()
    if config and config.reports.owners:
        targets.owners = owners_from_config(config.reports.owners, targets.owners)
    metric = _metric(metric, survey)
    responses = survey.responses
    this_year = fig.in_year(responses, year)
    if not this_year:
        first, last = survey.date_range() or (None, None)
        raise InputError(
            f"the survey has no valid answers in {year} (it covers {first} to {last}); pass --year for a year it covers"
        )
    dims = survey.group_columns

    overall = fig.overall_result(responses, year, targets, metric, min_n)
    groups_raw = {d: fig.group_results(responses, year, d, targets, metric, min_n) for d in dims}
    heroes = fig.heroes(groups_raw, metric, min_n)
    groups = {d: fig.strip_private(rows) for d, rows in groups_raw.items()}
    trend = fig.trends(responses, year, targets, metric)
    follow = fig.follow_ups(responses, year, targets.owners, dims)
    notes = _target_notes(targets, year, metric, groups, survey)

    suggested: dict[str, Any] = {"overall": {}, "groups": {}}
    for m in ("csat", "nps", "mean"):
        if survey.has("nps" if m == "nps" else "csat"):
            current = fig.summarize(this_year).value(m)
            suggested["overall"][m] = fig.suggest_target(responses, year, m, min_n, current)
    for d in dims:
        rows = []
        for r in groups[d]:
            members = [x for x in responses if x.groups.get(d) == r["group"]]
            s = fig.suggest_target(members, year, metric, min_n, r.get(metric))
            rows.append({"group": r["group"], **s})
        suggested["groups"][d] = rows

    web = _web(store, year, config, groups, responses, min_n)
    survey_range = survey.date_range()
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "year": year,
        "metric": metric,
        "min_n": min_n,
        "group_by": dims,
        "overall": overall,
        "groups": groups,
        "heroes": heroes,
        "trend": trend,
        "web_sentiment": web,
        "follow_ups": follow,
        "follow_up_summary": {
            "total": len(follow),
            "senior_management": sum(1 for f in follow if f["level"] == fig.SENIOR),
            "relationship_manager": sum(1 for f in follow if f["level"] == fig.RELATIONSHIP),
        },
        "suggested_targets": suggested,
        "validation": {
            "rows_read": survey.rows_read,
            "rows_accepted": len(survey.responses),
            "rows_rejected": survey.rows_rejected,
            "errors": [{"row": e.row, "reason": e.reason} for e in survey.errors],
            "warnings": survey.warnings,
        },
        "notes": notes,
        "definitions": dict(fig.DEFINITIONS),
        "provenance": {
            "generated_at": (now or utcnow()).isoformat(),
            "earshot_version": earshot.__version__,
            "survey": {
                "path": str(survey_path),
                "sha256": survey.sha256,
                "format": survey.format,
                "columns": survey.columns,
                "date_range": [d.isoformat() for d in survey_range] if survey_range else None,
                "rows_read": survey.rows_read,
                "rows_rejected": survey.rows_rejected,
            },
            "targets": {"path": str(targets_path) if targets_path else None, "sha256": targets.sha256},
            "config": (
                {"path": str(config_path), "sha256": file_sha256(config_path)}
                if config_path and Path(config_path).is_file() else None
            ),
            "web_range": web.get("range"),
            "store": web.get("store"),
            "models": web.get("models", []),
            "query_version": web.get("query_version"),
        },
    }
    log.info(
        "reports.built year=%d metric=%s n=%d rejected=%d groups=%s web=%s",
        year, metric, overall["n"], survey.rows_rejected, ",".join(dims), web.get("available"),
    )
    return report


def _config_relative(path: str, config_path: str | Path | None) -> Path:
    """``reports.targets`` as written, or relative to the config file's folder when it is found there."""
    p = Path(path)
    if not p.is_absolute() and config_path is not None:
        beside = Path(config_path).parent / p
        if beside.is_file():
            return beside
    return p


def _metric(metric: str | None, survey: Survey) -> str:
    if metric is None:
        return "csat" if survey.has("csat") else "nps"
    metric = metric.strip().lower()
    if metric not in ("csat", "nps", "mean"):
        raise InputError(f"metric {metric!r} is not one of csat, nps, mean")
    needs = "nps" if metric == "nps" else "csat"
    if not survey.has(needs):
        raise InputError(f"metric {metric!r} needs {needs} answers, but the survey has none")
    return metric


def _target_notes(
    targets: Targets, year: int, metric: str, groups: Mapping[str, list[dict[str, Any]]], survey: Survey
) -> list[str]:
    notes: list[str] = []
    if not targets.years:
        notes.append("no targets file: statuses and ranks are empty")
    elif year not in targets.years:
        notes.append(f"the targets file has no targets for {year}: statuses and ranks are empty")
    elif targets.target(year, metric) is None:
        notes.append(f"no overall {metric} target for {year}")
    mt = targets.years.get(year, {}).get(metric)
    for dim, by_group in (mt.groups.items() if mt else []):
        if dim not in groups:
            if dim not in survey.columns:
                notes.append(f"targets name group column {dim!r}, which the survey does not have")
            continue
        seen = {r["group"] for r in groups[dim]}
        for g in by_group:
            if g not in seen:
                notes.append(f"target for {dim} {g!r} has no survey answers in {year - 1}–{year}")
    for dim, rows in groups.items():
        small = [r["group"] for r in rows if r["insufficient_sample"] and r["n"] > 0]
        if small:
            notes.append(f"{dim}: {', '.join(map(str, small))} below the minimum n; shown but not ranked")
    return notes


def _web(
    store: MentionStore | None,
    year: int,
    config: WatchConfig | None,
    groups: Mapping[str, list[dict[str, Any]]],
    responses: Sequence[Any],
    min_n: int,
) -> dict[str, Any]:
    from reports.web import query_version, web_sentiment

    if store is None:
        return {"available": False, "reason": "no mention store given (--store or EARSHOT_STORE)",
                "query_version": query_version(config)}
    monthly: dict[str, tuple[float | None, int]] = {}
    by_month: dict[str, list[Any]] = {}
    for r in responses:
        by_month.setdefault(f"{r.date.year}-{r.date.month:02d}", []).append(r)
    for key, rs in by_month.items():
        s = fig.summarize(rs)
        monthly[key] = (s.csat, s.n_csat)
    group_values = {d: [r["group"] for r in rows] for d, rows in groups.items()}
    group_csat = {d: {r["group"]: r["csat"] for r in rows} for d, rows in groups.items()}
    try:
        web = web_sentiment(
            store, year, config=config, groups=group_values, survey_monthly_csat=monthly,
            survey_group_csat=group_csat, min_n=min_n,
        )
    except Exception as exc:  # the survey report stands on its own; say why web is missing
        log.warning("reports.web_failed error=%s", exc)
        return {"available": False, "reason": f"web sentiment failed: {exc}", "query_version": query_version(config)}
    web["query_version"] = query_version(config)
    return web
