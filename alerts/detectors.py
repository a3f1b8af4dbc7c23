"""Spike detectors: pure functions from a bucketed series to per-bucket scores and decisions.

Every detector takes ``timestamps`` (ascending, timezone-aware or naive UTC) and
``values`` (one figure per bucket) and returns one :class:`Detection` per bucket:

- ``score``: the detector's evidence (a robust z-score, a ratio, the value),
- ``expected``: what the detector expected (``None`` where it has no baseline),
- ``alert``: True only on the bucket that *starts* an episode, so a burst of
  several buckets alerts once,
- ``active``: True on every bucket of an episode (the engine keeps an alert open
  while it is active and resolves it when it is not).

Three detectors:

- :func:`threshold`: above/below a fixed value.
- :func:`relative`: ratio or difference against a trailing baseline window, or
  against the same bucket on the same weekday of previous weeks.
- :func:`seasonal`: the robust default (see its docstring). Its defaults are
  fixed in :data:`SEASONAL_DEFAULTS`; how they were chosen is in ``docs/alerts.md``.

No I/O and no third-party dependency: the engine, the CLI and the benchmark all
call these functions.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import NormalDist, median
from typing import Any, Literal

from earshot.errors import InputError

Direction = Literal["up", "down", "both"]
DAY_S = 86_400
WEEK_S = 7 * DAY_S
# Scale of a normal distribution from its median absolute deviation.
MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class Detection:
    """One bucket's verdict."""

    score: float
    alert: bool
    active: bool = False
    expected: float | None = None


# --------------------------------------------------------------------------------------------
# helpers


def infer_interval_s(timestamps: Sequence[datetime]) -> int:
    """The bucket width: the most common gap between consecutive timestamps (gaps in real series are rare)."""
    if len(timestamps) < 2:
        return 3600
    counts: dict[int, int] = {}
    for a, b in itertools.pairwise(timestamps):
        gap = int((b - a).total_seconds())
        if gap > 0:
            counts[gap] = counts.get(gap, 0) + 1
    if not counts:
        raise InputError("timestamps do not increase; give one row per bucket in ascending order")
    return max(counts.items(), key=lambda kv: (kv[1], -kv[0]))[0]


def _check(timestamps: Sequence[datetime], values: Sequence[float]) -> None:
    if len(timestamps) != len(values):
        raise InputError(f"{len(timestamps)} timestamps but {len(values)} values; give one value per bucket")
    # Rows are processed in the order given: exported series have daylight-saving repeats and the
    # odd out-of-order row, which must not stop a run.
    for i, v in enumerate(values):
        if not math.isfinite(v):
            raise InputError(f"value {v!r} at row {i + 1} is not a finite number")


class _Episodes:
    """Edge-triggered decisions with hysteresis: one alert per episode.

    An episode starts when ``trigger`` holds; it stays active while the score
    stays beyond ``release`` and ends after ``calm`` buckets below it. A new
    episode cannot start within ``cooldown`` buckets of the last alert.
    """

    def __init__(self, calm: int, cooldown: int) -> None:
        self.calm = calm
        self.cooldown = cooldown
        self.active = False
        self.quiet = 0
        self.since_alert = 10**9

    def step(self, trigger: bool, sustain: bool) -> tuple[bool, bool]:
        self.since_alert += 1
        if self.active:
            if sustain or trigger:
                self.quiet = 0
            else:
                self.quiet += 1
                if self.quiet >= self.calm:
                    self.active = False
            return False, self.active
        if trigger and self.since_alert > self.cooldown:
            self.active = True
            self.quiet = 0
            self.since_alert = 0
            return True, True
        return False, False


def _wants(direction: Direction, signed: float) -> bool:
    if direction == "up":
        return signed > 0
    if direction == "down":
        return signed < 0
    return signed != 0


# --------------------------------------------------------------------------------------------
# threshold


