"""`earshot alerts …` subcommands: detect, list, evaluate, dispatch, ack, resolve, digest (imports stay lazy)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from earshot.config import WatchConfig
    from store.base import MentionStore

alerts_app = typer.Typer(
    help="Spike alerts: run detectors, evaluate rules, list and act on alerts.", no_args_is_help=True
)


def _config() -> WatchConfig:
    from earshot.cli import STATE, fail
    from earshot.config import load_config
    from earshot.settings import get_settings

    path = STATE.config_path or get_settings().config
    if path is None:
        fail("no watch config; pass --config FILE or set EARSHOT_CONFIG")
    return load_config(path)


def _store() -> MentionStore:
    from earshot.cli import STATE
    from earshot.settings import get_settings
    from store import open_store

    return open_store(STATE.store_url or get_settings().store_url())


def _parse_now(now: str | None) -> datetime | None:
    if now is None:
        return None
    from alerts.series_io import parse_timestamp

    return parse_timestamp(now, "--now")


@alerts_app.command("detect")
def detect(
    file: Annotated[Path, typer.Argument(help="CSV with columns timestamp,value (one count per bucket)")],
    detector: Annotated[str, typer.Option("--detector", "-d", help="threshold, relative or seasonal")] = "seasonal",
    setting: Annotated[
        list[str] | None, typer.Option("--set", help="detector setting NAME=NUMBER (repeatable), e.g. --set above=50")
    ] = None,
) -> None:
    """Run a detector with its defaults over FILE; print timestamp,value,score,alert to stdout."""
    import sys

    from alerts.detectors import DETECTORS, run_detector
    from alerts.series_io import read_series, write_detections
    from earshot.cli import fail

    if detector not in DETECTORS:
        fail(f"unknown detector {detector!r}; choose one of {', '.join(sorted(DETECTORS))}")
    settings: dict[str, object] = {}
    for item in setting or []:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            fail(f"--set {item!r} must look like NAME=VALUE")
        value: object = raw.strip()
        try:
            value = float(raw) if any(c in raw for c in ".eE") else int(raw)
        except ValueError:
            value = {"true": True, "false": False}.get(raw.strip().lower(), raw.strip())
        settings[name.strip()] = value
    stamps, values, written = read_series(file)
    dets = run_detector(detector, stamps, values, settings)
    write_detections(sys.stdout, written, values, dets)


@alerts_app.command("list")
def list_cmd(
    status: Annotated[str | None, typer.Option(help="firing, acknowledged or resolved")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """List alerts, most recently updated first."""
    from earshot.cli import fail
    from earshot.models import AlertStatus

    st = None
    if status is not None:
        try:
            st = AlertStatus(status)
        except ValueError:
            fail(f"status {status!r} is not one of firing, acknowledged, resolved")
    with _store() as store:
        alerts = store.list_alerts(status=st, limit=limit)
    if not alerts:
        typer.echo("no alerts")
        return
    for a in alerts:
        who = a.brand or "-"
        if a.group:
            who += f"/{a.group}"
        obs = "?" if a.observed is None else f"{a.observed:g}"
        exp = "?" if a.expected is None else f"{a.expected:.3g}"
        typer.echo(
            f"{a.id}  {a.status.value:12s} {a.severity.value:8s} {a.rule:20s} {who:20s} "
            f"{obs} vs {exp}  updated {a.updated_at:%Y-%m-%d %H:%M}Z  {a.assignee or ''}"
        )


@alerts_app.command("evaluate")
def evaluate(
    now: Annotated[str | None, typer.Option(help="evaluate as of this UTC time (ISO 8601); default: now")] = None,
    dispatch: Annotated[bool, typer.Option(help="also deliver queued notifications")] = True,
) -> None:
    """Evaluate every rule once on closed buckets; print what changed."""
    from alerts.engine import AlertEngine
    from alerts.notifiers import build_notifiers
    from alerts.outbox import OutboxDispatcher
    from earshot.settings import get_settings

    config = _config()
    at = _parse_now(now)
    with _store() as store:
        engine = AlertEngine(store, config, settings=get_settings())
        events = engine.evaluate(at)
        for ev in events:
            a = ev.alert
            sent = f" → {', '.join(ev.notified)}" if ev.notified else ""
            typer.echo(f"{ev.event:10s} {a.id} {a.key} {a.severity.value} score={a.score or 0:.2f}{sent}")
        if not events:
            typer.echo(f"{len(engine.rules)} rule(s) evaluated; nothing changed")
        if dispatch:
            result = OutboxDispatcher(store, build_notifiers(config, get_settings())).dispatch(at)
            typer.echo(f"notifications: {result.sent} sent, {result.failed} to retry, {result.dead} dead")


@alerts_app.command("dispatch")
def dispatch_cmd() -> None:
    """Deliver the notifications waiting in the outbox."""
    from alerts.notifiers import build_notifiers
    from alerts.outbox import OutboxDispatcher
    from earshot.settings import get_settings

    config = _config()
    with _store() as store:
        result = OutboxDispatcher(store, build_notifiers(config, get_settings())).dispatch()
    typer.echo(f"notifications: {result.sent} sent, {result.failed} to retry, {result.dead} dead")


def _change(alert_id: str, action: str, by: str | None, note: str | None, assignee: str | None) -> None:
    from alerts.lifecycle import acknowledge, resolve
    from earshot.cli import fail

    with _store() as store:
        alert = store.get_alert(alert_id)
        if alert is None:
            fail(f"no alert with id {alert_id!r}; see `earshot alerts list`")
        try:
            changed = (acknowledge if action == "ack" else resolve)(alert, by=by or "cli", note=note, assignee=assignee)
        except ValueError as exc:
            fail(str(exc))
        store.save_alert(changed)
    typer.echo(f"{changed.id} {changed.status.value}")


@alerts_app.command("ack")
def ack(
    alert_id: Annotated[str, typer.Argument(help="alert id (see `earshot alerts list`)")],
    by: Annotated[str | None, typer.Option(help="who acknowledges")] = None,
    assignee: Annotated[str | None, typer.Option(help="assign it to this person")] = None,
    note: Annotated[str | None, typer.Option(help="add a note")] = None,
) -> None:
    """Acknowledge an alert (optionally assign it and add a note)."""
    _change(alert_id, "ack", by, note, assignee)


@alerts_app.command("resolve")
def resolve_cmd(
    alert_id: Annotated[str, typer.Argument(help="alert id (see `earshot alerts list`)")],
    by: Annotated[str | None, typer.Option(help="who resolves")] = None,
    note: Annotated[str | None, typer.Option(help="add a note")] = None,
) -> None:
    """Resolve an alert by hand."""
    _change(alert_id, "resolve", by, note, None)


@alerts_app.command("digest")
def digest_cmd(
    day: Annotated[str | None, typer.Option(help="UTC day YYYY-MM-DD; default: yesterday")] = None,
) -> None:
    """Print the daily digest for one day."""
    from datetime import date, timedelta

    from alerts.engine import AlertEngine
    from earshot.cli import fail
    from earshot.models import utcnow
    from earshot.settings import get_settings

    try:
        d = date.fromisoformat(day) if day else (utcnow() - timedelta(days=1)).date()
    except ValueError:
        fail(f"--day {day!r} is not a date; use YYYY-MM-DD")
    with _store() as store:
        note = AlertEngine(store, _config(), settings=get_settings()).digest(d)
    typer.echo(note.text())


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.add_typer(alerts_app, name="alerts")
