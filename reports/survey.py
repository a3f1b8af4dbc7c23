"""Survey import: CSV or XLSX rows → validated :class:`Response` records.

A survey file has a ``date`` column (ISO ``YYYY-MM-DD``; in XLSX also real
date cells and Excel serial numbers), a ``csat`` column (answers 1–5) and/or an
``nps`` column (likelihood to recommend, 0–10), and any number of group columns
(``region``, ``product``, ``department`` …). Other header names are mapped to
these canonical names with ``column_map`` (``{"Satisfaction": "csat"}``; from
``reports.column_map`` in the watch config or ``--map`` on the command line).

Validation never stops at the first bad row: every rejected row is reported
with its row number (as a spreadsheet shows it: the header is row 1) and the
reasons, and the report is built from the good rows. A row with any invalid
field is rejected whole, so a figure never mixes half-valid answers. Scores on
another scale (CSAT given 0–10 or as a percentage) are rejected, never
silently rescaled: only the person who ran the survey knows what a "7" meant.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from earshot.errors import InputError

log = logging.getLogger(__name__)

DATE = "date"
CSAT = "csat"
NPS = "nps"
SCORE_COLUMNS = (CSAT, NPS)
#: Columns kept with each answer (for the follow-up list) but never used as groups.
INFO_COLUMNS = frozenset(
    {"id", "respondent", "respondent_id", "response_id", "customer", "customer_id", "account", "contact", "comment"}
)
SCALES: dict[str, tuple[int, int]] = {CSAT: (1, 5), NPS: (0, 10)}
_DELIMITERS = (",", ";", "\t", "|")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
# Excel serials for 1950-01-01 .. 2099-12-31; anything else in a date cell is not a date.
_SERIAL_MIN, _SERIAL_MAX = 18264, 73415


@dataclass(frozen=True)
class Response:
    """One valid survey answer. ``row`` is the 1-based row in the file (header = row 1)."""

    row: int
    date: date
    csat: int | None
    nps: int | None
    groups: dict[str, str] = field(default_factory=dict)
    info: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RowError:
    """A rejected row and every reason it was rejected."""

    row: int
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


@dataclass
class Survey:
    """The result of an import: good answers, rejected rows and where they came from."""

    path: str
    sha256: str
    format: str
    columns: list[str]
    group_columns: list[str]
    responses: list[Response]
    errors: list[RowError]
    rows_read: int
    warnings: list[str] = field(default_factory=list)

    @property
    def rows_rejected(self) -> int:
        return len(self.errors)

    def date_range(self) -> tuple[date, date] | None:
        if not self.responses:
            return None
        days = [r.date for r in self.responses]
        return min(days), max(days)

    def has(self, metric: str) -> bool:
        return any(getattr(r, metric) is not None for r in self.responses)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def normalise_header(name: object) -> str:
    """Header cell → lookup key: BOM and surrounding space removed, lower case, spaces → ``_``."""
    text = "" if name is None else str(name)
    return re.sub(r"\s+", "_", text.replace("\ufeff", "").strip()).lower()


def load_survey(
    path: str | Path,
    *,
    column_map: Mapping[str, str] | None = None,
    group_columns: Sequence[str] | None = None,
    sheet: str | None = None,
) -> Survey:
    """Read and validate a survey file (``.csv``/``.txt`` or ``.xlsx``/``.xlsm``).

    ``group_columns`` (after mapping) must exist; by default every column that
    is not ``date``, a score or an info column (``id``, ``customer``, ``comment`` …)
    is a group column. Raises :class:`InputError` when the file as a whole
    cannot be used (missing, empty, undetectable delimiter, no ``date`` or
    score column, no valid row); bad rows are collected in ``Survey.errors``.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"survey file {str(p)!r} not found; pass an existing CSV or XLSX file")
    suffix = p.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        header, rows, fmt = _read_xlsx(p, sheet)
    elif suffix in {".csv", ".txt", ".tsv", ""}:
        header, rows, fmt = _read_csv(p)
    elif suffix == ".xls":
        raise InputError(f"{str(p)!r} is an old .xls workbook; save it as .xlsx or CSV")
    else:
        raise InputError(f"survey file {str(p)!r} has unknown type {suffix!r}; use .csv or .xlsx")
    return _validate(str(p), file_sha256(p), fmt, header, rows, column_map or {}, group_columns)


