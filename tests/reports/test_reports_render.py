"""Outputs: golden HTML snapshot, XLSX/CSV/JSON tables, PDF (and a PNG of it), and the CLI."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reports.build import build_report
from reports.render import parse_formats, write_outputs
from reports.render.html import render_html
from store.memory import MemoryStore
from tests.reports.test_reports_build import SURVEY, TARGETS
from tests.reports.test_reports_web import CONFIG, MENTIONS

GOLDEN = Path(__file__).parent / "data" / "golden_report.html"
NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


@pytest.fixture
def report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.chdir(tmp_path)  # relative paths keep provenance stable across machines
    Path("survey.csv").write_text(SURVEY, encoding="utf-8")
    Path("targets.yaml").write_text(TARGETS, encoding="utf-8")
    store = MemoryStore()
    store.open()
    store.upsert_mentions(MENTIONS)
    return build_report("survey.csv", "targets.yaml", 2025, group_by=["region", "product"], store=store,
                        config=CONFIG, min_n=3, now=NOW)


def _normalise(html: str) -> str:
    # The SVG paths depend on the matplotlib version; the snapshot covers everything around them.
    return re.sub(r"<svg .*?</svg>", "<svg/>", html, flags=re.DOTALL)


def test_golden_html(report: dict) -> None:
    html = render_html(report)
    assert html.count("<svg ") == 4  # trend, region bars, product bars, web beside CSAT
    assert 'aria-label="Monthly csat 2025 against 2024 and target"' in html
    got = _normalise(html)
    if os.environ.get("EARSHOT_UPDATE_GOLDEN") or not GOLDEN.exists():
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(got, encoding="utf-8")
        if not os.environ.get("EARSHOT_UPDATE_GOLDEN"):
            pytest.fail(f"golden file written to {GOLDEN}; review it and run again")
    assert got == GOLDEN.read_text(encoding="utf-8"), "HTML changed; EARSHOT_UPDATE_GOLDEN=1 to accept"


def test_html_states_what_matters(report: dict) -> None:
    html = render_html(report, charts=False)
    assert '<span class="chip green">green</span>' in html and '<span class="chip red">red</span>' in html
    assert "1 rejected" in html and "csat 9 is outside 1–5" in html
    assert "CSAT = share of answers 4 or 5" in html  # definitions are in the report
    assert "too few months" in html  # correlation honest about n
    assert "Acme (us)" in html and "Globex" in html


def test_tables_xlsx_csv_json(report: dict, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    files = write_outputs(report, tmp_path / "out", ["json", "csv", "xlsx"])
    names = {p.name for p in files}
    assert {"satisfaction-2025.json", "satisfaction-2025.xlsx", "groups_region.csv", "follow_ups.csv",
            "share_of_voice.csv", "web_region.csv", "trend_month.csv"} <= names
    assert json.loads((tmp_path / "out" / "satisfaction-2025.json").read_text(encoding="utf-8")) == json.loads(
        json.dumps(report))
    with open(tmp_path / "out" / "satisfaction-2025-csv" / "groups_region.csv", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["rank"], r["region"], r["csat"], r["status"]) for r in rows] == [
        ("1", "APAC", "66.7", "green"), ("2", "EMEA", "66.7", "red")]
    wb = load_workbook(tmp_path / "out" / "satisfaction-2025.xlsx")
    assert "groups_region" in wb.sheetnames and "follow_ups" in wb.sheetnames and "definitions" in wb.sheetnames
    ws = wb["overall"]
    header = [c.value for c in ws[1]]
    assert ws.cell(2, header.index("csat") + 1).value == 66.7
    fu = wb["follow_ups"]
    assert fu.max_row == 3  # header + two follow-ups


def test_pdf_and_png(report: dict, tmp_path: Path) -> None:
    files = write_outputs(report, tmp_path, ["pdf"])
    pdf = files[0].read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed: PDF not rasterised")
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(files[0]), str(tmp_path / "page")],
                   check=True, timeout=60)
    png = next(tmp_path.glob("page*.png"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_parse_formats() -> None:
    assert parse_formats("html, PDF,html") == ["html", "pdf"]
    from earshot.errors import InputError

    with pytest.raises(InputError, match="unknown report format 'docx'"):
        parse_formats("html,docx")


def _cli(*args: str):
    from earshot.cli import STATE, app

    STATE.config_path = None
    STATE.store_url = None
    return CliRunner().invoke(app, list(args))


def test_cli_writes_report(tmp_path: Path) -> None:
    survey = tmp_path / "s.csv"
    survey.write_text(SURVEY, encoding="utf-8")
    targets = tmp_path / "t.yaml"
    targets.write_text(TARGETS, encoding="utf-8")
    out = tmp_path / "out"
    res = _cli("--store", "memory://", "report", "--survey", str(survey), "--targets", str(targets), "--year",
               "2025", "--group-by", "region", "--format", "json,csv", "--out", str(out), "--min-n", "3")
    assert res.exit_code == 0, res.output
    assert "2025: csat 66.7 (target 66.7, green), n=6, 1 rows rejected, 2 follow-ups" in res.output
    data = json.loads((out / "satisfaction-2025.json").read_text(encoding="utf-8"))
    assert list(data["groups"]) == ["region"] and data["web_sentiment"]["available"] is True
    assert data["web_sentiment"]["year"]["volume"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--survey", "missing.csv", "--year", "2025"], "survey file 'missing.csv' not found"),
        (["--survey", "{s}", "--year", "2025", "--format", "docx"], "unknown report format 'docx'"),
        (["--survey", "{s}", "--year", "2031"], "no valid answers in 2031"),
        (["--survey", "{s}", "--year", "2025", "--group-by", "segment"], "no group column 'segment'"),
        (["--survey", "{s}", "--year", "2025", "--map", "oops"], "--map 'oops' is not NAME=COLUMN"),
        (["--survey", "{s}", "--year", "2025", "--targets", "{s}"], "top level must be a mapping"),
        (["--survey", "{e}", "--year", "2025"], "is empty"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    s = tmp_path / "s.csv"
    s.write_text(SURVEY, encoding="utf-8")
    e = tmp_path / "e.csv"
    e.write_text("", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    res = _cli("report", "--no-web", *[a.format(s=s, e=e) for a in args], "--out", str(tmp_path / "o"))
    assert res.exit_code == 2
    lines = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], res.output


def test_cli_column_map_and_xlsx_input(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Answered", "Satisfaction", "Team"])
    ws.append([45748, 5, "North"])  # Excel serial: 2025-04-01
    ws.append([45749, 2, "South"])
    wb.save(tmp_path / "s.xlsx")
    res = _cli("report", "--no-web", "--survey", str(tmp_path / "s.xlsx"), "--year", "2025", "--map",
               "Answered=date", "--map", "satisfaction=csat", "--format", "json", "--out", str(tmp_path / "o"))
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "o" / "satisfaction-2025.json").read_text(encoding="utf-8"))
    assert data["overall"]["csat"] == 50.0 and data["group_by"] == ["team"]
    assert data["provenance"]["survey"]["date_range"] == ["2025-04-01", "2025-04-02"]
    assert [f["owner"] for f in data["follow_ups"]] == ["unassigned (senior management)"]
