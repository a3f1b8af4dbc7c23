"""Shared helpers for the reports tests: tiny survey files and responses built by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from reports.survey import Response


def resp(day: str, csat: int | None = None, nps: int | None = None, row: int = 2, **groups: str) -> Response:
    return Response(row=row, date=date.fromisoformat(day), csat=csat, nps=nps, groups=groups)


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[..., Path]:
    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return _write
