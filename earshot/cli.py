"""The one console script, ``earshot``, with a subcommand per area.

Global options ``--config`` and ``--store`` override the environment
(``EARSHOT_CONFIG``, ``EARSHOT_STORE``). Domain errors become one line on
stderr and exit code 2, never a traceback. Each area registers its own
commands from its own ``cli.py`` so the heavy imports stay lazy.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from earshot.errors import EarshotError

# Under ``python -m earshot.cli`` this file runs as ``__main__``; the areas import
# ``earshot.cli`` for ``STATE``, which would load a second copy with its own empty
# state. Alias the running module so there is only one.
if __name__ == "__main__":
    sys.modules.setdefault("earshot.cli", sys.modules[__name__])

app = typer.Typer(
    name="earshot",
    help="Social listening and sentiment monitoring.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@dataclass
class CliState:
    config_path: Path | None = None
    store_url: str | None = None


STATE = CliState()


@app.callback()
def _main(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="watch config YAML", envvar="EARSHOT_CONFIG")
    ] = None,
    store: Annotated[
        str | None,
        typer.Option("--store", "-s", help="sqlite:///path.db or http(s)://host:9200", envvar="EARSHOT_STORE"),
    ] = None,
) -> None:
    STATE.config_path = config
    STATE.store_url = store


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one error line and exit (exit code 2 for bad input)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _register_areas() -> None:
    from alerts.cli import register as alerts_register
    from api.cli import register as api_register
    from crawlers.cli import register as crawl_register
    from earshot.commands import register as core_register
    from earshot.service import register as service_register
    from nlp.cli import register as nlp_register
    from reports.cli import register as reports_register

    for register in (
        core_register,
        crawl_register,
        nlp_register,
        alerts_register,
        api_register,
        reports_register,
        service_register,
    ):
        register(app)


_register_areas()


def main() -> None:
    try:
        app()
    except EarshotError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
