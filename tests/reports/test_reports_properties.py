"""Property tests: figures stay in range, intervals hold the estimate, ranking agrees with status."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from reports import figures as fig
from reports.survey import load_survey
from reports.targets import MetricTargets, Targets
from tests.reports.conftest import resp

csat_answers = st.lists(st.one_of(st.none(), st.integers(1, 5)), max_size=60)
nps_answers = st.lists(st.one_of(st.none(), st.integers(0, 10)), max_size=60)


@given(csat_answers, nps_answers)
def test_figures_in_range(csats: list[int | None], npss: list[int | None]) -> None:
    rows = [resp("2025-06-01", c, None) for c in csats] + [resp("2025-06-01", None, n) for n in npss]
    s = fig.summarize(rows)
    if s.csat is not None:
        assert 0 <= s.csat <= 100
        assert s.mean is not None and 1 <= s.mean <= 5
        lo, hi = s.csat_ci or (None, None)
        assert lo is not None and hi is not None and 0 <= lo <= s.csat <= hi <= 100
    else:
        assert s.n_csat == 0 and s.mean is None
    if s.nps is not None:
        assert -100 <= s.nps <= 100
        lo, hi = s.nps_ci or (None, None)
        assert lo is not None and hi is not None and -100 <= lo <= hi <= 100
    else:
        assert s.n_nps == 0


groups_strategy = st.dictionaries(
    st.sampled_from(["A", "B", "C", "D", "E", "F"]),
    st.tuples(st.lists(st.integers(1, 5), min_size=0, max_size=12), st.one_of(st.none(), st.integers(0, 100))),
    max_size=6,
)


@settings(max_examples=150)
@given(groups_strategy, st.integers(1, 6))
def test_ranking_consistent_with_status(groups: dict[str, tuple[list[int], int | None]], min_n: int) -> None:
    rows = [resp("2025-03-01", c, region=g) for g, (answers, _) in groups.items() for c in answers]
    targets = Targets(years={2025: {"csat": MetricTargets(
        groups={"region": {g: float(t) for g, (_, t) in groups.items() if t is not None}})}})
    out = fig.group_results(rows, 2025, "region", targets, "csat", min_n)
    ranked = sorted((r for r in out if r["rank"] is not None), key=lambda r: r["rank"])
    assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))
    statuses = [r["status"] for r in ranked]
    assert statuses == sorted(statuses, key=lambda s: s != "green")  # every green above every red
    gaps = [r["gap"] for r in ranked]
    assert gaps == sorted(gaps, reverse=True)
    for r in out:
        if r["status"] is not None:
            assert (r["status"] == "green") == (r["csat"] >= r["target"])
        if r["rank"] is None:
            assert r["insufficient_sample"] or r["status"] is None


cell = st.one_of(
    st.integers(-3, 120).map(str), st.sampled_from(["", "4.0", "4.5", "80%", "x", " 3 "])
)
day = st.one_of(st.dates().map(lambda d: d.isoformat()), st.sampled_from(["", "2025-02-30", "1/2/2025"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(day, st.sampled_from(["", "EMEA", "APAC"]), cell, cell), min_size=1, max_size=25))
def test_import_accounts_for_every_row(rows: list[tuple[str, str, str, str]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["date", "region", "csat", "nps"])
    w.writerows(rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.csv"
        path.write_text(buf.getvalue(), encoding="utf-8")
        try:
            s = load_survey(path)
        except Exception as exc:  # only "every row rejected" or "only blank rows" may stop the import
            assert "rows were rejected" in str(exc) or "no data rows" in str(exc)
            return
    non_blank = [r for r in rows if any(c.strip() for c in r)]
    assert len(s.responses) + s.rows_rejected == s.rows_read == len(non_blank)
    for r in s.responses:
        assert r.groups["region"] in {"EMEA", "APAC"}
        assert r.csat is None or 1 <= r.csat <= 5
        assert r.nps is None or 0 <= r.nps <= 10
        assert r.csat is not None or r.nps is not None
