"""`build_report`: the JSON shape from the issue, checked against a small survey computed by hand."""

from __future__ import annotations

import hashlib
import json

import pytest

from earshot.config import parse_config
from earshot.errors import InputError
from reports import SAMPLE_SURVEY, SAMPLE_TARGETS
from reports.build import build_report

SURVEY = """date,region,product,csat,nps
2024-05-01,EMEA,Cloud,4,9
2024-05-02,EMEA,Cloud,2,5
2025-01-10,EMEA,Cloud,5,10
2025-02-10,EMEA,Mobile,4,8
2025-04-10,EMEA,Cloud,3,6
2025-07-10,APAC,Cloud,5,
2025-10-10,APAC,Mobile,1,0
2025-11-10,APAC,Mobile,4,9
2025-12-01,APAC,Mobile,9,9
"""
TARGETS = """
2025:
  csat:
    overall: 66.7
    region: {EMEA: 70, APAC: 66.7}
  nps: {overall: 0}
owners:
  default: {relationship: Desk, senior: Head}
  region: {APAC: {senior: VP APAC}}
"""


@pytest.fixture
def report(write_file):
    return build_report(write_file("s.csv", SURVEY), write_file("t.yaml", TARGETS), 2025,
                        group_by=["region", "product"], min_n=3)


def test_required_json_shape(report) -> None:
    for key in ("year", "overall", "groups", "trend", "web_sentiment", "follow_ups", "provenance"):
        assert key in report
    assert {"n", "csat", "mean", "nps", "target", "status"} <= set(report["overall"])
    for rows in report["groups"].values():
        for row in rows:
            assert {"group", "n", "csat", "mean", "nps", "target", "status", "rank", "change_vs_previous_year"} <= set(
                row)
    for granularity in ("year", "quarter", "month"):
        for row in report["trend"][granularity]:
            assert {"period", "n", "csat", "nps"} <= set(row)
    json.dumps(report, allow_nan=False)  # plain JSON, no NaN


def test_overall_by_hand(report) -> None:
    o = report["overall"]
    # 2025 CSAT answers 5,4,3,5,1,4 (the 9 row is rejected whole): 4 of 6 satisfied = 66.7, mean 22/6 = 3.67
    # NPS answers 10,8,6,0,9: promoters 2, detractors 2 → 0.0
    assert (o["n"], o["csat"], o["mean"], o["nps"]) == (6, 66.7, 3.67, 0.0)
    assert o["target"] == 66.7 and o["status"] == "green"  # equal to target is green
    assert o["change_vs_previous_year"] == 16.7  # 2024: 4,2 → 50.0
    assert o["targets"]["nps"] == {"target": 0.0, "value": 0.0, "status": "green"}
    assert report["validation"]["rows_rejected"] == 1
    assert report["validation"]["errors"] == [
        {"row": 10, "reason": "csat 9 is outside 1–5 (looks like a 0–10 scale; not rescaled)"}]


def test_groups_by_hand(report) -> None:
    region = {r["group"]: r for r in report["groups"]["region"]}
    assert (region["EMEA"]["csat"], region["EMEA"]["status"], region["EMEA"]["gap"], region["EMEA"]["rank"]) == (
        66.7, "red", -3.3, 2)
    assert (region["APAC"]["csat"], region["APAC"]["status"], region["APAC"]["rank"]) == (66.7, "green", 1)
    assert region["EMEA"]["change_vs_previous_year"] == 16.7 and region["APAC"]["change_vs_previous_year"] is None
    product = {r["group"]: r for r in report["groups"]["product"]}
    assert product["Cloud"]["status"] is None and product["Cloud"]["rank"] is None  # no product targets
    assert product["Mobile"]["nps"] == 0.0  # 8, 0, 9: 1 promoter, 1 detractor


