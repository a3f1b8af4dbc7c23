"""Notifier plugins and the factory that builds them from ``alerts.channels``.

Built-in kinds: ``apprise`` (Slack, Teams, mailto/SMTP, Telegram, …), ``webhook``
(JSON, HMAC-SHA256 signed), ``console``, ``file`` (JSON lines) and
``recording`` (a fake for tests). Other packages add kinds with
:func:`register_notifier` or the ``earshot.notifiers`` entry-point group.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib.metadata import entry_points

from alerts.notifiers.base import Notification, Notifier, NotifyError
from alerts.notifiers.recording import RecordingNotifier
from earshot.config import Channel, WatchConfig
from earshot.errors import ConfigError
from earshot.settings import Settings

__all__ = [
    "Notification",
    "Notifier",
    "NotifyError",
    "RecordingNotifier",
    "build_notifier",
    "build_notifiers",
    "register_notifier",
]

Factory = Callable[[str, Channel, Settings | None], Notifier]


def _apprise(name: str, ch: Channel, settings: Settings | None) -> Notifier:
    from alerts.notifiers.apprise_notifier import AppriseNotifier

    if not ch.url:
        raise ConfigError(f"channel {name!r}: kind 'apprise' needs 'url' (e.g. slack://…, mailto://…)")
    return AppriseNotifier(name, ch.url)


def _webhook(name: str, ch: Channel, settings: Settings | None) -> Notifier:
    from alerts.notifiers.apprise_notifier import expand_env
    from alerts.notifiers.webhook import WebhookNotifier

    if not ch.url:
        raise ConfigError(f"channel {name!r}: kind 'webhook' needs 'url'")
    secret: str | None = None
    if ch.secret_env:
        secret = os.environ.get(ch.secret_env)
        if not secret:
            raise ConfigError(f"channel {name!r}: secret_env {ch.secret_env} is not set; export the HMAC secret")
    elif settings is not None and settings.webhook_secret is not None:
        secret = settings.webhook_secret.get_secret_value()
    try:
        return WebhookNotifier(name, expand_env(ch.url, name), secret)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _console(name: str, ch: Channel, settings: Settings | None) -> Notifier:
    from alerts.notifiers.console import ConsoleNotifier

    return ConsoleNotifier(name)


def _file(name: str, ch: Channel, settings: Settings | None) -> Notifier:
    from alerts.notifiers.file import FileNotifier

    if not ch.path:
        raise ConfigError(f"channel {name!r}: kind 'file' needs 'path' (a JSON-lines file)")
    return FileNotifier(name, ch.path)


def _recording(name: str, ch: Channel, settings: Settings | None) -> Notifier:
    return RecordingNotifier(name)


_FACTORIES: dict[str, Factory] = {
    "apprise": _apprise,
    "webhook": _webhook,
    "console": _console,
    "file": _file,
    "recording": _recording,
}


def register_notifier(kind: str, factory: Factory) -> None:
    """Add a notifier kind (a plugin)."""
    _FACTORIES[kind] = factory


def _load_entry_points() -> None:
    for ep in entry_points(group="earshot.notifiers"):
        if ep.name not in _FACTORIES:
            _FACTORIES[ep.name] = ep.load()


def build_notifier(name: str, channel: Channel, settings: Settings | None = None) -> Notifier:
    factory = _FACTORIES.get(channel.kind)
    if factory is None:
        _load_entry_points()
        factory = _FACTORIES.get(channel.kind)
    if factory is None:
        raise ConfigError(f"channel {name!r}: unknown kind {channel.kind!r}; known: {sorted(_FACTORIES)}")
    return factory(name, channel, settings)


def build_notifiers(config: WatchConfig, settings: Settings | None = None) -> dict[str, Notifier]:
    """One notifier per ``alerts.channels`` entry."""
    return {name: build_notifier(name, ch, settings) for name, ch in config.alerts.channels.items()}
