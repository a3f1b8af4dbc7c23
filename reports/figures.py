"""Satisfaction figures: CSAT, mean, NPS, intervals, targets, trends, ranking, heroes, follow-ups.

Pure functions over :class:`reports.survey.Response` lists; no I/O. Counting is
exact (integers and fractions) and rounding is half-up on the exact value, so a
hand-computed figure matches to the digit: percentages and NPS to one
decimal, means to two. Status compares the published (rounded) figure with
the target, so a reader never sees "85.0 vs 85 → red".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, Literal

from reports.survey import Response
from reports.targets import Owners, Targets

Metric = Literal["csat", "nps", "mean"]
Status = Literal["green", "red"]
Z95 = 1.959963984540054  # two-sided 95% normal quantile

DEFINITIONS: dict[str, str] = {
    "csat": "CSAT = share of answers 4 or 5 on the 5-point scale, in percent of all CSAT answers (0–100).",
    "mean": "Mean score = average CSAT answer on the 1–5 scale.",
    "nps": "NPS = % promoters (9–10) minus % detractors (0–6) among the 0–10 likelihood-to-recommend answers "
    "(−100 to 100).",
    "n": "n = number of valid answers (rows) in the period or group; n_csat and n_nps count answers per question.",
    "csat_ci": "95% Wilson score interval for the CSAT share.",
    "nps_ci": "95% adjusted Wald interval for NPS: 3/4 of an answer is added to promoters and to detractors "
    "and 3/2 to passives (n + 3), then NPS ± 1.96·√((p₊ + p₋ − (p₊ − p₋)²)/n), clipped to −100..100.",
    "insufficient_sample": "Flag set when a figure rests on fewer answers than the minimum n; such groups are "
    "shown but not ranked.",
    "status": "green when the published figure is at or above the target (equal is green), red when below; "
    "empty when there is no target.",
    "rank": "Groups of one column with a target and enough answers, ordered by distance to target "
    "(figure − target, largest first), so every green group ranks above every red one.",
    "change_vs_previous_year": "Published figure this year minus the published figure the year before, "
    "in points; empty when either year has no answers.",
    "heroes": "Most improved groups: largest positive change vs the previous year, both years with at least the "
    "minimum n; 'significant' when the change exceeds 1.96 standard errors of the difference.",
    "follow_ups": "Every answer in the report year with CSAT below 4: a 3 goes to the relationship/client "
    "manager, a 1 or 2 to senior management; owners by group from the targets file or config.",
    "web_volume": "Web volume = mentions of the brand (duplicates excluded) in the period.",
    "web_net_sentiment": "Net sentiment = (positive − negative) / all scored mentions, in percent (−100 to 100).",
    "web_negative_share": "Negative share = negative / all scored mentions, in percent.",
    "share_of_voice": "Share of voice = the brand's mentions / mentions of the brand and its competitors, "
    "in percent.",
    "correlation": "Pearson correlation between monthly web net sentiment and monthly CSAT over months where "
    "both exist (survey n at least the minimum, at least 10 scored mentions); not computed under 6 months; "
    "95% interval by Fisher's z.",
    "suggested_target": "Next year's suggestion = this year's figure + the yearly slope of a least-squares line "
    "through the quarterly figures (quarters with at least the minimum n), never below this year's figure and "
    "at most +5 points CSAT / +10 NPS / +0.2 mean above it; held at this year's figure with under 4 quarters.",
}


# --- rounding and intervals ----------------------------------------------------------------------


def round_half_up(value: Fraction | float | int, places: int) -> float:
    """Round half away from zero on the exact value (``Fraction``) to ``places`` decimals."""
    d = Decimal(value.numerator) / Decimal(value.denominator) if isinstance(value, Fraction) else Decimal(str(value))
    q = Decimal(1).scaleb(-places)
    out = float(d.quantize(q, rounding=ROUND_HALF_UP))
    return 0.0 if out == 0 else out  # no "-0.0" in tables


def pct(k: int, n: int) -> float | None:
    """``100·k/n`` to one decimal, ``None`` when ``n`` is 0."""
    return round_half_up(Fraction(100 * k, n), 1) if n else None


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """95% Wilson score interval for a share ``k/n``, in percent (one decimal)."""
    if n <= 0:
        return None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return round_half_up(max(0.0, centre - half) * 100, 1), round_half_up(min(1.0, centre + half) * 100, 1)


def nps_interval(promoters: int, detractors: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """95% adjusted Wald interval for NPS (see ``DEFINITIONS['nps_ci']``), in points."""
    if n <= 0:
        return None
    na = n + 3
    pp = (promoters + 0.75) / na
    pd = (detractors + 0.75) / na
    centre = pp - pd
    half = z * math.sqrt(max(pp + pd - centre * centre, 0.0) / na)
    return round_half_up(max(-1.0, centre - half) * 100, 1), round_half_up(min(1.0, centre + half) * 100, 1)


# --- one set of answers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    """Exact counts for a set of answers; figures are derived on demand."""

    n: int = 0
    n_csat: int = 0
    satisfied: int = 0  # CSAT 4 or 5
    csat_sum: int = 0
    csat_sq_sum: int = 0
    n_nps: int = 0
    promoters: int = 0
    detractors: int = 0

    @property
    def csat(self) -> float | None:
        return pct(self.satisfied, self.n_csat)

    @property
    def mean(self) -> float | None:
        return round_half_up(Fraction(self.csat_sum, self.n_csat), 2) if self.n_csat else None

    @property
    def nps(self) -> float | None:
        return round_half_up(Fraction(100 * (self.promoters - self.detractors), self.n_nps), 1) if self.n_nps else None

    @property
    def csat_ci(self) -> tuple[float, float] | None:
        return wilson(self.satisfied, self.n_csat)

    @property
    def nps_ci(self) -> tuple[float, float] | None:
        return nps_interval(self.promoters, self.detractors, self.n_nps)

    def value(self, metric: str) -> float | None:
        return {"csat": self.csat, "nps": self.nps, "mean": self.mean}[metric]

    def n_for(self, metric: str) -> int:
        return self.n_nps if metric == "nps" else self.n_csat

    def standard_error(self, metric: str) -> float | None:
        """Standard error of the figure in its published unit (points, or score for the mean)."""
        m = self.n_for(metric)
        if m < 2:
            return None
        if metric == "csat":
            p = self.satisfied / m
            return 100 * math.sqrt(p * (1 - p) / m)
        if metric == "nps":
            pp, pd = self.promoters / m, self.detractors / m
            return 100 * math.sqrt(max(pp + pd - (pp - pd) ** 2, 0.0) / m)
        var = (self.csat_sq_sum - self.csat_sum**2 / m) / (m - 1)
        return math.sqrt(max(var, 0.0) / m)

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "n_csat": self.n_csat,
            "n_nps": self.n_nps,
            "csat": self.csat,
            "csat_ci": list(self.csat_ci) if self.csat_ci else None,
            "mean": self.mean,
            "nps": self.nps,
            "nps_ci": list(self.nps_ci) if self.nps_ci else None,
        }


def summarize(responses: Iterable[Response]) -> Stats:
    n = n_csat = satisfied = csat_sum = csat_sq = n_nps = promoters = detractors = 0
    for r in responses:
        n += 1
        if r.csat is not None:
            n_csat += 1
            csat_sum += r.csat
            csat_sq += r.csat * r.csat
            if r.csat >= 4:
                satisfied += 1
        if r.nps is not None:
            n_nps += 1
            if r.nps >= 9:
                promoters += 1
            elif r.nps <= 6:
                detractors += 1
    return Stats(n, n_csat, satisfied, csat_sum, csat_sq, n_nps, promoters, detractors)


def status(value: float | None, target: float | None) -> Status | None:
    """``green`` at or above target (equal is green), ``red`` below, ``None`` without both."""
    if value is None or target is None:
        return None
    return "green" if value >= target else "red"


def _places(metric: str) -> int:
    return 2 if metric == "mean" else 1


def _change(current: float | None, previous: float | None, metric: str) -> float | None:
    if current is None or previous is None:
        return None
    return round_half_up(float(Decimal(str(current)) - Decimal(str(previous))), _places(metric))


def in_year(responses: Iterable[Response], year: int) -> list[Response]:
    return [r for r in responses if r.date.year == year]


# --- overall and groups -----------------------------------------------------------------------------


def overall_result(
    responses: Sequence[Response], year: int, targets: Targets, metric: str, min_n: int
) -> dict[str, Any]:
    cur = summarize(in_year(responses, year))
    prev = summarize(in_year(responses, year - 1))
    out = cur.as_dict()
    out["metric"] = metric
    target = targets.target(year, metric)
    out["target"] = target
    out["status"] = status(cur.value(metric), target)
    out["insufficient_sample"] = cur.n_for(metric) < min_n
    out["targets"] = _all_targets(cur, targets, year)
    out["previous_year"] = prev.as_dict() if prev.n else None
    out["change_vs_previous_year"] = _change(cur.value(metric), prev.value(metric), metric)
    return out


def _all_targets(stats: Stats, targets: Targets, year: int, dimension: str | None = None,
                 group: str | None = None) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for m in ("csat", "nps", "mean"):
        t = targets.target(year, m, dimension=dimension, group=group)
        if t is not None:
            out[m] = {"target": t, "value": stats.value(m), "status": status(stats.value(m), t)}
    return out


def group_results(
    responses: Sequence[Response],
    year: int,
    dimension: str,
    targets: Targets,
    metric: str,
    min_n: int,
) -> list[dict[str, Any]]:
    """One row per group value seen in the report or previous year, ranked (see ``DEFINITIONS['rank']``)."""
    cur_by = _by_group(in_year(responses, year), dimension)
    prev_by = _by_group(in_year(responses, year - 1), dimension)
    rows: list[dict[str, Any]] = []
    for group in sorted(set(cur_by) | set(prev_by)):
        cur = summarize(cur_by.get(group, []))
        prev = summarize(prev_by.get(group, []))
        target = targets.target(year, metric, dimension=dimension, group=group)
        value = cur.value(metric)
        row: dict[str, Any] = {"group": group, **cur.as_dict()}
        row.update(
            {
                "target": target,
                "status": status(value, target),
                "gap": _change(value, target, metric) if target is not None else None,
                "insufficient_sample": cur.n_for(metric) < min_n,
                "rank": None,
                "change_vs_previous_year": _change(value, prev.value(metric), metric),
                "previous_year": {"n": prev.n, "csat": prev.csat, "mean": prev.mean, "nps": prev.nps},
                "targets": _all_targets(cur, targets, year, dimension, group),
                "_se": (cur.standard_error(metric), prev.standard_error(metric)),
                "_prev_n": prev.n_for(metric),
            }
        )
        rows.append(row)
    rank_groups(rows)
    return rows


def rank_groups(rows: list[dict[str, Any]]) -> None:
    """Set ``rank`` in place: by gap to target, then figure, then n; unranked rows keep ``None``."""
    key_metric = "gap"
    ranked = [
        r for r in rows
        if r.get("status") is not None and not r.get("insufficient_sample") and r.get(key_metric) is not None
    ]
    ranked.sort(key=lambda r: (-r["gap"], r["status"] != "green", -(r.get("n") or 0), str(r["group"])))
    for i, r in enumerate(ranked, start=1):
        r["rank"] = i


def _by_group(responses: Iterable[Response], dimension: str) -> dict[str, list[Response]]:
    out: dict[str, list[Response]] = {}
    for r in responses:
        value = r.groups.get(dimension)
        if value:
            out.setdefault(value, []).append(r)
    return out


def heroes(groups: dict[str, list[dict[str, Any]]], metric: str, min_n: int, limit: int = 3) -> list[dict[str, Any]]:
    """Most improved groups across all columns (see ``DEFINITIONS['heroes']``)."""
    found: list[dict[str, Any]] = []
    for dimension, rows in groups.items():
        for r in rows:
            delta = r.get("change_vs_previous_year")
            if delta is None or delta <= 0 or r.get("insufficient_sample") or r.get("_prev_n", 0) < min_n:
                continue
            se_cur, se_prev = r.get("_se", (None, None))
            significant = None
            if se_cur is not None and se_prev is not None and (se_cur or se_prev):
                significant = abs(delta) > Z95 * math.hypot(se_cur, se_prev)
            found.append(
                {
                    "dimension": dimension,
                    "group": r["group"],
                    "change_vs_previous_year": delta,
                    metric: r.get(metric),
                    "previous": r["previous_year"].get(metric),
                    "n": r["n"],
                    "status": r.get("status"),
                    "significant": significant,
                }
            )
    found.sort(key=lambda h: (-h["change_vs_previous_year"], h["dimension"], str(h["group"])))
    return found[:limit]


def strip_private(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]


# --- trends ------------------------------------------------------------------------------------------


def quarter_of(d: date) -> int:
    return (d.month - 1) // 3 + 1


def _period_row(period: str, stats: Stats, target: float | None = None) -> dict[str, Any]:
    return {"period": period, "n": stats.n, "csat": stats.csat, "nps": stats.nps, "mean": stats.mean,
            "target": target}


def trends(responses: Sequence[Response], year: int, targets: Targets, metric: str) -> dict[str, list[dict[str, Any]]]:
    """Yearly (every year in the data), quarterly and monthly (the report year, previous year beside)."""
    years = sorted({r.date.year for r in responses})
    yearly = [
        _period_row(str(y), summarize(in_year(responses, y)), targets.target(y, metric)) for y in years
    ]

    def periodic(key: Callable[[date], int], count: int, label: Callable[[int, int], str],
                 target: Callable[[int], float | None]) -> list[dict[str, Any]]:
        rows = []
        for k in range(1, count + 1):
            cur = summarize(r for r in responses if r.date.year == year and key(r.date) == k)
            prev = summarize(r for r in responses if r.date.year == year - 1 and key(r.date) == k)
            row = _period_row(label(year, k), cur, target(k))
            row["previous_year"] = {"period": label(year - 1, k), "n": prev.n, "csat": prev.csat, "nps": prev.nps,
                                    "mean": prev.mean}
            rows.append(row)
        return rows

    quarterly = periodic(quarter_of, 4, lambda y, q: f"{y}-Q{q}", lambda q: targets.target(year, metric, quarter=q))
    monthly = periodic(
        lambda d: d.month, 12, lambda y, m: f"{y}-{m:02d}",
        lambda m: targets.target(year, metric, quarter=(m - 1) // 3 + 1),
    )
    return {"year": yearly, "quarter": quarterly, "month": monthly}


# --- follow-ups ---------------------------------------------------------------------------------------

RELATIONSHIP = "relationship/client manager"
SENIOR = "senior management"


def follow_ups(
    responses: Iterable[Response], year: int, owners: Owners, order: Sequence[str]
) -> list[dict[str, Any]]:
    """Every CSAT below 4 in ``year``: 1–2 → senior management, 3 → relationship/client manager."""
    out: list[dict[str, Any]] = []
    for r in responses:
        if r.date.year != year or r.csat is None or r.csat >= 4:
            continue
        pair, source = owners.for_groups(r.groups, order)
        senior = r.csat <= 2
        out.append(
            {
                "row": r.row,
                "date": r.date.isoformat(),
                "csat": r.csat,
                "nps": r.nps,
                "level": SENIOR if senior else RELATIONSHIP,
                "owner": pair.senior if senior else pair.relationship,
                "owner_from": source or "default",
                "groups": dict(r.groups),
                **{k: v for k, v in r.info.items()},
            }
        )
    out.sort(key=lambda f: (f["level"] != SENIOR, f["date"], f["row"]))
    return out


# --- suggested targets ---------------------------------------------------------------------------------

_CAPS = {"csat": 5.0, "nps": 10.0, "mean": 0.2}
_LIMITS = {"csat": (0.0, 100.0), "nps": (-100.0, 100.0), "mean": (1.0, 5.0)}


def ols_slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def suggest_target(
    responses: Sequence[Response], year: int, metric: str, min_n: int, current: float | None
) -> dict[str, Any]:
    """Next year's target from the quarterly trend (see ``DEFINITIONS['suggested_target']``)."""
    places = _places(metric)
    if current is None:
        return {"metric": metric, "year": year + 1, "suggested": None, "slope_per_year": None, "quarters_used": 0,
                "basis": "no answers this year"}
    points: list[tuple[float, float]] = []
    for y in sorted({r.date.year for r in responses if r.date.year <= year}):
        for q in range(1, 5):
            s = summarize(r for r in responses if r.date.year == y and quarter_of(r.date) == q)
            v = s.value(metric)
            if v is not None and s.n_for(metric) >= min_n:
                points.append((y + (q - 1) / 4, v))
    lo, hi = _LIMITS[metric]
    if len(points) < 4:
        return {"metric": metric, "year": year + 1, "suggested": current, "slope_per_year": None,
                "quarters_used": len(points), "basis": "under 4 quarters with enough answers: hold this year's figure"}
    slope = ols_slope([p[0] for p in points], [p[1] for p in points]) or 0.0
    raw = current + slope
    suggested = min(max(raw, current), current + _CAPS[metric], hi)
    basis = "this year's figure + yearly slope"
    if raw < current:
        basis = "trend is flat or falling: hold this year's figure"
    elif raw > current + _CAPS[metric]:
        basis = f"trend capped at +{_CAPS[metric]:g}"
    return {
        "metric": metric,
        "year": year + 1,
        "suggested": round_half_up(max(lo, suggested), places),
        "slope_per_year": round_half_up(slope, places),
        "quarters_used": len(points),
        "basis": basis,
    }


# --- correlation ------------------------------------------------------------------------------------------

MIN_CORRELATION_N = 6


def pearson(xs: Sequence[float], ys: Sequence[float]) -> dict[str, Any]:
    """Pearson r with n and a 95% Fisher-z interval; ``r`` is ``None`` under 6 points or without variance."""
    n = len(xs)
    out: dict[str, Any] = {"method": "pearson", "n": n, "r": None, "ci": None, "note": None}
    if n < MIN_CORRELATION_N:
        out["note"] = f"too few months (n={n}; at least {MIN_CORRELATION_N} needed) for a meaningful correlation"
        return out
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        out["note"] = "one of the series does not vary; correlation undefined"
        return out
    r = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / math.sqrt(sxx * syy)
    r = max(-1.0, min(1.0, r))
    out["r"] = round_half_up(r, 2)
    if n > 3 and abs(r) < 1:
        z = math.atanh(r)
        half = Z95 / math.sqrt(n - 3)
        out["ci"] = [round_half_up(math.tanh(z - half), 2), round_half_up(math.tanh(z + half), 2)]
        if out["ci"][0] <= 0 <= out["ci"][1]:
            out["note"] = f"n={n}: the 95% interval includes 0, so no reliable link can be claimed"
    return out
