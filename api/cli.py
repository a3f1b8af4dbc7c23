"""`earshot` subcommands owned by the `api` package: ``serve`` and ``apikey create/list/revoke``.

Imports of FastAPI, uvicorn and the store stay inside the commands so the
CLI starts fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from store.base import MentionStore

apikey_app = typer.Typer(help="Create, list and revoke API keys (stored hashed).", no_args_is_help=True)


def _open_store() -> MentionStore:
    from earshot.cli import STATE
    from earshot.settings import get_settings
    from store import open_store

    url = STATE.store_url or get_settings().store_url()
    store = open_store(url)
    store.open()
    return store


@apikey_app.command("create")
def create_key(
    name: Annotated[str, typer.Argument(help="who or what uses the key, e.g. 'dashboard' or 'maria'")],
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help="read, write or admin; repeat or comma-separate (default: read)"),
    ] = None,
) -> None:
    """Create a key and print it once; only its hash is stored."""
    from api.security import new_api_key
    from earshot.cli import fail
    from earshot.errors import InputError

    try:
        secret, record = new_api_key(name, scope or ["read"])
    except InputError as exc:
        fail(str(exc))
    store = _open_store()
    try:
        store.save_api_key(record)
    finally:
        store.close()
    typer.echo(secret)
    typer.echo(
        f"created key id={record.id} name={record.name!r} scopes={','.join(record.scopes)}; "
        "store the key now, it is not shown again",
        err=True,
    )


@apikey_app.command("list")
def list_keys(
    all_keys: Annotated[bool, typer.Option("--all", help="include revoked keys")] = False,
) -> None:
    """List keys: id, name, scopes, created, last used (never the secret)."""
    store = _open_store()
    try:
        keys = store.list_api_keys()
    finally:
        store.close()
    shown = [k for k in keys if all_keys or k.revoked_at is None]
    if not shown:
        typer.echo("no API keys; create one with: earshot apikey create NAME --scope read", err=True)
        return
    typer.echo(f"{'id':<14} {'name':<20} {'scopes':<18} {'created':<20} {'last used':<20} status")
    for k in sorted(shown, key=lambda k: k.created_at):
        typer.echo(
            f"{k.id:<14} {k.name[:20]:<20} {','.join(k.scopes):<18} {k.created_at:%Y-%m-%d %H:%M:%S}  "
            f"{(f'{k.last_used_at:%Y-%m-%d %H:%M:%S}' if k.last_used_at else '-'):<20} "
            f"{'revoked' if k.revoked_at else 'active'}"
        )


@apikey_app.command("revoke")
def revoke_key(key_id: Annotated[str, typer.Argument(help="the key's id (or its esk_<id> prefix)")]) -> None:
    """Revoke a key; requests with it are refused from now on."""
    from api.security import find_key_by_id
    from earshot.cli import fail
    from earshot.models import utcnow

    store = _open_store()
    try:
        record = find_key_by_id(store, key_id)
        if record is None:
            fail(f"no API key with id {key_id!r}; see 'earshot apikey list --all'")
        if record.revoked_at is None:
            store.save_api_key(record.model_copy(update={"revoked_at": utcnow()}))
    finally:
        store.close()
    typer.echo(f"revoked key id={record.id} name={record.name!r}")


def serve(
    host: Annotated[str | None, typer.Option(help="bind address (default: EARSHOT_API_HOST, 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default: EARSHOT_API_PORT, 8000)")] = None,
    cors_origin: Annotated[
        list[str] | None, typer.Option("--cors-origin", help="allow this browser origin (repeat); default none")
    ] = None,
    survey: Annotated[
        Path | None, typer.Option(help="survey file behind /reports (default: EARSHOT_REPORT_SURVEY)")
    ] = None,
    targets: Annotated[
        Path | None, typer.Option(help="targets YAML for /reports (default: config reports.targets)")
    ] = None,
) -> None:
    """Run the HTTP API with uvicorn (docs at /docs)."""
    import uvicorn

    from api.app import create_app
    from api.reporting import ReportSettings, ReportSource
    from earshot.cli import STATE, fail
    from earshot.settings import get_settings

    base = get_settings()
    overrides: dict[str, object] = {}
    if STATE.store_url:
        overrides["store"] = STATE.store_url
    if STATE.config_path:
        overrides["config"] = STATE.config_path
    settings = base.model_copy(update=overrides) if overrides else base
    env = ReportSettings()
    source = ReportSource(survey or env.survey, targets or env.targets)
    if source.survey is not None and not source.survey.is_file():
        fail(f"survey file {str(source.survey)!r} does not exist; pass an existing CSV or XLSX file")
    app = create_app(settings, cors_origins=cors_origin, report_source=source)
    bind_host = host or settings.api_host
    bind_port = port or settings.api_port
    typer.echo(f"serving Earshot API on http://{bind_host}:{bind_port} (docs: /docs)", err=True)
    # Our middleware logs each request without keys or query strings; uvicorn's access log would repeat it.
    uvicorn.run(app, host=bind_host, port=bind_port, access_log=False, log_level=settings.log_level.lower())


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.add_typer(apikey_app, name="apikey")
    app.command("serve")(serve)