# --- reading ---------------------------------------------------------------------------------


def _read_csv(p: Path) -> tuple[list[str], Iterator[tuple[int, list[Any]]], str]:
    raw = p.read_bytes()
    if not raw.strip(b"\xef\xbb\xbf \t\r\n"):
        raise InputError(f"survey file {str(p)!r} is empty; expected a header row with 'date' and 'csat' or 'nps'")
    text = _decode(raw, p)
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.strip())
    try:
        delimiter = _sniff_delimiter(lines[first : first + 50], p)
        all_rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise InputError(f"survey file {str(p)!r} is not valid CSV ({exc}); check quotes and field lengths") from None
    # Skip leading blank lines, keep row numbers as a spreadsheet shows them.
    header_idx = next(i for i, r in enumerate(all_rows) if any(c.strip() for c in r))
    header = [normalise_header(c) for c in all_rows[header_idx]]

    def rows() -> Iterator[tuple[int, list[Any]]]:
        for i in range(header_idx + 1, len(all_rows)):
            yield i + 1, all_rows[i]

    name = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}[delimiter]
    return header, rows(), f"csv ({name})"


def _decode(raw: bytes, p: Path) -> str:
    # utf-8-sig strips a BOM; cp1252 is what spreadsheet programs on Windows write without one.
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(f"survey file {str(p)!r} is neither UTF-8 nor Windows-1252 text; save it as UTF-8 CSV")


def _sniff_delimiter(lines: list[str], p: Path) -> str:
    """The delimiter that splits the header into the most columns and the data rows consistently."""
    best: tuple[int, str] | None = None
    for d in _DELIMITERS:
        parsed = list(csv.reader(lines, delimiter=d))
        if not parsed or len(parsed[0]) < 2:
            continue
        width = len(parsed[0])
        data = [r for r in parsed[1:] if any(c.strip() for c in r)]
        consistent = sum(1 for r in data if len(r) == width)
        if data and consistent < 0.8 * len(data):
            continue
        if best is None or width > best[0]:
            best = (width, d)
    if best is None:
        head = lines[0][:80] if lines else ""
        raise InputError(
            f"cannot split the header of {str(p)!r} into columns ({head!r}); "
            "separate columns with ',' or ';' (or tab) and keep the same number of fields on every row"
        )
    return best[1]


