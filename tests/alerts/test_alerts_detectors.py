"""Detector unit tests on small synthetic series."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from alerts.detectors import SEASONAL_DEFAULTS, relative, run_detector, seasonal, threshold
from earshot.errors import InputError

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def stamps(n, step=timedelta(hours=1)):
    return [T0 + step * i for i in range(n)]


def cycle(n, *, seed=1, base=40.0, amp=25.0, ramp=0.0):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        lam = (base + amp * math.sin(2 * math.pi * (i % 24 - 9) / 24)) * (1 + ramp * i / n)
        out.append(float(max(0, round(rng.gauss(lam, math.sqrt(lam))))))
    return out


def alerts(dets):
    return [i for i, d in enumerate(dets) if d.alert]


def test_threshold_fires_once_per_episode():
    vals = [1, 2, 9, 12, 11, 2, 1, 15, 1]
    dets = threshold(stamps(len(vals)), vals, above=8)
    assert alerts(dets) == [2, 7]
    assert [d.active for d in dets] == [False, False, True, True, True, False, False, True, False]


def test_threshold_needs_a_level():
    with pytest.raises(InputError, match="above"):
        threshold(stamps(3), [1, 2, 3])


def test_relative_ratio_against_trailing_window():
    vals = [10.0] * 20 + [45.0] + [10.0] * 5
    dets = relative(stamps(len(vals)), vals, window=1, baseline=12, ratio=3.0)
    assert alerts(dets) == [20]
    assert dets[20].score == pytest.approx(4.5)
    assert dets[20].expected == pytest.approx(10.0)


def test_relative_same_weekday():
    step = timedelta(days=1)
    vals = [100.0 if i % 7 == 5 else 10.0 for i in range(35)]  # a weekly peak is normal
    vals[32] = 60.0  # but 60 on a usual 10-day is not
    dets = relative(stamps(len(vals), step), vals, same_weekday=True, weeks=4, ratio=3.0)
    assert alerts(dets) == [32]


def test_relative_min_volume_guard():
    vals = [1.0] * 20 + [5.0]
    assert alerts(relative(stamps(21), vals, ratio=3.0, min_volume=10)) == []
    assert alerts(relative(stamps(21), vals, ratio=3.0)) == [20]


def test_seasonal_ignores_a_daily_cycle():
    vals = cycle(24 * 14)
    assert alerts(seasonal(stamps(len(vals)), vals)) == []


def test_seasonal_ignores_a_slow_ramp():
    vals = cycle(24 * 14, seed=2, ramp=2.0)
    assert alerts(seasonal(stamps(len(vals)), vals)) == []


def test_seasonal_spike_fires_once_per_burst():
    vals = cycle(24 * 14, seed=3)
    for k in range(3):  # a three-hour burst on day 10
        vals[24 * 10 + 14 + k] += 120
    dets = seasonal(stamps(len(vals)), vals)
    assert alerts(dets) == [24 * 10 + 14]
    assert dets[24 * 10 + 14].score > SEASONAL_DEFAULTS["z"]
    assert dets[24 * 10 + 14].expected == pytest.approx(vals[24 * 9 + 14], rel=0.5)


def test_seasonal_detects_drops_unless_told_up_only():
    vals = cycle(24 * 14, seed=4, base=200, amp=100)
    for k in range(4):
        vals[24 * 11 + 13 + k] = 0.0
    ts = stamps(len(vals))
    assert alerts(seasonal(ts, vals)) == [24 * 11 + 13]
    assert alerts(seasonal(ts, vals, direction="up")) == []


def test_seasonal_warm_up_and_min_volume():
    vals = cycle(24 * 10, seed=5, base=4, amp=3)
    vals[10] += 50  # inside the warm-up: ignored
    vals[24 * 8 + 3] += 8  # a quiet-night blip of a few posts
    ts = stamps(len(vals))
    assert alerts(seasonal(ts, vals, min_volume=20)) == []


def test_seasonal_flat_line_is_quiet_and_a_step_alerts_once():
    vals = [50.0] * 600 + [120.0] * 400
    dets = seasonal(stamps(len(vals), timedelta(minutes=5)), vals)
    assert alerts(dets) == [600]


def test_seasonal_handles_gaps_and_non_counts():
    ts = [t for i, t in enumerate(stamps(24 * 12)) if i % 17]  # missing buckets
    vals = [0.5 + 0.1 * math.sin(i / 3) for i in range(len(ts))]
    vals[-30] = 5.0
    assert alerts(seasonal(ts, vals)) == [len(ts) - 30]


def test_run_detector_rejects_unknown_names_and_settings():
    with pytest.raises(InputError, match="unknown detector"):
        run_detector("nope", stamps(2), [1, 2])
    with pytest.raises(InputError, match="unknown setting"):
        run_detector("seasonal", stamps(2), [1, 2], {"zz": 1})
    with pytest.raises(InputError, match="not a finite number"):
        seasonal(stamps(2), [1.0, float("nan")])