def threshold(
    timestamps: Sequence[datetime],
    values: Sequence[float],
    *,
    above: float | None = None,
    below: float | None = None,
    min_volume: float = 0.0,
    calm: int = 1,
    cooldown: int = 0,
) -> list[Detection]:
    """Alert when a value goes above ``above`` or below ``below`` (at least one is required).

    ``score`` is the value itself; ``min_volume`` ignores values above
    ``above`` that are still below it (pointless for ``below``).
    """
    _check(timestamps, values)
    if above is None and below is None:
        raise InputError("threshold detector needs 'above' or 'below' in its settings, e.g. above: 50")
    ep = _Episodes(calm=max(1, calm), cooldown=max(0, cooldown))
    out: list[Detection] = []
    for v in values:
        hit = (above is not None and v > above and v >= min_volume) or (below is not None and v < below)
        alert, active = ep.step(hit, hit)
        level = above if above is not None else below
        out.append(Detection(score=float(v), alert=alert, active=active, expected=level))
    return out


# --------------------------------------------------------------------------------------------
# relative


def relative(
    timestamps: Sequence[datetime],
    values: Sequence[float],
    *,
    window: int = 1,
    baseline: int = 12,
    same_weekday: bool = False,
    weeks: int = 4,
    ratio: float | None = 3.0,
    difference: float | None = None,
    direction: Direction = "up",
    statistic: Literal["mean", "median"] = "median",
    min_volume: float = 0.0,
    calm: int = 48,
    cooldown: int = 0,
) -> list[Detection]:
    """Compare the last ``window`` buckets with a trailing baseline.

    The current figure is the mean of the last ``window`` buckets. The baseline is
    the ``statistic`` of the ``baseline`` buckets before them (e.g. last hour vs
    the previous 12 hours with 1 h buckets: ``window=1, baseline=12``), or, with
    ``same_weekday``, of the same bucket 1..``weeks`` weeks back ("today vs the
    same weekday over 4 weeks"). It alerts when current/baseline reaches
    ``ratio`` (``score`` is the ratio; for ``direction="down"`` the inverse ratio)
    or, if ``difference`` is set, when current − baseline reaches it (``score``
    is the difference). ``min_volume`` guards the larger of current and baseline.
    An episode lasts until ``calm`` buckets in a row no longer qualify (48 was
    chosen on the NAB tuning data, as for :func:`seasonal`; the engine uses the
    rule's ``resolve_after`` instead).
    """
    _check(timestamps, values)
    if ratio is None and difference is None:
        raise InputError("relative detector needs 'ratio' or 'difference' in its settings")
    if window < 1 or baseline < 1 or weeks < 1:
        raise InputError(f"relative: window={window}, baseline={baseline}, weeks={weeks} must all be >= 1")
    index = {ts: i for i, ts in enumerate(timestamps)}
    stat: Callable[[Sequence[float]], float] = median if statistic == "median" else (lambda xs: sum(xs) / len(xs))
    ep = _Episodes(calm=max(1, calm), cooldown=max(0, cooldown))
    out: list[Detection] = []
    for i in range(len(values)):
        cur_vals = values[max(0, i - window + 1) : i + 1]
        current = sum(cur_vals) / len(cur_vals)
        if same_weekday:
            ref: list[float] = []
            for k in range(1, weeks + 1):
                j = index.get(timestamps[i] - timedelta(seconds=WEEK_S * k))
                if j is not None:
                    ref.append(float(values[j]))
        else:
            lo = i - window + 1 - baseline
            ref = [float(v) for v in values[max(0, lo) : max(0, i - window + 1)]] if lo >= 0 else []
        if not ref:
            ep.step(False, False)
            out.append(Detection(score=0.0, alert=False))
            continue
        base = stat(ref)
        if difference is not None:
            signed = current - base
            score = signed if direction != "down" else -signed
            hit = (abs(signed) >= difference if direction == "both" else score >= difference) and _wants(
                direction, signed
            )
        else:
            assert ratio is not None
            up = (current + 1e-9) / (base + 1e-9)
            score = up if direction != "down" else 1.0 / up
            if direction == "both":
                score = max(up, 1.0 / up)
            hit = score >= ratio
        hit = hit and max(current, base) >= min_volume
        alert, active = ep.step(hit, hit)
        out.append(Detection(score=float(score), alert=alert, active=active, expected=float(base)))
    return out


# --------------------------------------------------------------------------------------------
# seasonal


