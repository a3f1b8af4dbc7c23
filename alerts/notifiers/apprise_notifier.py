"""Apprise channels: one URL reaches Slack, Microsoft Teams, e-mail (SMTP), Telegram and 100+ more.

Secrets stay out of the YAML: ``${ENV_VAR}`` in a channel URL is replaced from
the environment when the notifier is built. Logs never show the URL.
"""

from __future__ import annotations

import os
import re
from typing import Any

from alerts.notifiers.base import Notification, NotifyError
from earshot.errors import ConfigError

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(url: str, channel: str) -> str:
    def repl(m: re.Match[str]) -> str:
        value = os.environ.get(m.group(1))
        if value is None:
            raise ConfigError(f"channel {channel!r}: environment variable {m.group(1)} is not set; export it")
        return value

    return _ENV.sub(repl, url)


class AppriseNotifier:
    def __init__(self, name: str, url: str) -> None:
        import apprise

        self.name = name
        self._apprise: Any = apprise.Apprise()
        if not self._apprise.add(expand_env(url, name)):
            # Do not echo the URL: it usually holds a token.
            raise ConfigError(f"channel {name!r}: Apprise does not understand this URL; check its scheme and fields")

    def send(self, notification: Notification) -> None:
        body = notification.body + (f"\n{notification.url}" if notification.url else "")
        ok = self._apprise.notify(title=notification.title, body=body)
        if not ok:
            raise NotifyError(f"channel {self.name!r}: Apprise delivery failed (see the apprise log)")
