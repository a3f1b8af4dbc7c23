"""File notifier: appends each message as one JSON line (audit trails, log shippers)."""

from __future__ import annotations

import json
from pathlib import Path

from alerts.notifiers.base import Notification, NotifyError
from earshot.models import utcnow


class FileNotifier:
    def __init__(self, name: str, path: str | Path) -> None:
        self.name = name
        self.path = Path(path)

    def send(self, notification: Notification) -> None:
        line = json.dumps({"at": utcnow().isoformat(), "channel": self.name, **notification.to_payload()})
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        except OSError as exc:
            raise NotifyError(f"channel {self.name!r}: cannot append to {str(self.path)!r}: {exc}") from exc
