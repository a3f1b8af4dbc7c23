"""Charts as inline SVG strings (matplotlib, no pyplot, imported lazily).

Output is deterministic for the same report (fixed hash salt, no date
metadata, text kept as text), so the HTML can be snapshot-tested and diffed.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

GREEN = "#1a7f37"
RED = "#c62828"
GREY = "#9e9e9e"
BLUE = "#1f5fa8"
LIGHT = "#9bb7d9"
ORANGE = "#d9822b"
LABELS = {"csat": "CSAT (%)", "nps": "NPS", "mean": "Mean score (1–5)"}


@contextmanager
def _style() -> Iterator[None]:
    from earshot.errors import require

    require("matplotlib", "reports")
    import matplotlib

    with matplotlib.rc_context(
        {
            "svg.hashsalt": "earshot-report",
            "svg.fonttype": "none",
            "font.family": "DejaVu Sans",
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.color": "#e6e6e6",
            "grid.linewidth": 0.6,
            "axes.axisbelow": True,
        }
    ):
        yield


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=96, layout="constrained")


def _svg(fig: Figure, title: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]  # drop the XML declaration and DOCTYPE for inline use
    text = re.sub(r"<svg ", f'<svg role="img" aria-label="{_escape(title)}" ', text, count=1)
    return text.strip()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def trend_chart(months: Sequence[dict[str, Any]], metric: str, year: int) -> str:
    """Monthly figure this year, the previous year dashed, the target as a step line."""
    with _style():
        fig = _figure(7.0, 2.8)
        ax = fig.add_subplot()
        x = list(range(1, 13))
        cur = [m.get(metric) for m in months]
        prev = [m.get("previous_year", {}).get(metric) for m in months]
        target = [m.get("target") for m in months]
        _line(ax, x, prev, color=LIGHT, style="--", label=str(year - 1), marker="o")
        _line(ax, x, cur, color=BLUE, style="-", label=str(year), marker="o")
        if any(t is not None for t in target):
            ax.step(x, [float("nan") if t is None else t for t in target], where="mid", color=ORANGE,
                    linewidth=1.4, linestyle=":", label="target")
        ax.set_xticks(x, ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"])
        ax.set_ylabel(LABELS.get(metric, metric))
        fig.legend(loc="outside upper right", ncols=3, frameon=False)
        return _svg(fig, f"Monthly {metric} {year} against {year - 1} and target")


def _line(ax: Axes, x: Sequence[int], ys: Sequence[float | None], *, color: str, style: str, label: str,
          marker: str) -> None:
    values = [float("nan") if y is None else y for y in ys]
    if all(v != v for v in values):
        return
    ax.plot(x, values, color=color, linestyle=style, marker=marker, markersize=3.5, linewidth=1.6, label=label)


def group_bars(rows: Sequence[dict[str, Any]], metric: str, dimension: str) -> str:
    """One horizontal bar per group, green/red by status (grey: no target or too few answers), target ticks."""
    with _style():
        shown = [r for r in rows if r.get(metric) is not None]
        shown.sort(key=lambda r: (r.get(metric) or 0))
        fig = _figure(7.0, max(1.2, 0.42 * len(shown) + 0.7))
        ax = fig.add_subplot()
        ax.grid(axis="y", visible=False)
        ys = list(range(len(shown)))
        values = [r[metric] for r in shown]
        colors = [_bar_colour(r) for r in shown]
        ax.barh(ys, values, color=colors, height=0.62)
        for y, r in zip(ys, shown, strict=True):
            if r.get("target") is not None:
                ax.plot([r["target"], r["target"]], [y - 0.42, y + 0.42], color="#222222", linewidth=2)
            note = f"{r[metric]:.1f}" if metric != "mean" else f"{r[metric]:.2f}"
            if r.get("insufficient_sample"):
                note += f"  (n={r['n']}, too few)"
            # Label beyond both the bar and the target tick so neither hides the number.
            at = max(r[metric], r["target"] if r.get("target") is not None else r[metric])
            ax.annotate(note, (at, y), xytext=(5, 0), textcoords="offset points", va="center", fontsize=8)
        ax.set_yticks(ys, [str(r["group"]) for r in shown])
        lo, hi = _range(metric, values + [r["target"] for r in shown if r.get("target") is not None])
        ax.set_xlim(lo, hi)
        if metric == "csat":  # room for labels right of 100, but no ticks past 100%
            ax.set_xticks([t for t in range(int(lo), 101, 10)])
        ax.set_xlabel(f"{LABELS.get(metric, metric)} by {dimension}; black tick = target")
        return _svg(fig, f"{metric} by {dimension} against targets")


def _bar_colour(row: dict[str, Any]) -> str:
    if row.get("insufficient_sample") or row.get("status") is None:
        return GREY
    return GREEN if row["status"] == "green" else RED


def _range(metric: str, values: Sequence[float]) -> tuple[float, float]:
    if metric == "csat":
        lo = min([*values, 100.0])
        return max(0.0, (lo // 10) * 10 - 10), 100.0 + 12
    if metric == "nps":
        return min(0.0, min(values, default=0.0) - 10), max(values, default=0.0) + 20
    return 1.0, 5.4


def web_vs_csat(months: Sequence[dict[str, Any]], year: int) -> str:
    """Monthly CSAT (line, left axis) beside web net sentiment (bars, right axis)."""
    with _style():
        fig = _figure(7.0, 2.8)
        ax = fig.add_subplot()
        x = list(range(1, 13))
        net = [m.get("net_sentiment") for m in months]
        ax2 = ax.twinx()
        ax2.bar(x, [0 if v is None else v for v in net], color=[GREEN if (v or 0) >= 0 else RED for v in net],
                alpha=0.35, width=0.6, label="web net sentiment")
        ax2.axhline(0, color="#777777", linewidth=0.6)
        ax2.set_ylabel("web net sentiment")
        ax2.grid(False)
        ax2.spines["right"].set_visible(True)
        _line(ax, x, [m.get("csat") for m in months], color=BLUE, style="-", label="CSAT %", marker="o")
        ax.set_zorder(ax2.get_zorder() + 1)
        ax.patch.set_visible(False)
        ax.set_ylabel("CSAT (%)")
        ax.set_xticks(x, ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"])
        handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
        labels = ax.get_legend_handles_labels()[1] + ax2.get_legend_handles_labels()[1]
        fig.legend(handles, labels, loc="outside upper right", frameon=False, ncols=2)
        return _svg(fig, f"Monthly CSAT and web net sentiment {year}")
