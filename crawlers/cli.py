"""`earshot crawl` and `earshot sources`, owned by the crawlers package (heavy imports stay lazy)."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from crawlers.runner import SourceOutcome
    from earshot.config import WatchConfig
    from earshot.models import SourceRun
    from store.base import MentionStore


def _fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.1f}s" if seconds < 120 else f"{seconds / 60:.1f}m"


def _fmt_when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


_STATUS_STYLE = {"ok": "green", "partial": "yellow", "failed": "red", "not_configured": "dim", "running": "cyan"}


def summary_table(outcomes: list[SourceOutcome]) -> Any:
    """One row per source run: what it saw, stored, skipped and what went wrong."""
    from rich.table import Table

    table = Table(title="crawl summary")
    for col in ("source", "kind", "status", "seen", "new", "duplicates", "filtered", "errors", "duration", "note"):
        table.add_column(col, justify="right" if col in {"seen", "new", "duplicates", "filtered", "errors"} else "left")
    for o in outcomes:
        r = o.run
        style = _STATUS_STYLE.get(r.status, "")
        note = r.error_messages[0] if r.error_messages else ""
        table.add_row(
            r.source,
            r.kind,
            f"[{style}]{r.status}[/{style}]" if style else r.status,
            str(r.seen),
            str(r.new),
            str(r.duplicates),
            str(o.filtered),
            str(r.errors),
            _fmt_duration(r.duration_s),
            note[:70],
        )
    return table


def _run_round(
    console: Console, config: WatchConfig, store: MentionStore, pipeline: Any, names: list[str]
) -> list[SourceOutcome]:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from crawlers.runner import run_source, select_sources

    outcomes: list[SourceOutcome] = []
    with Progress(
        SpinnerColumn(finished_text="•"),
        TextColumn("[bold]{task.description}"),
        TextColumn("{task.fields[state]}"),
        TextColumn("{task.completed} items"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        tasks: dict[str, Any] = {}

        def hook(source: str, event: str, n: int) -> None:
            if event == "start":
                tasks[source] = bar.add_task(source, total=None, state="crawling")
            elif event == "progress":
                bar.update(tasks[source], completed=n)
            else:
                bar.update(tasks[source], state="stored", completed=max(n, 0))

        for name in names:
            source = select_sources(config, name)[0]
            outcome = run_source(source, config, store, pipeline, progress=hook)
            seen = outcome.run.seen
            bar.update(tasks[name], state=outcome.run.status, total=seen, completed=seen)
            outcomes.append(outcome)
    return outcomes


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""

    @app.command("crawl")
    def crawl(
        source: Annotated[str | None, typer.Option("--source", help="crawl only this configured source")] = None,
        once: Annotated[
            bool, typer.Option("--once", help="run each source once and exit (default: keep crawling on intervals)")
        ] = False,
        no_score: Annotated[
            bool, typer.Option("--no-score", help="store mentions unscored (do not load the sentiment model)")
        ] = False,
    ) -> None:
        """Crawl the configured sources now, store what is new, and print a per-source summary."""
        from rich.console import Console

        from crawlers.runner import select_sources
        from earshot.cli import fail
        from earshot.commands import current_config, open_cli_store
        from earshot.config import parse_duration
        from earshot.errors import EarshotError
        from earshot.pipeline import build_pipeline

        console = Console()
        try:
            config = current_config(required=True)
            assert config is not None
            chosen = [s.name for s in select_sources(config, source)]
            if not chosen:
                fail("no enabled sources in the config; add sources[] or pass --source NAME")
            store = open_cli_store()
        except EarshotError as exc:
            fail(str(exc))
        any_failed = False
        try:
            pipeline = build_pipeline(config, store, scorer=None if no_score else "auto")
            next_due = dict.fromkeys(chosen, 0.0)
            while True:
                now = time.monotonic()
                due = [n for n in chosen if next_due[n] <= now]
                outcomes = _run_round(console, config, store, pipeline, due)
                console.print(summary_table(outcomes))
                any_failed = any_failed or any(o.run.status == "failed" for o in outcomes)
                if once:
                    break
                for o in outcomes:
                    src = select_sources(config, o.run.source)[0]
                    next_due[o.run.source] = now + parse_duration(src.interval).total_seconds()
                wait = max(1.0, min(next_due.values()) - time.monotonic())
                console.print(f"[dim]next crawl in {wait:.0f}s (Ctrl-C to stop)[/dim]")
                time.sleep(wait)
        except KeyboardInterrupt:
            console.print("[yellow]stopped[/yellow]")
        except EarshotError as exc:
            fail(str(exc))
        finally:
            store.close()
        if any_failed:
            raise typer.Exit(1)

    @app.command("sources")
    def sources(
        as_json: Annotated[bool, typer.Option("--json", help="one JSON object per source instead of a table")] = False,
    ) -> None:
        """Health of every source from its stored runs: last run, status, counts, last success."""
        from rich.console import Console
        from rich.table import Table

        from earshot.cli import fail
        from earshot.commands import current_config, open_cli_store
        from earshot.errors import EarshotError

        try:
            config = current_config(required=False)
            store = open_cli_store()
        except EarshotError as exc:
            fail(str(exc))
        try:
            rows = source_health(store, config)
        finally:
            store.close()
        if as_json:
            for row in rows:
                typer.echo(json.dumps(row, default=str))
            return
        table = Table(title="sources")
        cols = ("source", "kind", "enabled", "last run", "status", "seen", "new", "dup", "errors", "duration")
        for col in (*cols, "last success", "last error"):
            table.add_column(col)
        for row in rows:
            style = _STATUS_STYLE.get(str(row["status"]), "")
            status = f"[{style}]{row['status']}[/{style}]" if style else str(row["status"])
            table.add_row(
                row["source"],
                row["kind"],
                "yes" if row["enabled"] else "no",
                _fmt_when(row["last_run"]),
                status,
                str(row["seen"]),
                str(row["new"]),
                str(row["duplicates"]),
                str(row["errors"]),
                _fmt_duration(row["duration_s"]),
                _fmt_when(row["last_success"]),
                (row["last_error"] or "")[:60],
            )
        Console().print(table)


def source_health(store: MentionStore, config: WatchConfig | None) -> list[dict[str, Any]]:
    """One row per configured (or previously run) source, from its most recent stored runs."""
    configured = {s.name: s for s in (config.sources if config else [])}
    names = list(configured)
    for run in store.source_runs(None, limit=500):
        if run.source not in names:
            names.append(run.source)
    rows: list[dict[str, Any]] = []
    for name in names:
        runs: list[SourceRun] = store.source_runs(name, limit=50)
        last = runs[0] if runs else None
        success = next((r for r in runs if r.status in ("ok", "partial")), None)
        failure = next((r for r in runs if r.error_messages), None)
        src = configured.get(name)
        rows.append(
            {
                "source": name,
                "kind": src.kind if src else (last.kind if last else ""),
                "enabled": bool(src.enabled) if src else False,
                "last_run": last.started_at if last else None,
                "status": last.status if last else "never run",
                "seen": last.seen if last else 0,
                "new": last.new if last else 0,
                "duplicates": last.duplicates if last else 0,
                "errors": last.errors if last else 0,
                "duration_s": last.duration_s if last else None,
                "last_success": (success.finished_at or success.started_at) if success else None,
                "last_error": failure.error_messages[0] if failure else None,
            }
        )
    return rows
