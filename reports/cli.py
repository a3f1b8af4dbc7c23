"""`earshot report`: the yearly satisfaction report from a survey, targets and the mention store.

Heavy libraries load only inside the command. Bad input (a missing or malformed
file, an unknown format, a year without answers) is one ``error:`` line and exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from earshot.config import WatchConfig
    from store.base import MentionStore


def _column_map(pairs: list[str]) -> dict[str, str]:
    from earshot.errors import InputError

    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, canonical = pair.partition("=")
        if not sep or not name.strip() or not canonical.strip():
            raise InputError(f"--map {pair!r} is not NAME=COLUMN (e.g. --map Satisfaction=csat)")
        out[name.strip()] = canonical.strip()
    return out


def _config() -> tuple[WatchConfig | None, Path | None]:
    from earshot.cli import STATE
    from earshot.config import load_config
    from earshot.settings import get_settings

    path = STATE.config_path or get_settings().config
    if path is None:
        return None, None
    return load_config(path), Path(path)


def _store(no_web: bool) -> MentionStore | None:
    """The store named by --store / EARSHOT_STORE, else the default SQLite file if it exists."""
    if no_web:
        return None
    from earshot.cli import STATE
    from earshot.settings import get_settings
    from store import open_store

    settings = get_settings()
    url = STATE.store_url or settings.store
    if url is None:
        default = settings.data_dir / "earshot.db"
        if not default.is_file():
            return None  # never create an empty database just to report that it is empty
        url = settings.store_url()
    return open_store(url)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""

    @app.command("report")
    def report(
        survey: Annotated[Path, typer.Option("--survey", help="survey results, CSV or XLSX")],
        year: Annotated[int, typer.Option("--year", help="report year, e.g. 2025")],
        targets: Annotated[
            Path | None, typer.Option("--targets", help="targets YAML (default: reports.targets in the config)")
        ] = None,
        group_by: Annotated[
            str | None, typer.Option("--group-by", help="group columns to compare, e.g. region,product (default: all)")
        ] = None,
        formats: Annotated[
            str, typer.Option("--format", help="any of html,pdf,xlsx,json,csv (comma-separated)")
        ] = "html,json",
        out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("report"),
        metric: Annotated[
            str | None, typer.Option("--metric", help="csat, nps or mean: decides target, status and rank")
        ] = None,
        min_n: Annotated[
            int | None, typer.Option("--min-n", help="minimum answers to rank a group (default 30)")
        ] = None,
        column: Annotated[
            list[str] | None, typer.Option("--map", help="map a survey column: NAME=date|csat|nps|<group> (repeat)")
        ] = None,
        sheet: Annotated[str | None, typer.Option("--sheet", help="XLSX sheet (default: the first)")] = None,
        no_web: Annotated[bool, typer.Option("--no-web", help="leave web sentiment out")] = False,
    ) -> None:
        """Satisfaction report: results against targets, trends, ranking, web sentiment, follow-ups."""
        from earshot.cli import fail
        from earshot.errors import EarshotError

        try:
            from reports.build import build_report
            from reports.render import parse_formats, write_outputs

            fmts = parse_formats(formats)
            groups = [g.strip() for g in group_by.split(",") if g.strip()] if group_by else None
            config, config_path = _config()
            store = _store(no_web)
            if store is not None:
                store.open()
            try:
                result = build_report(
                    survey, targets, year, group_by=groups, store=store, config=config, config_path=config_path,
                    metric=metric, min_n=min_n, column_map=_column_map(column or []), sheet=sheet,
                )
            finally:
                if store is not None:
                    store.close()
            written = write_outputs(result, out, fmts)
        except EarshotError as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"cannot write the report: {exc}")
        o = result["overall"]
        m = result["metric"]
        target = "no target" if o["target"] is None else f"target {o['target']:g}, {o['status']}"
        typer.echo(
            f"{result['year']}: {m} {o[m]} ({target}), n={o['n']}, "
            f"{result['validation']['rows_rejected']} rows rejected, {len(result['follow_ups'])} follow-ups"
        )
        for path in written:
            typer.echo(str(path))