def _read_xlsx(p: Path, sheet: str | None) -> tuple[list[str], Iterator[tuple[int, list[Any]]], str]:
    from earshot.errors import require

    require("openpyxl", "reports")
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(p, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputError(f"cannot open {str(p)!r} as an XLSX workbook ({exc}); save it as .xlsx or CSV") from None
    if sheet is not None and sheet not in wb.sheetnames:
        raise InputError(f"sheet {sheet!r} not in {str(p)!r}; sheets: {wb.sheetnames!r}")
    ws = wb[sheet] if sheet is not None else wb.worksheets[0]
    all_rows = [list(r) for r in ws.iter_rows(values_only=True)]
    wb.close()
    header_idx = next(
        (i for i, r in enumerate(all_rows) if any(c is not None and str(c).strip() for c in r)), None
    )
    if header_idx is None:
        raise InputError(
            f"survey workbook {str(p)!r} (sheet {ws.title!r}) is empty; "
            "expected a header row with 'date' and 'csat' or 'nps'"
        )
    header = [normalise_header(c) for c in all_rows[header_idx]]

    def rows() -> Iterator[tuple[int, list[Any]]]:
        for i in range(header_idx + 1, len(all_rows)):
            yield i + 1, all_rows[i]

    return header, rows(), "xlsx"


# --- validation --------------------------------------------------------------------------------


def _resolve_columns(
    header: list[str], column_map: Mapping[str, str], path: str
) -> dict[str, int]:
    """Canonical column name → index, after applying ``column_map`` (keys matched case-insensitively)."""
    mapping = {normalise_header(k): normalise_header(v) for k, v in column_map.items()}
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        if not name:
            continue
        canonical = mapping.get(name, name)
        if canonical in index:
            raise InputError(
                f"{path!r}: two columns map to {canonical!r} (columns {index[canonical] + 1} and {i + 1}); "
                "rename one or fix reports.column_map"
            )
        index[canonical] = i
    unknown_targets = [k for k in mapping if k not in header]
    if unknown_targets:
        log.info("survey.column_map_unused path=%s columns=%s", path, ",".join(unknown_targets))
    if DATE not in index:
        raise InputError(
            f"{path!r} has no 'date' column (columns: {', '.join(h for h in header if h)}); "
            "rename it or map it with reports.column_map / --map NAME=date"
        )
    if not any(s in index for s in SCORE_COLUMNS):
        raise InputError(
            f"{path!r} has neither a 'csat' nor an 'nps' column (columns: {', '.join(h for h in header if h)}); "
            "map the score column with reports.column_map / --map NAME=csat"
        )
    return index


def _validate(
    path: str,
    sha: str,
    fmt: str,
    header: list[str],
    rows: Iterable[tuple[int, list[Any]]],
    column_map: Mapping[str, str],
    group_columns: Sequence[str] | None,
) -> Survey:
    index = _resolve_columns(header, column_map, path)
    if group_columns is None:
        groups = [c for c in index if c != DATE and c not in SCORE_COLUMNS and c not in INFO_COLUMNS]
    else:
        groups = [normalise_header(g) for g in group_columns]
        missing = [g for g in groups if g not in index]
        if missing:
            available = [c for c in index if c != DATE and c not in SCORE_COLUMNS]
            raise InputError(
                f"{path!r} has no group column {', '.join(repr(m) for m in missing)}; "
                f"available: {', '.join(available) or 'none'}"
            )
    info = [c for c in index if c in INFO_COLUMNS]
    xlsx = fmt == "xlsx"
    responses: list[Response] = []
    errors: list[RowError] = []
    read = 0
    scale_hints: dict[str, int] = {CSAT: 0, NPS: 0}
    for rownum, cells in rows:
        if not any(c is not None and str(c).strip() for c in cells):
            continue  # blank line: not an answer, not an error
        read += 1
        reasons: list[str] = []

        def cell(name: str, cells: list[Any] = cells) -> Any:
            i = index.get(name)
            return cells[i] if i is not None and i < len(cells) else None

        day, why = parse_date(cell(DATE), allow_serial=xlsx)
        if why:
            reasons.append(why)
        scores: dict[str, int | None] = {}
        for metric in SCORE_COLUMNS:
            if metric not in index:
                scores[metric] = None
                continue
            value, why, other_scale = parse_score(cell(metric), metric)
            scores[metric] = value
            if why:
                reasons.append(why)
                scale_hints[metric] += other_scale
        if not reasons and scores[CSAT] is None and scores[NPS] is None:
            reasons.append("no score: both csat and nps are empty" if len(index.keys() & set(SCORE_COLUMNS)) == 2
                           else f"no score: {next(s for s in SCORE_COLUMNS if s in index)} is empty")
        values: dict[str, str] = {}
        for g in groups:
            text = _text(cell(g))
            if not text:
                reasons.append(f"empty group {g!r}")
            values[g] = text
        if reasons:
            errors.append(RowError(rownum, tuple(reasons)))
            continue
        assert day is not None
        extra = {c: _text(cell(c)) for c in info if _text(cell(c))}
        responses.append(Response(rownum, day, scores[CSAT], scores[NPS], values, extra))
    if read == 0:
        raise InputError(f"survey file {path!r} has a header but no data rows")
    warnings = []
    for metric, count in scale_hints.items():
        if count:
            lo, hi = SCALES[metric]
            text = (
                f"{count} row(s) give {metric} on another scale (0–10 or percent); they were rejected, not "
                f"rescaled: convert them to {lo}–{hi} answers if you know how the question was asked"
            )
            if count >= max(3, 0.05 * read):
                # Many such rows mean the column itself mixes scales: a "4" may be a 4 out of 10.
                text += f". So many suggest the {metric} column mixes scales; check the accepted answers too"
            warnings.append(text)
    if errors:
        log.warning("survey.rows_rejected path=%s rejected=%d read=%d", path, len(errors), read)
    if not responses:
        first = "; ".join(str(e) for e in errors[:3])
        raise InputError(f"survey file {path!r}: all {read} rows were rejected (first: {first})")
    return Survey(
        path=path,
        sha256=sha,
        format=fmt,
        columns=list(index),
        group_columns=groups,
        responses=responses,
        errors=errors,
        rows_read=read,
        warnings=warnings,
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_date(value: Any, *, allow_serial: bool = False) -> tuple[date | None, str | None]:
    """Cell → date, or ``(None, reason)``. ISO dates and datetimes (offsets converted to UTC)."""
    if isinstance(value, datetime):
        return _utc_day(value), None
    if isinstance(value, date):
        return value, None
    if allow_serial and isinstance(value, int | float) and not isinstance(value, bool):
        if _SERIAL_MIN <= value <= _SERIAL_MAX:
            # Excel's day 0 is 1899-12-30 once its 1900 leap-year bug is accounted for.
            return date(1899, 12, 30) + timedelta(days=int(value)), None
        return None, f"date {value!r} is not an Excel date serial between 1950 and 2099"
    text = _text(value)
    if not text:
        return None, "date is empty"
    try:
        if _ISO_DATE.match(text):
            return date.fromisoformat(text), None
        if _ISO_DATETIME.match(text):
            return _utc_day(datetime.fromisoformat(text.replace("Z", "+00:00"))), None
    except ValueError:
        return None, f"date {text!r} is not a valid calendar date"
    return None, f"date {text!r} is not an ISO date (YYYY-MM-DD)"


def _utc_day(value: datetime) -> date:
    if value.tzinfo is not None:
        from datetime import UTC

        value = value.astimezone(UTC)
    return value.date()


def parse_score(value: Any, metric: str) -> tuple[int | None, str | None, int]:
    """Cell → whole-number answer on the metric's scale.

    Returns ``(value, reason, other_scale)``: ``reason`` is set when the cell is
    invalid; ``other_scale`` is 1 when it looks like an answer on a different
    scale (a percentage or a 0–10 CSAT), so the import can say so once.
    """
    lo, hi = SCALES[metric]
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None, 0
    if isinstance(value, bool):
        return None, f"{metric} {value!r} is not a number", 0
    if isinstance(value, int | float):
        number = float(value)
        shown = _text(value)
    else:
        shown = str(value).strip()
        if shown.endswith("%"):
            return None, f"{metric} {shown!r} is a percentage; give the answer on the {lo}–{hi} scale", 1
        try:
            number = float(shown.replace(",", ".")) if shown.count(",") == 1 and "." not in shown else float(shown)
        except ValueError:
            return None, f"{metric} {shown!r} is not a number", 0
    if number != number or not number.is_integer():  # NaN or a fraction: not a single answer
        return None, f"{metric} {shown!r} is not a whole answer on the {lo}–{hi} scale", 0
    answer = int(number)
    if not lo <= answer <= hi:
        hint = ""
        if metric == CSAT and 0 <= answer <= 10:
            hint = " (looks like a 0–10 scale; not rescaled)"
        elif metric == CSAT and hi < answer <= 100:
            hint = " (looks like a percentage; not rescaled)"
        return None, f"{metric} {shown} is outside {lo}–{hi}{hint}", 1 if hint else 0
    return answer, None, 0
