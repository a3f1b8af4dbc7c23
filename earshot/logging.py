"""Process-wide logging set-up: one event per line, key=value text or JSON, never secrets.

``setup_logging()`` is called once by the commands that run for a while
(``run``, ``worker``, ``demo``, ``ingest``); libraries only call
``logging.getLogger(__name__)``. Level and format come from the settings
(``EARSHOT_LOG_LEVEL``, ``EARSHOT_LOG_FORMAT``). A redaction filter masks
anything that looks like a credential (Bearer tokens, ``password=…``,
API keys, URL userinfo) before a record is written.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{6,}"), r"\1***"),
    (re.compile(r"(?i)\b(password|passwd|secret|token|api[_-]?key|authorization)(\s*[=:]\s*)[^\s,;&]+"), r"\1\2***"),
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), r"\1***:***@"),
    (re.compile(r"\b(esk_[A-Za-z0-9]{4})[A-Za-z0-9_-]{8,}"), r"\1***"),
)
_NOISY = (
    "httpx",
    "httpcore",
    "urllib3",
    "apscheduler.executors",
    "apscheduler.scheduler",
    "filelock",
    "scrapy",
    "twisted",
    "asyncio",
)


def redact(text: str) -> str:
    """``text`` with credentials masked (used on every formatted log line)."""
    for pattern, repl in _REDACTIONS:
        text = pattern.sub(repl, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = redact(record.getMessage())
        record.msg, record.args = message, None
        return True


class KeyValueFormatter(logging.Formatter):
    """``2026-01-01T00:00:00Z level=info logger=earshot.pipeline message…`` (one line)."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        line = f"{ts} level={record.levelname.lower()} logger={record.name} {record.getMessage()}"
        if record.exc_info:
            exc = record.exc_info[1]
            line += f" exc={type(exc).__name__}: {exc}" if exc else ""
        return redact(line.replace("\n", "\\n"))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``ts``, ``level``, ``logger``, ``message`` (+ ``exc``)."""

    def format(self, record: logging.LogRecord) -> str:
        obj: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info and record.exc_info[1] is not None:
            obj["exc"] = redact(f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}")
        return json.dumps(obj, ensure_ascii=False)


_HANDLER_NAME = "earshot"


class _CurrentStderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at emit time (test runners swap it; a stale stream would be closed)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def setup_logging(level: str | None = None, fmt: str | None = None, stream: TextIO | None = None) -> None:
    """Configure the root logger once (idempotent: calling again replaces Earshot's handler)."""
    if level is None or fmt is None:
        from earshot.settings import get_settings

        settings = get_settings()
        level = level or settings.log_level
        fmt = fmt or settings.log_format
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == _HANDLER_NAME:
            root.removeHandler(old)
    handler: logging.Handler = logging.StreamHandler(stream) if stream is not None else _CurrentStderrHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    numeric = logging.getLevelName(level.upper())
    root.setLevel(numeric if isinstance(numeric, int) else logging.INFO)
    for name in _NOISY:
        logging.getLogger(name).setLevel(max(root.level, logging.WARNING))
