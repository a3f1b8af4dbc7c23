"""Survey import: formats, delimiters, encodings, dates, scales, whole-row rejection, clear errors."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from earshot.errors import InputError
from reports.survey import load_survey


def test_reads_csv_with_groups_and_info(write_file) -> None:
    p = write_file("s.csv", "date,customer_id,region,csat,nps\n2025-01-02,C1,EMEA,5,10\n2025-01-03,C2,APAC,3,\n")
    s = load_survey(p)
    assert s.group_columns == ["region"]
    assert [(r.row, r.date, r.csat, r.nps, r.groups, r.info) for r in s.responses] == [
        (2, date(2025, 1, 2), 5, 10, {"region": "EMEA"}, {"customer_id": "C1"}),
        (3, date(2025, 1, 3), 3, None, {"region": "APAC"}, {"customer_id": "C2"}),
    ]
    assert s.rows_rejected == 0 and s.format == "csv (comma)" and len(s.sha256) == 64


def test_bom_and_semicolons(write_file) -> None:
    text = "\ufeffDate;Region;CSAT\r\n2025-03-01;EMEA;4\r\n2025-03-02;APAC;2\r\n"
    s = load_survey(write_file("bom.csv", text.encode("utf-8")))
    assert s.format == "csv (semicolon)"
    assert [r.csat for r in s.responses] == [4, 2]
    assert s.columns[0] == "date"  # BOM stripped, lower-cased


def test_windows_1252_file(write_file) -> None:
    s = load_survey(write_file("w.csv", "date,region,csat\n2025-03-01,Zürich,4\n".encode("cp1252")))
    assert s.responses[0].groups == {"region": "Zürich"}


def test_empty_files_are_clear_errors(write_file) -> None:
    with pytest.raises(InputError, match="is empty"):
        load_survey(write_file("e.csv", ""))
    with pytest.raises(InputError, match="is empty"):
        load_survey(write_file("e2.csv", b"\xef\xbb\xbf\n  \n"))
    with pytest.raises(InputError, match="header but no data rows"):
        load_survey(write_file("h.csv", "date,csat\n"))


def test_wrong_delimiter_is_a_clear_error(write_file) -> None:
    with pytest.raises(InputError, match=r"cannot split the header of .* \('date csat region'\); separate columns"):
        load_survey(write_file("p.csv", "date csat region\n2025-01-01 4 EMEA\n"))
    # header split by ';' but the rows by ',': no delimiter gives consistent rows
    with pytest.raises(InputError, match="same number of fields on every row"):
        load_survey(write_file("mixed.csv", "date;csat\n2025-01-01,4\n2025-01-02,5\n"))


def test_pipe_and_tab_are_sniffed(write_file) -> None:
    assert load_survey(write_file("t.csv", "date\tcsat\n2025-01-01\t4\n")).responses[0].csat == 4
    assert load_survey(write_file("p.csv", "date|csat\n2025-01-01|5\n")).responses[0].csat == 5


def test_missing_columns_name_what_exists(write_file) -> None:
    with pytest.raises(InputError, match=r"no 'date' column \(columns: when, csat\)"):
        load_survey(write_file("a.csv", "when,csat\n2025-01-01,4\n"))
    with pytest.raises(InputError, match="neither a 'csat' nor an 'nps'"):
        load_survey(write_file("b.csv", "date,score\n2025-01-01,4\n"))
    with pytest.raises(InputError, match=r"no group column 'product'; available: region"):
        load_survey(write_file("c.csv", "date,region,csat\n2025-01-01,EMEA,4\n"), group_columns=["product"])


def test_column_map(write_file) -> None:
    p = write_file("m.csv", "Answered On,Satisfaction,Business Unit\n2025-02-01,5,Retail\n")
    s = load_survey(p, column_map={"Answered On": "date", "satisfaction": "csat", "Business Unit": "unit"})
    assert s.responses[0].csat == 5 and s.responses[0].groups == {"unit": "Retail"}


def test_every_bad_row_reported_and_rejected_whole(write_file) -> None:
    text = (
        "date,region,csat,nps\n"
        "2025-01-01,EMEA,5,10\n"  # row 2 ok
        "2025-01-02,EMEA,6,9\n"  # row 3: csat on 0–10 scale
        "01/03/2025,EMEA,4,9\n"  # row 4: not ISO
        "2025-01-04,,4,9\n"  # row 5: empty group
        "2025-01-05,APAC,85%,9\n"  # row 6: percentage
        "2025-01-06,APAC,4,12\n"  # row 7: nps out of range, csat fine → whole row rejected
        "2025-13-01,APAC,x,\n"  # row 8: two reasons
        "2025-01-08,APAC,,\n"  # row 9: no score
        "\n"  # blank line: ignored
        "2025-01-09,APAC,4.5,\n"  # row 11: not a whole answer
        "2025-01-10,APAC,1,0\n"  # row 12 ok
    )
    s = load_survey(write_file("bad.csv", text))
    assert [r.row for r in s.responses] == [2, 12]
    reasons = {e.row: e.reason for e in s.errors}
    assert reasons == {
        3: "csat 6 is outside 1–5 (looks like a 0–10 scale; not rescaled)",
        4: "date '01/03/2025' is not an ISO date (YYYY-MM-DD)",
        5: "empty group 'region'",
        6: "csat '85%' is a percentage; give the answer on the 1–5 scale",
        7: "nps 12 is outside 0–10",
        8: "date '2025-13-01' is not a valid calendar date; csat 'x' is not a number",
        9: "no score: both csat and nps are empty",
        11: "csat '4.5' is not a whole answer on the 1–5 scale",
    }
    assert s.rows_read == 10 and s.rows_rejected == 8
    assert any("another scale" in w and "not rescaled" in w for w in s.warnings)


def test_percent_scale_csat_column_rejected_not_rescaled(write_file) -> None:
    s = load_survey(write_file("pc.csv", "date,csat\n2025-01-01,80\n2025-01-02,4\n"))
    assert [r.csat for r in s.responses] == [4]
    assert s.errors[0].reason == "csat 80 is outside 1–5 (looks like a percentage; not rescaled)"
    assert "mixes scales" not in s.warnings[0]  # one stray row


def test_a_column_on_another_scale_is_called_out(write_file) -> None:
    rows = "".join(f"2025-01-{d:02d},{v}\n" for d, v in enumerate([8, 9, 3, 10, 7, 4, 6, 9], start=1))
    s = load_survey(write_file("ten.csv", "date,csat\n" + rows))
    assert [r.csat for r in s.responses] == [3, 4]  # accepted as 1–5 answers, but the report warns
    assert s.rows_rejected == 6
    assert "mixes scales; check the accepted answers too" in s.warnings[0]


def test_all_rows_rejected_is_an_error(write_file) -> None:
    with pytest.raises(InputError, match=r"all 2 rows were rejected \(first: row 2: csat 9"):
        load_survey(write_file("x.csv", "date,csat\n2025-01-01,9\n2025-01-02,0\n"))


def test_iso_datetime_with_offset_is_utc_day(write_file) -> None:
    s = load_survey(write_file("dt.csv", "date,csat\n2025-01-01T23:30:00-02:00,4\n2025-01-02T10:00:00Z,4\n"))
    assert [r.date for r in s.responses] == [date(2025, 1, 2), date(2025, 1, 2)]


def _xlsx(path: Path, rows: list[list[object]]) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_xlsx_dates_serials_and_numbers(tmp_path: Path) -> None:
    p = _xlsx(tmp_path / "s.xlsx", [
        ["Date", "Region", "CSAT", "NPS"],
        [datetime(2025, 3, 1, 12, 0), "EMEA", 5, 9],
        [45748, "APAC", 4.0, None],  # Excel serial 45748 = 2025-04-01
        ["2025-05-01", "APAC", 3, 7],
        [None, None, None, None],  # blank row
        [12, "APAC", 4, 7],  # not a date serial
        [45749, "APAC", 7, 7],  # csat on another scale
    ])
    s = load_survey(p)
    assert s.format == "xlsx"
    assert [(r.row, r.date, r.csat) for r in s.responses] == [
        (2, date(2025, 3, 1), 5), (3, date(2025, 4, 1), 4), (4, date(2025, 5, 1), 3)]
    assert {e.row: e.reason for e in s.errors} == {
        6: "date 12 is not an Excel date serial between 1950 and 2099",
        7: "csat 7 is outside 1–5 (looks like a 0–10 scale; not rescaled)",
    }


def test_csv_does_not_take_excel_serials(write_file) -> None:
    s = load_survey(write_file("ser.csv", "date,csat\n45748,4\n2025-01-01,4\n"))
    assert s.errors[0].reason == "date '45748' is not an ISO date (YYYY-MM-DD)"


def test_bad_workbooks(tmp_path: Path, write_file) -> None:
    with pytest.raises(InputError, match=r"cannot open .* as an XLSX workbook"):
        load_survey(write_file("fake.xlsx", "date,csat\n"))
    empty = _xlsx(tmp_path / "empty.xlsx", [])
    with pytest.raises(InputError, match="is empty"):
        load_survey(empty)
    with pytest.raises(InputError, match="sheet 'Nope' not in"):
        load_survey(_xlsx(tmp_path / "one.xlsx", [["date", "csat"], ["2025-01-01", 4]]), sheet="Nope")
    with pytest.raises(InputError, match=r"\.xls workbook"):
        load_survey(write_file("old.xls", b"\xd0\xcf"))
    with pytest.raises(InputError, match="not found"):
        load_survey(tmp_path / "missing.csv")


def test_unparseable_csv_is_a_clear_error(write_file) -> None:
    huge = "x" * 200_000
    with pytest.raises(InputError, match=r"is not valid CSV .*field larger than field limit"):
        load_survey(write_file("huge.csv", f'date,csat,comment\n2025-01-01,4,"{huge}"\n'))
