"""Earshot's exception tree.

Every error a user can cause derives from :class:`EarshotError`; the CLI turns
them into one line on stderr and exit code 2, the API into problem+json.
Messages name the offending value (``{value!r}``) and say what to do.
"""

from __future__ import annotations


class EarshotError(Exception):
    """Base of every domain error raised by Earshot."""


class ConfigError(EarshotError):
    """The watch config (YAML) or a setting is invalid.

    ``file`` and ``path`` locate the problem: ``config.yaml: brands[0].aliases: ...``.
    """

    def __init__(self, message: str, *, file: str | None = None, path: str | None = None) -> None:
        self.file = file
        self.path = path
        where = ": ".join(p for p in (file, path) if p)
        super().__init__(f"{where}: {message}" if where else message)


class QuerySyntaxError(EarshotError):
    """A listening query could not be parsed; ``column`` is 1-based."""

    def __init__(self, query: str, column: int, expected: str) -> None:
        self.query = query
        self.column = column
        self.expected = expected
        super().__init__(f"query syntax error at column {column}: expected {expected} in {query!r}")


class InputError(EarshotError):
    """A user-supplied file or value is malformed (JSONL line, CSV row, option)."""


class NotFoundError(EarshotError):
    """A requested object (mention, alert, key) does not exist."""


class StoreError(EarshotError):
    """The store could not be opened or answered with an error."""


class NotConfiguredError(EarshotError):
    """A component cannot run with the current configuration (missing credentials, URL)."""


class MissingExtraError(EarshotError, ImportError):
    """An optional dependency is not installed; the message names the extra."""

    def __init__(self, package: str, extra: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{package!r} is not installed; install the extra with: pip install 'earshot[{extra}]'"
        )


def require(module: str, extra: str) -> object:
    """Import ``module`` or raise :class:`MissingExtraError` naming ``extra``."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise MissingExtraError(module.split(".")[0], extra) from exc
