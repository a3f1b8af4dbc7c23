"""Console notifier: prints each message (the demo's channel)."""

from __future__ import annotations

import sys
from typing import TextIO

from alerts.notifiers.base import Notification


class ConsoleNotifier:
    def __init__(self, name: str = "console", stream: TextIO | None = None) -> None:
        self.name = name
        self._stream = stream

    def send(self, notification: Notification) -> None:
        stream = self._stream or sys.stdout
        stream.write(f"[{self.name}] {notification.text()}\n\n")
        stream.flush()
