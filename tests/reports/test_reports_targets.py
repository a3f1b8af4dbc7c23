"""Targets YAML: layout, lookups, owners, and errors naming file, key and value."""

from __future__ import annotations

import pytest

from earshot.errors import InputError
from reports import SAMPLE_TARGETS
from reports.targets import OwnerPair, load_targets, owners_from_config

GOOD = """
2025:
  csat:
    overall: 85
    quarters: {Q1: 83, q4: 87}
    Region: {EMEA: 85, APAC: 80}
  nps: 30
"2024":
  mean: {overall: 4.1}
owners:
  default: {relationship: Desk, senior: Head}
  region:
    EMEA: {relationship: EMEA RM}
    APAC: APAC RM
"""


def test_lookups(write_file) -> None:
    t = load_targets(write_file("t.yaml", GOOD))
    assert t.target(2025, "csat") == 85
    assert t.target(2025, "csat", quarter=1) == 83 and t.target(2025, "csat", quarter=2) == 85
    assert t.target(2025, "csat", quarter=4) == 87
    assert t.target(2025, "csat", dimension="region", group="APAC") == 80  # column names are case-insensitive
    assert t.target(2025, "csat", dimension="region", group="LATAM") is None
    assert t.target(2025, "csat", dimension="Region", group="emea") == 85  # case of the survey export differs
    assert t.target(2025, "nps") == 30
    assert t.target(2024, "mean") == 4.1
    assert t.target(2023, "csat") is None
    assert t.sha256 and len(t.sha256) == 64


def test_owners(write_file) -> None:
    t = load_targets(write_file("t.yaml", GOOD))
    assert t.owners.default == OwnerPair("Desk", "Head")
    pair, source = t.owners.for_groups({"region": "EMEA"}, ["region"])
    assert pair == OwnerPair("EMEA RM", "Head") and source == "region=EMEA"  # senior inherited from default
    assert t.owners.for_groups({"region": "APAC"}, ["region"])[0] == OwnerPair("APAC RM", "Head")
    assert t.owners.for_groups({"region": "LATAM"}, ["region"]) == (OwnerPair("Desk", "Head"), None)
    merged = owners_from_config({"region": {"LATAM": {"relationship": "LATAM RM", "senior": "VP"}}}, t.owners)
    assert merged.for_groups({"region": "LATAM"}, ["region"])[0] == OwnerPair("LATAM RM", "VP")
    assert merged.for_groups({"region": "EMEA"}, ["region"])[0].relationship == "EMEA RM"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the targets file is empty"),
        ("- 85\n", "the top level must be a mapping"),
        ("2025:\n  csat: {overall: 120}\n", r"t\.yaml: 2025\.csat\.overall: csat target 120 is outside 0–100"),
        ("2025:\n  nps: {overall: -101}\n", r"2025\.nps\.overall: nps target -101 is outside -100–100"),
        ("2025:\n  csat: {region: {EMEA: high}}\n", r"2025\.csat\.region\.EMEA: target 'high' is not a number"),
        ("2025:\n  cast: 85\n", r"2025\.cast: unknown metric 'cast'; use one of csat, nps, mean"),
        ("twenty: {csat: 85}\n", r"twenty: top-level keys are years"),
        ("1800: {csat: 85}\n", r"1800: year 1800 is out of range"),
        ("2025:\n  csat: {quarters: {Q5: 80}}\n", r"2025\.csat\.quarters\.Q5: unknown quarter 'Q5'"),
        ("2025:\n  csat: {region: 85}\n", r"2025\.csat\.region: expected a mapping of group value → target"),
        ("2025: 85\n", r"2025: expected a mapping of metric"),
        ("2025: {csat: 85}\nowners: {region: {EMEA: {boss: x}}}\n", r"owners\.region\.EMEA: unknown key"),
        ("2025: {csat: [1]}\n", r"2025\.csat: expected a number or a mapping"),
        ("2025:\n  csat: {overall: 85\n", r"invalid YAML at line"),
        ("owners: {default: Desk}\n", r"no yearly targets"),
    ],
)
def test_errors_name_file_key_value(write_file, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_targets(write_file("t.yaml", text))


def test_missing_file(tmp_path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_targets(tmp_path / "nope.yaml")


def test_sample_targets_load() -> None:
    t = load_targets(SAMPLE_TARGETS)
    assert t.target(2025, "csat", dimension="region", group="LATAM") == 82
