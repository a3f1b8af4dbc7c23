"""Generic JSON webhook, signed with HMAC-SHA256.

Each POST carries the notification as JSON and two headers:

- ``X-Earshot-Timestamp``: Unix seconds when it was signed,
- ``X-Earshot-Signature``: ``sha256=<hex>`` of HMAC-SHA256(secret, ``"{timestamp}.{body}"``).

Receivers recompute it with :func:`verify_signature` (or the same three lines in
their language) and reject stale timestamps to stop replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from alerts.notifiers.base import Notification, NotifyError

TIMESTAMP_HEADER = "X-Earshot-Timestamp"
SIGNATURE_HEADER = "X-Earshot-Signature"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str, timestamp: str, body: bytes, signature: str, *, max_age_s: float = 300, now: float | None = None
) -> bool:
    """True when ``signature`` matches and ``timestamp`` is within ``max_age_s`` of now."""
    try:
        age = abs((now if now is not None else time.time()) - float(timestamp))
    except ValueError:
        return False
    if age > max_age_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookNotifier:
    def __init__(self, name: str, url: str, secret: str | None, timeout_s: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook channel {name!r}: url {url!r} must start with http:// or https://")
        self.name = name
        self.url = url
        self._secret = secret
        self.timeout_s = timeout_s

    def send(self, notification: Notification) -> None:
        body = json.dumps(notification.to_payload(), separators=(",", ":"), sort_keys=True).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "Earshot-Webhook/1"}
        if self._secret:
            ts = str(int(time.time()))
            headers[TIMESTAMP_HEADER] = ts
            headers[SIGNATURE_HEADER] = sign(self._secret, ts, body)
        try:
            resp = httpx.post(self.url, content=body, headers=headers, timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise NotifyError(f"channel {self.name!r}: POST failed: {type(exc).__name__}: {exc}") from exc
        if resp.status_code >= 300:
            raise NotifyError(f"channel {self.name!r}: receiver answered HTTP {resp.status_code}")
