"""What a notifier receives and the small protocol every notifier plugin implements."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from earshot.errors import EarshotError


class NotifyError(EarshotError):
    """A delivery failed; the outbox retries it with backoff."""


@dataclass(frozen=True)
class Notification:
    """One short, phone-readable message: a title line, a few body lines and the evidence link."""

    title: str
    body: str
    url: str | None = None
    severity: str = "warning"
    kind: str = "alert"
    alert_id: str | None = None
    status: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        """Title, body and link as plain text (what chat and e-mail channels show)."""
        parts = [self.title, self.body]
        if self.url:
            parts.append(self.url)
        return "\n".join(p for p in parts if p)

    def to_payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Notification:
        known = {k: payload[k] for k in cls.__dataclass_fields__ if k in payload}
        return cls(**known)


@runtime_checkable
class Notifier(Protocol):
    """A channel plugin: ``send`` delivers or raises :class:`NotifyError` (never blocks for long)."""

    name: str

    def send(self, notification: Notification) -> None: ...
