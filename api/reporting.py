"""Where the API's satisfaction reports come from, and a short-lived cache of built reports.

The survey (and targets) files are server-side: ``EARSHOT_REPORT_SURVEY`` /
``EARSHOT_REPORT_TARGETS`` or ``earshot serve --survey/--targets``; targets
default to the watch config's ``reports.targets``. Building a report reads the
whole survey and queries the store, so results are cached for a few minutes,
keyed by the request and the files' modification times.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic_settings import BaseSettings, SettingsConfigDict


class ReportSettings(BaseSettings):
    """``EARSHOT_REPORT_SURVEY`` and ``EARSHOT_REPORT_TARGETS``."""

    model_config = SettingsConfigDict(env_prefix="EARSHOT_REPORT_", env_file=None, extra="ignore")

    survey: Path | None = None
    targets: Path | None = None


@dataclass(frozen=True)
class ReportSource:
    survey: Path | None
    targets: Path | None

    def stamp(self) -> tuple[float, float]:
        """Modification times, so an edited file invalidates cached reports."""

        def mtime(p: Path | None) -> float:
            try:
                return p.stat().st_mtime if p else 0.0
            except OSError:
                return -1.0

        return mtime(self.survey), mtime(self.targets)


class TtlCache:
    """A small thread-safe LRU with expiry for built reports and rendered files."""

    def __init__(self, max_items: int = 32, ttl_s: float = 300.0) -> None:
        self.max_items = max_items
        self.ttl_s = ttl_s
        self._items: OrderedDict[tuple[Any, ...], tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and now - hit[0] < self.ttl_s:
                self._items.move_to_end(key)
                return hit[1]
        value = build()  # outside the lock: a slow build must not block other keys
        with self._lock:
            self._items[key] = (now, value)
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
        return value


def _public_store_url(url: str) -> str:
    """Elasticsearch: the URL without credentials; file stores: the file name only."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"{parts.scheme}://{Path(parts.path).name}" if parts.path else url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def public_report(report: dict[str, Any]) -> dict[str, Any]:
    """The report with server file paths cut to file names and credentials dropped from URLs."""
    prov = report.get("provenance")
    if not isinstance(prov, dict):
        return report
    prov = dict(prov)
    for name in ("survey", "targets", "config"):
        item = prov.get(name)
        if isinstance(item, dict) and isinstance(item.get("path"), str):
            prov[name] = {**item, "path": Path(item["path"]).name}
        elif isinstance(item, str) and name == "config":
            prov[name] = Path(item).name
    if isinstance(prov.get("store"), str):
        prov["store"] = _public_store_url(prov["store"])
    return {**report, "provenance": prov}
