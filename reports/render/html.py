"""HTML report: a Jinja2 template with printable CSS and inline SVG charts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from reports.figures import SENIOR

TEMPLATES = Path(__file__).resolve().parent / "templates"
FOLLOW_UP_ROWS_IN_HTML = 40
_METRIC_LABELS = {"csat": "CSAT", "nps": "NPS", "mean": "mean score"}


def _num(value: Any, suffix: str = "", places: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:.{places}f}{suffix}".replace("-", "−")  # a real minus sign lines up in print


def _signed(value: Any, places: int = 1) -> str:
    if value is None:
        return "–"
    if value == 0:
        return f"{0:.{places}f}"
    return f"{value:+.{places}f}".replace("-", "−")


def _ci(value: Any) -> str:
    if not value:
        return "–"
    return f"{value[0]:.1f}–{value[1]:.1f}"


def _chip(status: str | None) -> Markup:
    if status is None:
        return Markup('<span class="chip none">no target</span>')
    return Markup('<span class="chip {0}">{0}</span>').format(status)


def _target_line(t: dict[str, Any] | None, metric: str) -> Markup:
    if not t:
        return Markup('<div class="target">no target</div>')
    places = 2 if metric == "mean" else 1
    return Markup('<div class="target">target {} {}</div>').format(_num(t["target"], "", places), _chip(t["status"]))


def render_html(report: dict[str, Any], *, charts: bool = True) -> str:
    """The report as one self-contained HTML page (CSS and SVG inline)."""
    from earshot.errors import require

    require("jinja2", "reports")
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
    )
    metric = report["metric"]
    chart_svgs: dict[str, Any] = {"trend": "", "web": "", "groups": {d: "" for d in report["groups"]}}
    if charts:
        from reports.render import charts as ch

        chart_svgs["trend"] = Markup(ch.trend_chart(report["trend"]["month"], metric, report["year"]))
        chart_svgs["groups"] = {
            d: Markup(ch.group_bars(rows, metric, d)) for d, rows in report["groups"].items()
        }
        if report["web_sentiment"].get("available"):
            chart_svgs["web"] = Markup(ch.web_vs_csat(report["web_sentiment"]["month"], report["year"]))
    sorted_groups = {
        d: sorted(rows, key=lambda r: (r["rank"] is None, r["rank"] or 0, str(r["group"])))
        for d, rows in report["groups"].items()
    }
    owners: dict[str, list[int]] = {}
    for f in report["follow_ups"]:
        counts = owners.setdefault(f["owner"], [0, 0])
        counts[0 if f["level"] == SENIOR else 1] += 1
    owner_rows = sorted(owners.items(), key=lambda kv: (-kv[1][0] - kv[1][1], kv[0]))
    info_keys = sorted(
        Counter(k for f in report["follow_ups"] for k in f if k not in _FOLLOW_KEYS)
    )
    group_lookup = {(d, r["group"]): r for d, rows in report["groups"].items() for r in rows}
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    template = env.get_template("report.html")
    return template.render(
        r=report,
        css=Markup(css),
        charts=chart_svgs,
        sorted_groups=sorted_groups,
        owners=owner_rows,
        info_keys=info_keys,
        follow_limit=FOLLOW_UP_ROWS_IN_HTML,
        num=_num,
        signed=_signed,
        ci=_ci,
        chip=_chip,
        target_line=_target_line,
        metric_label=lambda m: _METRIC_LABELS.get(m, m),
        group_value=lambda d, g: group_lookup.get((d, g), {}).get(metric),
        escape=escape,
    )


_FOLLOW_KEYS = {"row", "date", "csat", "nps", "level", "owner", "owner_from", "groups"}
