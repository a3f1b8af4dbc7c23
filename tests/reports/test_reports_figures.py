"""Every figure against a value computed by hand (working shown in the comments)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from reports import figures as fig
from reports.targets import MetricTargets, OwnerPair, Owners, Targets
from tests.reports.conftest import resp


def test_round_half_up_on_exact_values() -> None:
    assert fig.pct(1, 16) == 6.3  # 6.25 → 6.3 (half up, not banker's 6.2)
    assert fig.pct(2, 3) == 66.7
    assert fig.pct(0, 0) is None
    assert fig.round_half_up(Fraction(-1, 16) * 100, 1) == -6.3  # half away from zero
    assert fig.round_half_up(Fraction(19, 6), 2) == 3.17


def test_csat_mean_nps_counts() -> None:
    answers = [resp("2025-01-05", c) for c in (5, 4, 3, 2, 1, 4)]
    # NPS answers 10, 9, 8, 7, 6, 0, 10: promoters 3, detractors 2 (6 and 0), n 7 → 100·1/7 = 14.29
    answers += [resp("2025-01-05", None, n) for n in (10, 9, 8, 7, 6, 0, 10)]
    s = fig.summarize(answers)
    assert (s.n, s.n_csat, s.n_nps) == (13, 6, 7)
    assert s.csat == 50.0  # 3 of 6 answers are 4 or 5
    assert s.mean == 3.17  # 19 / 6 = 3.1667
    assert s.nps == 14.3
    assert (s.promoters, s.detractors) == (3, 2)


def test_figures_are_none_without_answers() -> None:
    s = fig.summarize([resp("2025-01-05", None, 9)])
    assert s.csat is None and s.mean is None and s.csat_ci is None
    assert s.nps == 100.0


def test_wilson_interval_matches_published_values() -> None:
    # 5/10: centre 0.5, half = 1.96·√(0.025 + 0.009604)/1.38416 = 0.2634 → 23.7–76.3
    assert fig.wilson(5, 10) == (23.7, 76.3)
    # 0/10: upper bound 2·0.19208/1.38416... = 0.2775
    assert fig.wilson(0, 10) == (0.0, 27.8)
    assert fig.wilson(10, 10) == (72.2, 100.0)
    assert fig.wilson(0, 0) is None


def test_nps_adjusted_wald_interval() -> None:
    # 3 promoters, 2 detractors of 7: n+3 = 10, p+ = 3.75/10, p− = 2.75/10, centre 0.1,
    # var = (0.65 − 0.01)/10 = 0.064, half = 1.96·0.25298 = 0.49585 → −39.6 .. 59.6
    assert fig.nps_interval(3, 2, 7) == (-39.6, 59.6)
    lo, hi = fig.nps_interval(50, 0, 50)  # all promoters: clipped at 100
    assert hi == 100.0 and lo > 80


def test_status_equal_is_green() -> None:
    assert fig.status(85.0, 85) == "green"
    assert fig.status(84.9, 85) == "red"
    assert fig.status(None, 85) is None
    assert fig.status(90.0, None) is None


def _targets() -> Targets:
    return Targets(years={
        2025: {"csat": MetricTargets(overall=70, quarters={1: 60}, groups={"region": {"A": 75, "B": 50, "C": 40}})},
    })


def test_group_results_rank_change_and_flags() -> None:
    rows = [
        # A 2025: 5,5,4,3 → 3/4 = 75.0, target 75 → green, gap 0; 2024: 4,2 → 50.0 → change +25.0
        *[resp("2025-02-01", c, region="A") for c in (5, 5, 4, 3)],
        *[resp("2024-02-01", c, region="A") for c in (4, 2)],
        # B 2025: 4,4,4,1 → 75.0, target 50 → green, gap +25
        *[resp("2025-03-01", c, region="B") for c in (4, 4, 4, 1)],
        # C 2025: 3,3,3,4 → 25.0, target 40 → red, gap −15
        *[resp("2025-03-01", c, region="C") for c in (3, 3, 3, 4)],
        # D 2025: one answer → below min n 2 → not ranked, no target
        resp("2025-03-01", 5, region="D"),
    ]
    out = {r["group"]: r for r in fig.group_results(rows, 2025, "region", _targets(), "csat", min_n=2)}
    assert out["A"]["csat"] == 75.0 and out["A"]["status"] == "green" and out["A"]["gap"] == 0.0
    assert out["A"]["change_vs_previous_year"] == 25.0
    assert out["B"]["rank"] == 1 and out["A"]["rank"] == 2 and out["C"]["rank"] == 3
    assert out["C"]["status"] == "red" and out["C"]["gap"] == -15.0
    assert out["D"]["rank"] is None and out["D"]["insufficient_sample"] and out["D"]["status"] is None
    assert out["B"]["change_vs_previous_year"] is None  # no 2024 answers


def test_overall_result_and_quarter_target() -> None:
    rows = [resp("2025-01-10", c) for c in (5, 4, 4, 2)] + [resp("2024-06-10", c) for c in (5, 1)]
    o = fig.overall_result(rows, 2025, _targets(), "csat", min_n=30)
    assert o["csat"] == 75.0 and o["target"] == 70 and o["status"] == "green"
    assert o["change_vs_previous_year"] == 25.0  # 75.0 − 50.0
    assert o["insufficient_sample"] is True  # 4 < 30
    tr = fig.trends(rows, 2025, _targets(), "csat")
    assert [y["period"] for y in tr["year"]] == ["2024", "2025"]
    q1 = tr["quarter"][0]
    assert q1["period"] == "2025-Q1" and q1["csat"] == 75.0 and q1["target"] == 60  # quarter target
    assert tr["quarter"][1]["target"] == 70 and tr["quarter"][1]["n"] == 0 and tr["quarter"][1]["csat"] is None
    june = tr["month"][5]
    assert june["period"] == "2025-06" and june["previous_year"] == {
        "period": "2024-06", "n": 2, "csat": 50.0, "nps": None, "mean": 3.0}


def test_heroes_need_both_years_and_improvement() -> None:
    groups = {"region": [
        {"group": "A", "change_vs_previous_year": 12.0, "insufficient_sample": False, "_prev_n": 40,
         "_se": (3.0, 3.0), "csat": 80.0, "previous_year": {"csat": 68.0}, "n": 40, "status": "green"},
        {"group": "B", "change_vs_previous_year": 2.0, "insufficient_sample": False, "_prev_n": 40,
         "_se": (3.0, 3.0), "csat": 70.0, "previous_year": {"csat": 68.0}, "n": 40, "status": "red"},
        {"group": "C", "change_vs_previous_year": 30.0, "insufficient_sample": False, "_prev_n": 5,
         "_se": (3.0, 9.0), "csat": 90.0, "previous_year": {"csat": 60.0}, "n": 40, "status": "green"},
        {"group": "D", "change_vs_previous_year": -5.0, "insufficient_sample": False, "_prev_n": 40,
         "_se": (3.0, 3.0), "csat": 60.0, "previous_year": {"csat": 65.0}, "n": 40, "status": "red"},
    ]}
    h = fig.heroes(groups, "csat", min_n=30)
    assert [x["group"] for x in h] == ["A", "B"]
    # 12 > 1.96·√(9+9) = 8.3 → significant; 2 is not
    assert h[0]["significant"] is True and h[1]["significant"] is False


def test_follow_ups_route_by_score_and_owner() -> None:
    owners = Owners(default=OwnerPair("desk", "head"), by_group={"region": {"EMEA": OwnerPair("emea-rm", "vp-emea")}})
    rows = [
        resp("2025-03-01", 3, row=2, region="EMEA"),
        resp("2025-03-02", 2, row=3, region="APAC"),
        resp("2025-03-03", 1, row=4, region="EMEA"),
        resp("2025-03-04", 4, row=5, region="EMEA"),  # 4 needs no follow-up
        resp("2024-12-31", 1, row=6, region="EMEA"),  # another year
        resp("2025-03-05", None, 3, row=7, region="EMEA"),  # no CSAT answer
    ]
    out = fig.follow_ups(rows, 2025, owners, ["region"])
    assert [(f["row"], f["level"], f["owner"]) for f in out] == [
        (3, fig.SENIOR, "head"),
        (4, fig.SENIOR, "vp-emea"),
        (2, fig.RELATIONSHIP, "emea-rm"),
    ]


def test_suggest_target_slope_cap_hold() -> None:
    # 8 quarters of 20 answers: 10 satisfied each, 11 in 2025-Q4 → 50.0 ×7, 55.0.
    # x = 0, .25 … 1.75; Sxx = 2.625; Sxy = 4.375 → slope 1.667/yr. 2025: 41/80 = 51.25 → published 51.3.
    rows = []
    for i, (y, q) in enumerate((y, q) for y in (2024, 2025) for q in (1, 2, 3, 4)):
        sat = 11 if i == 7 else 10
        day = f"{y}-{3 * q - 2:02d}-15"
        rows += [resp(day, 5)] * sat + [resp(day, 2)] * (20 - sat)
    current = fig.summarize(fig.in_year(rows, 2025)).csat
    assert current == 51.3
    s = fig.suggest_target(rows, 2025, "csat", min_n=20, current=current)
    assert s["slope_per_year"] == 1.7 and s["suggested"] == 53.0 and s["quarters_used"] == 8
    other = fig.suggest_target(rows, 2025, "csat", min_n=20, current=40.0)  # the slope is added to this year's figure
    assert other["suggested"] == 41.7
    held = fig.suggest_target(rows[:60], 2025, "csat", min_n=20, current=50.0)  # 3 quarters only
    assert held["suggested"] == 50.0 and "under 4 quarters" in held["basis"]
    falling_rows = []
    for i, (y, q) in enumerate((y, q) for y in (2024, 2025) for q in (1, 2, 3, 4)):
        sat = 11 if i == 0 else 10  # only the first quarter is better: the line falls
        falling_rows += [resp(f"{y}-{3 * q - 2:02d}-15", 5)] * sat + [resp(f"{y}-{3 * q - 2:02d}-15", 2)] * (20 - sat)
    falling = fig.suggest_target(falling_rows, 2025, "csat", min_n=20, current=50.0)
    assert falling["slope_per_year"] == -1.7 and falling["suggested"] == 50.0 and "hold" in falling["basis"]


def test_suggest_target_cap() -> None:
    # mean by quarter 3, 3, 3.5, 3.5, 4, 4, 4.5, 4.5: slope 2.5/2.625 = 0.952/yr → capped at +0.2
    rows = []
    means = [(3, 3), (3, 3), (3, 4), (3, 4), (4, 4), (4, 4), (4, 5), (4, 5)]
    for i, pair in enumerate(means):
        y, q = 2024 + i // 4, i % 4 + 1
        rows += [resp(f"{y}-{3 * q - 1:02d}-01", c) for c in pair]
    s = fig.suggest_target(rows, 2025, "mean", min_n=2, current=4.25)
    assert s["slope_per_year"] == 0.95 and s["suggested"] == 4.45 and "capped" in s["basis"]


def test_pearson_by_hand() -> None:
    # dx = dy-permuted: Sxy = 15.5, Sxx = Syy = 17.5 → r = 0.8857
    r = fig.pearson([1, 2, 3, 4, 5, 6], [1, 3, 2, 5, 4, 6])
    assert r["r"] == 0.89 and r["n"] == 6
    assert r["ci"][0] < 0.89 < r["ci"][1]
    small = fig.pearson([1, 2, 3], [3, 2, 1])
    assert small["r"] is None and "n=3" in small["note"]
    flat = fig.pearson([1, 2, 3, 4, 5, 6], [2] * 6)
    assert flat["r"] is None


@pytest.mark.parametrize(("k", "n"), [(0, 1), (1, 1), (3, 7), (29, 30), (500, 1000)])
def test_wilson_contains_point_estimate(k: int, n: int) -> None:
    lo, hi = fig.wilson(k, n) or (0, 0)
    assert lo <= fig.pct(k, n) <= hi  # type: ignore[operator]
