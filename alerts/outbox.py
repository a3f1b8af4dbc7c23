"""The persisted notification outbox: enqueue once per alert state, deliver with retries.

The engine only *enqueues* (``MentionStore.enqueue``; a ``dedup_key`` per alert
state and channel makes a second enqueue a no-op), so evaluation never waits on
a slow channel. :class:`OutboxDispatcher` runs as its own scheduler job: it
sends due messages, backs off exponentially on failure and marks a message dead
after ``max_attempts``. The outbox lives in the store, so nothing queued is lost
across a restart. Delivery is at-least-once: a crash between a successful send
and the store update can repeat that one message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from alerts.notifiers.base import Notification, Notifier, NotifyError
from earshot.models import OutboxMessage, utcnow
from store.base import MentionStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DispatchResult:
    sent: int = 0
    failed: int = 0
    dead: int = 0


class OutboxDispatcher:
    """Delivers due outbox messages through the configured notifiers."""

    def __init__(
        self,
        store: MentionStore,
        notifiers: Mapping[str, Notifier],
        *,
        max_attempts: int = 8,
        base_delay: timedelta = timedelta(seconds=30),
        max_delay: timedelta = timedelta(hours=1),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.notifiers = notifiers
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.clock = clock

    def backoff(self, attempts: int) -> timedelta:
        """Delay before attempt ``attempts + 1``: base × 2^(attempts−1), capped."""
        return min(self.base_delay * (2 ** max(0, attempts - 1)), self.max_delay)

    def dispatch(self, now: datetime | None = None, limit: int = 100) -> DispatchResult:
        now = now or self.clock()
        sent = failed = dead = 0
        for msg in self.store.due_messages(now, limit=limit):
            notifier = self.notifiers.get(msg.channel)
            try:
                if notifier is None:
                    raise NotifyError(f"channel {msg.channel!r} is not configured any more")
                notifier.send(Notification.from_payload(msg.payload))
            except Exception as exc:  # a plugin's bug must not stop the other deliveries
                attempts = msg.attempts + 1
                is_dead = attempts >= self.max_attempts
                update = msg.model_copy(
                    update={
                        "attempts": attempts,
                        "last_error": str(exc)[:500],
                        "next_attempt_at": now + self.backoff(attempts),
                        "dead": is_dead,
                    }
                )
                self.store.update_message(update)
                if is_dead:
                    dead += 1
                    log.error(
                        "event=notification_dead channel=%s dedup_key=%s attempts=%d error=%r",
                        msg.channel, msg.dedup_key, attempts, str(exc)[:200],
                    )
                else:
                    failed += 1
                    log.warning(
                        "event=notification_retry channel=%s dedup_key=%s attempts=%d next=%s error=%r",
                        msg.channel, msg.dedup_key, attempts, update.next_attempt_at.isoformat(), str(exc)[:200],
                    )
                continue
            self.store.update_message(msg.model_copy(update={"attempts": msg.attempts + 1, "sent_at": now}))
            sent += 1
            log.info("event=notification_sent channel=%s dedup_key=%s", msg.channel, msg.dedup_key)
        return DispatchResult(sent=sent, failed=failed, dead=dead)


def make_message(channel: str, dedup_key: str, notification: Notification, not_before: datetime) -> OutboxMessage:
    """An outbox row; the id is derived from channel + dedup key so a replay maps to the same row."""
    import hashlib

    mid = "ob_" + hashlib.blake2b(f"{channel}\x1f{dedup_key}".encode(), digest_size=10).hexdigest()
    return OutboxMessage(
        id=mid,
        channel=channel,
        dedup_key=dedup_key,
        payload=notification.to_payload(),
        created_at=utcnow(),
        next_attempt_at=not_before,
    )