SEASONAL_DEFAULTS: dict[str, Any] = {
    # robust z (residual / robust scale) that opens an episode, and the level below which it closes
    "z": 6.0,
    "release": 4.0,
    # buckets below `release` before an episode is over
    "calm": 48,
    # recent-level window (buckets) that absorbs trend, slow ramps and level shifts
    "level_buckets": 24,
    # past buckets whose prediction errors set the robust scale and choose the baseline model
    "scale_buckets": 1000,
    # same bucket on each of the last `days` days (hour-of-day) and `weeks` weeks (day-of-week)
    "days": 7,
    "weeks": 4,
    # no alert before this many buckets of history (and at least a full level window)
    "warmup": 48,
    # quantile of recent absolute errors that sets the scale (0.5 = MAD); higher is steadier on heavy tails
    "scale_quantile": 0.5,
    # scale floor as a share of the typical level, so a flat line does not alert on rounding noise
    "relative_floor": 0.02,
    # buckets after an alert during which no new episode may start
    "cooldown": 0,
}


class _SortedWindow:
    """A sliding window that keeps a sorted copy for O(log n) medians."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.fifo: deque[float] = deque()
        self.sorted: list[float] = []

    def push(self, x: float) -> None:
        self.fifo.append(x)
        bisect.insort(self.sorted, x)
        if len(self.fifo) > self.size:
            old = self.fifo.popleft()
            del self.sorted[bisect.bisect_left(self.sorted, old)]

    def __len__(self) -> int:
        return len(self.sorted)

    def quantile(self, q: float) -> float:
        s = self.sorted
        if not s:
            return 0.0
        return s[min(len(s) - 1, int(q * len(s)))]

    def median(self) -> float:
        s = self.sorted
        n = len(s)
        if n == 0:
            return 0.0
        mid = n // 2
        return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2


def _is_counts(values: Sequence[float]) -> bool:
    return all(v >= 0 and float(v).is_integer() for v in values)


def seasonal(
    timestamps: Sequence[datetime],
    values: Sequence[float],
    *,
    direction: Direction = "both",
    min_volume: float = 0.0,
    interval_s: int | None = None,
    counts: bool | None = None,
    **overrides: Any,
) -> list[Detection]:
    """Robust seasonal detector: the default.

    For each bucket it forecasts the value from the past only, with three
    candidate baselines, each corrected by the median of its own errors over the
    last ``level_buckets`` buckets (which absorbs trend, slow ramps and level
    shifts):

    - *level*: the median of the last ``level_buckets`` values,
    - *hour-of-day*: the median of the same bucket on each of the last ``days`` days,
    - *day-of-week*: the median of the same bucket on the same weekday of the last ``weeks`` weeks.

    The candidate with the smallest median absolute error over the last
    ``scale_buckets`` buckets is used (so a series without a daily cycle falls
    back to the level model). The residual is scaled by a robust sigma
    (1.4826 × the median absolute error), floored by ``relative_floor`` × the
    typical level and, for count data (non-negative integers, detected
    automatically unless ``counts`` is given), by the Poisson noise
    √(expected+1), so a quiet night with a handful of posts never alerts.

    An episode opens when |z| ≥ ``z`` in ``direction`` (spikes "up", drops
    "down", or "both"), after ``warmup`` buckets, and only if the larger of
    observed and expected reaches ``min_volume``; it stays open while |z| ≥
    ``release`` and closes after ``calm`` calm buckets. ``score`` is the signed z.
    """
    _check(timestamps, values)
    unknown = set(overrides) - set(SEASONAL_DEFAULTS)
    if unknown:
        raise InputError(
            f"seasonal: unknown setting(s) {sorted(unknown)!r}; known: {sorted(SEASONAL_DEFAULTS)!r}"
        )
    p = {**SEASONAL_DEFAULTS, **overrides}
    z_open = float(p["z"])
    z_keep = float(p["release"])
    level_n = max(2, int(p["level_buckets"]))
    scale_n = max(level_n, int(p["scale_buckets"]))
    warmup = max(level_n, int(p["warmup"]))
    rel_floor = float(p["relative_floor"])
    q = float(p["scale_quantile"])
    if not 0.0 < q < 1.0:
        raise InputError(f"seasonal: scale_quantile={q!r} must lie between 0 and 1 (exclusive)")
    # sigma of a normal error from the q-quantile of its absolute value
    q_to_sigma = 1.0 / NormalDist().inv_cdf((1.0 + q) / 2.0)
    n_days = int(p["days"])
    n_weeks = int(p["weeks"])
    step = interval_s or infer_interval_s(timestamps)
    is_counts = _is_counts(values) if counts is None else counts

    index = {ts: i for i, ts in enumerate(timestamps)}
    # Seasonal lags only make sense when a day holds several buckets.
    daily = step < DAY_S and DAY_S % step == 0
    weekly = step <= DAY_S and WEEK_S % step == 0

    def same_phase(i: int, period_s: int, k_max: int) -> list[float]:
        ts = timestamps[i]
        found: list[float] = []
        for k in range(1, k_max + 1):
            j = index.get(ts - timedelta(seconds=period_s * k))
            if j is not None:
                found.append(float(values[j]))
        return found

    names = ("level", "daily", "weekly")
    recent_vals = _SortedWindow(level_n)
    abs_level = _SortedWindow(scale_n)
    # per candidate: recent raw errors (for the level correction) and recent absolute errors (for scale)
    err_recent = {m: _SortedWindow(level_n) for m in names}
    err_abs = {m: _SortedWindow(scale_n) for m in names}

    ep = _Episodes(calm=max(1, int(p["calm"])), cooldown=max(0, int(p["cooldown"])))
    out: list[Detection] = []
    for i, raw_x in enumerate(values):
        x = float(raw_x)
        bases: dict[str, float] = {}
        if len(recent_vals):
            bases["level"] = recent_vals.median()
        if daily:
            ref = same_phase(i, DAY_S, n_days)
            if len(ref) >= 2:
                bases["daily"] = median(ref)
        if weekly:
            ref = same_phase(i, WEEK_S, n_weeks)
            if len(ref) >= 2:
                bases["weekly"] = median(ref)

        forecasts = {m: b + err_recent[m].median() for m, b in bases.items()}
        chosen: str | None = None
        best = math.inf
        for m in forecasts:
            # A candidate needs a full level window of errors before it can be trusted.
            if len(err_abs[m]) < level_n:
                continue
            e = err_abs[m].median()
            if e < best:
                best, chosen = e, m

        score = 0.0
        expected: float | None = None
        trigger = sustain = False
        if chosen is not None:
            expected = forecasts[chosen]
            if is_counts:
                expected = max(0.0, expected)
            sigma = q_to_sigma * (best if q == 0.5 else err_abs[chosen].quantile(q))
            floor = rel_floor * abs_level.median()
            if is_counts:
                floor = max(floor, math.sqrt(expected + 1.0))
            sigma = max(sigma, floor, 1e-9)
            signed = (x - expected) / sigma
            score = signed
            beyond = _wants(direction, signed)
            if i >= warmup and beyond:
                big_enough = max(x, expected) >= min_volume
                trigger = abs(signed) >= z_open and big_enough
                sustain = abs(signed) >= z_keep
        alert, active = ep.step(trigger, sustain)
        out.append(Detection(score=score, alert=alert, active=active, expected=expected))

        # learn from this bucket (after deciding: the forecast uses the past only)
        for m, b in bases.items():
            err_recent[m].push(x - b)
            err_abs[m].push(abs(x - forecasts[m]))
        recent_vals.push(x)
        abs_level.push(abs(x))
    return out


# --------------------------------------------------------------------------------------------
# registry

DetectorFn = Callable[..., list[Detection]]
DETECTORS: dict[str, DetectorFn] = {"threshold": threshold, "relative": relative, "seasonal": seasonal}


def run_detector(
    name: str,
    timestamps: Sequence[datetime],
    values: Sequence[float],
    settings: Mapping[str, Any] | None = None,
    **extra: Any,
) -> list[Detection]:
    """Run detector ``name`` with ``settings`` (from a rule); bad names/settings raise :class:`InputError`."""
    fn = DETECTORS.get(name)
    if fn is None:
        raise InputError(f"unknown detector {name!r}; choose one of {sorted(DETECTORS)}")
    kwargs = {**(settings or {}), **extra}
    try:
        return fn(timestamps, values, **kwargs)
    except TypeError as exc:
        raise InputError(f"detector {name!r}: bad settings {sorted(kwargs)!r}: {exc}") from None
