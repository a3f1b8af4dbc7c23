"""/api/v1/reports: the satisfaction report from the server's survey, in each format; errors; no server paths."""

from __future__ import annotations

import io
import json

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.reporting import ReportSource
from earshot.settings import Settings
from store.memory import MemoryStore
from tests.api.seed import seed_config, seed_store, write_survey

URL = "/api/v1/reports/satisfaction"


@pytest.fixture
def report_client(tmp_path):
    store = MemoryStore()
    keys = seed_store(store)
    app = create_app(Settings(env="test"), store=store, config=seed_config(),
                     report_source=ReportSource(write_survey(tmp_path), None))
    with TestClient(app) as client:
        yield client, {"Authorization": f"Bearer {keys['read']}"}, tmp_path


def test_json_report(report_client):
    client, headers, tmp_path = report_client
    resp = client.get(f"{URL}/2025", params={"group_by": "region"}, headers=headers)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert body["year"] == 2025 and body["group_by"] == ["region"]
    # Survey answers i % 5 + 1 over 120 rows: exactly 2 of 5 answers are 4–5.
    assert body["overall"]["n"] == 120 and body["overall"]["csat"] == pytest.approx(40.0, abs=0.1)
    assert str(tmp_path) not in resp.text  # server paths cut to file names
    assert body["provenance"]["survey"]["path"] == "survey.csv"
    assert body["web_sentiment"]["available"] is True


def test_report_errors(report_client):
    client, headers, tmp_path = report_client
    no_year = client.get(f"{URL}/2019", headers=headers)
    assert no_year.status_code == 400 and "2019" in no_year.json()["detail"]
    bad_group = client.get(f"{URL}/2025", params={"group_by": "planet"}, headers=headers)
    assert bad_group.status_code == 400 and "'planet'" in bad_group.json()["detail"]
    assert str(tmp_path) not in bad_group.text
    assert client.get(f"{URL}/2025", params={"format": "docx"}, headers=headers).status_code == 422
    assert client.get(f"{URL}/2025").status_code == 401


def test_html_and_xlsx(report_client):
    client, headers, _ = report_client
    html = client.get(f"{URL}/2025", params={"format": "html"}, headers=headers)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "<html" in html.text.lower() and "2025" in html.text
    xlsx = client.get(f"{URL}/2025", params={"format": "xlsx"}, headers=headers)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    from openpyxl import load_workbook

    assert load_workbook(io.BytesIO(xlsx.content)).sheetnames


def test_pdf(report_client):
    client, headers, _ = report_client
    pdf = client.get(f"{URL}/2025", params={"format": "pdf", "web": False}, headers=headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")


def test_cache_follows_the_survey_file(report_client):
    client, headers, tmp_path = report_client
    first = client.get(f"{URL}/2025", params={"web": False}, headers=headers).json()
    again = client.get(f"{URL}/2025", params={"web": False}, headers=headers).json()
    assert again["provenance"]["generated_at"] == first["provenance"]["generated_at"]  # cached
    survey = write_survey(tmp_path, rows=60)
    import os

    os.utime(survey, (survey.stat().st_atime, survey.stat().st_mtime + 5))
    fresh = client.get(f"{URL}/2025", params={"web": False}, headers=headers).json()
    assert fresh["overall"]["n"] == 60


def test_not_configured_is_501(tmp_path):
    store = MemoryStore()
    keys = seed_store(store, n=1)
    app = create_app(Settings(env="test"), store=store, report_source=ReportSource(None, None))
    with TestClient(app) as client:
        resp = client.get(f"{URL}/2025", headers={"Authorization": f"Bearer {keys['read']}"})
    assert resp.status_code == 501 and "EARSHOT_REPORT_SURVEY" in resp.json()["detail"]
    assert json.loads(resp.text)["type"].endswith("/not-configured")
