"""`earshot` subcommands owned by the `api` package (imports stay lazy)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
