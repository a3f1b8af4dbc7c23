"""Report outputs: HTML (Jinja2 + inline SVG), PDF (WeasyPrint, from the same HTML), XLSX, CSV and JSON.

:func:`write_outputs` writes the requested formats into a folder and returns
the paths. Heavy libraries (matplotlib, WeasyPrint, openpyxl) load only when
their format is asked for.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from earshot.errors import InputError

log = logging.getLogger(__name__)

FORMATS = ("html", "pdf", "xlsx", "json", "csv")


def parse_formats(text: str | Sequence[str]) -> list[str]:
    """``"html,pdf"`` → ``["html", "pdf"]``; unknown names raise :class:`InputError`."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    out: list[str] = []
    for part in parts:
        name = part.strip().lower()
        if not name:
            continue
        if name not in FORMATS:
            raise InputError(f"unknown report format {name!r}; use any of {', '.join(FORMATS)}")
        if name not in out:
            out.append(name)
    if not out:
        raise InputError(f"no report format given; use any of {', '.join(FORMATS)}")
    return out


def write_outputs(report: dict[str, Any], out_dir: str | Path, formats: Sequence[str] = FORMATS,
                  *, stem: str | None = None) -> list[Path]:
    """Write ``report`` in each of ``formats`` into ``out_dir`` (created); returns the files written."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output folder {str(out)!r}: {exc}") from None
    stem = stem or f"satisfaction-{report['year']}"
    written: list[Path] = []
    html_text: str | None = None
    for fmt in parse_formats(list(formats)):
        if fmt == "json":
            path = out / f"{stem}.json"
            path.write_text(to_json(report), encoding="utf-8")
            written.append(path)
        elif fmt == "csv":
            written += write_csv(report, out / f"{stem}-csv")
        elif fmt == "xlsx":
            written.append(write_xlsx(report, out / f"{stem}.xlsx"))
        elif fmt in ("html", "pdf"):
            if html_text is None:
                from reports.render.html import render_html

                html_text = render_html(report)
            if fmt == "html":
                path = out / f"{stem}.html"
                path.write_text(html_text, encoding="utf-8")
            else:
                path = write_pdf(html_text, out / f"{stem}.pdf")
            written.append(path)
    log.info("reports.written dir=%s files=%d", out, len(written))
    return written


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def write_csv(report: dict[str, Any], folder: Path) -> list[Path]:
    """One UTF-8 CSV per table (with a BOM so spreadsheet programs read the accents right)."""
    from reports.render.tables import report_tables

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for table in report_tables(report):
        path = folder / f"{table.name}.csv"
        with open(path, "w", newline="", encoding="utf-8-sig") as fh:
            w = csv.writer(fh)
            w.writerow(table.columns)
            w.writerows([["" if v is None else v for v in row] for row in table.rows])
        paths.append(path)
    return paths


def _sheet_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", name)[:31]
    candidate, i = base, 2
    while candidate.lower() in used:
        suffix = f"_{i}"
        candidate = base[: 31 - len(suffix)] + suffix
        i += 1
    used.add(candidate.lower())
    return candidate


def write_xlsx(report: dict[str, Any], path: Path) -> Path:
    """One sheet per table, header row bold and frozen, column widths fitted."""
    from earshot.errors import require

    require("openpyxl", "reports")
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    from reports.render.tables import report_tables

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    fills = {"green": PatternFill("solid", fgColor="C8E6C9"), "red": PatternFill("solid", fgColor="FFCDD2")}
    for table in report_tables(report):
        ws = wb.create_sheet(_sheet_name(table.name, used))
        ws.append(table.columns)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
        status_col = table.columns.index("status") + 1 if "status" in table.columns else None
        for row in table.rows:
            ws.append(row)
            if status_col is not None and row[status_col - 1] in fills:
                ws.cell(ws.max_row, status_col).fill = fills[row[status_col - 1]]
        for i, col in enumerate(table.columns, start=1):
            width = max([len(str(col))] + [len(str(r[i - 1])) for r in table.rows[:500] if r[i - 1] is not None])
            ws.column_dimensions[ws.cell(1, i).column_letter].width = min(60, width + 2)
    wb.save(path)
    return path


def write_pdf(html_text: str, path: Path) -> Path:
    """Render the HTML to PDF with WeasyPrint (the ``reports`` extra)."""
    from earshot.errors import require

    require("weasyprint", "reports")
    import weasyprint

    weasyprint.HTML(string=html_text, base_url=str(path.parent)).write_pdf(str(path))
    return path