def test_trend_follow_ups_and_suggestions(report) -> None:
    q1 = report["trend"]["quarter"][0]
    assert (q1["period"], q1["n"], q1["csat"], q1["previous_year"]["n"]) == ("2025-Q1", 2, 100.0, 0)
    may = report["trend"]["month"][4]
    assert may["previous_year"] == {"period": "2024-05", "n": 2, "csat": 50.0, "nps": 0.0, "mean": 3.0}
    assert [(f["row"], f["csat"], f["owner"]) for f in report["follow_ups"]] == [(8, 1, "VP APAC"), (6, 3, "Desk")]
    assert report["suggested_targets"]["overall"]["csat"]["suggested"] == 66.7  # too little history: hold
    assert set(report["definitions"]) >= {"csat", "nps", "mean", "csat_ci", "nps_ci", "status", "rank"}


def test_provenance(report, write_file) -> None:
    p = report["provenance"]
    assert p["survey"]["sha256"] == hashlib.sha256(SURVEY.encode()).hexdigest()
    assert p["targets"]["sha256"] == hashlib.sha256(TARGETS.encode()).hexdigest()
    assert p["survey"]["date_range"] == ["2024-05-01", "2025-11-10"]
    assert p["query_version"] == "no-config" and p["models"] == []
    assert report["web_sentiment"]["available"] is False


def test_null_where_no_answers(write_file) -> None:
    r = build_report(write_file("c.csv", "date,csat\n2025-01-01,4\n"), None, 2025)
    assert r["overall"]["nps"] is None and r["overall"]["nps_ci"] is None
    assert r["overall"]["target"] is None and r["overall"]["status"] is None
    assert r["trend"]["month"][1]["csat"] is None
    assert r["groups"] == {}
    n = build_report(write_file("n.csv", "date,nps\n2025-01-01,10\n"), None, 2025)
    assert n["metric"] == "nps" and n["overall"]["csat"] is None and n["overall"]["mean"] is None
    assert n["overall"]["nps"] == 100.0


def test_config_column_map_and_min_n(write_file) -> None:
    config = parse_config({"reports": {"column_map": {"Score": "csat", "When": "date"}, "min_n": 50}})
    r = build_report(write_file("m.csv", "When,Score,Team\n2025-01-01,4,A\n"), None, 2025, config=config)
    assert r["min_n"] == 50 and r["groups"]["team"][0]["insufficient_sample"] is True


def test_bad_inputs(write_file) -> None:
    s = write_file("s.csv", SURVEY)
    with pytest.raises(InputError, match="no valid answers in 2023"):
        build_report(s, None, 2023)
    with pytest.raises(InputError, match="metric 'ces' is not one of"):
        build_report(s, None, 2025, metric="ces")
    with pytest.raises(InputError, match="needs nps answers"):
        build_report(write_file("c.csv", "date,csat\n2025-01-01,4\n"), None, 2025, metric="nps")


def test_sample_tells_its_story() -> None:
    r = build_report(SAMPLE_SURVEY, SAMPLE_TARGETS, 2025, group_by=["region", "product"])
    assert r["validation"]["rows_rejected"] == 8 and r["overall"]["n"] == 1600
    region = {g["group"]: g for g in r["groups"]["region"]}
    assert region["LATAM"]["status"] == "red"  # the group missing its target
    assert r["heroes"][0]["group"] == "APAC" and r["heroes"][0]["significant"]  # the improving group
    product = {g["group"]: g for g in r["groups"]["product"]}
    assert product["Hardware"]["insufficient_sample"] and product["Hardware"]["rank"] is None
    assert {f["date"][:4] for f in r["follow_ups"]} == {"2025"}


def test_targets_from_config_relative_to_config_file(tmp_path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "targets.yaml").write_text("2025: {csat: 50}\n", encoding="utf-8")
    config_path = tmp_path / "conf" / "watch.yaml"
    config_path.write_text("reports: {targets: targets.yaml}\n", encoding="utf-8")
    survey = tmp_path / "s.csv"
    survey.write_text("date,csat\n2025-01-01,4\n", encoding="utf-8")
    config = parse_config({"reports": {"targets": "targets.yaml"}})
    r = build_report(survey, None, 2025, config=config, config_path=config_path)
    assert r["overall"]["target"] == 50.0 and r["overall"]["status"] == "green"
    assert r["provenance"]["config"]["sha256"] and r["provenance"]["targets"]["path"].endswith("targets.yaml")
