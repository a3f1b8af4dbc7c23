"""Recording notifier: keeps what it was sent, for tests (yours and ours).

``fail_times`` makes the first N sends fail, to exercise the outbox's retries::

    rec = RecordingNotifier("pr", fail_times=2)
    ...
    assert [n.status for n in rec.sent] == ["firing"]
"""

from __future__ import annotations

from alerts.notifiers.base import Notification, NotifyError


class RecordingNotifier:
    def __init__(self, name: str = "recording", fail_times: int = 0) -> None:
        self.name = name
        self.fail_times = fail_times
        self.sent: list[Notification] = []
        self.attempts = 0

    def send(self, notification: Notification) -> None:
        self.attempts += 1
        if self.attempts <= self.fail_times:
            raise NotifyError(f"channel {self.name!r}: simulated failure {self.attempts}/{self.fail_times}")
        self.sent.append(notification)

    def clear(self) -> None:
        self.sent.clear()
