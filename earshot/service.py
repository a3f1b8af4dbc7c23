"""Service commands: ``demo``, ``run``, ``worker`` (APScheduler jobs wiring every area)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the service commands to the main app."""
