"""Notifier tests against local servers: SMTP (aiosmtpd) through Apprise, a webhook receiver checking HMAC."""

from __future__ import annotations

import email
import email.policy
import json
import socket
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from werkzeug.wrappers import Request, Response

from alerts.notifiers import build_notifier, build_notifiers
from alerts.notifiers.apprise_notifier import AppriseNotifier
from alerts.notifiers.base import Notification, NotifyError
from alerts.notifiers.console import ConsoleNotifier
from alerts.notifiers.file import FileNotifier
from alerts.notifiers.recording import RecordingNotifier
from alerts.notifiers.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookNotifier, verify_signature
from alerts.outbox import OutboxDispatcher, make_message
from earshot.config import Channel
from earshot.errors import ConfigError
from store import open_store
from tests.alerts import synth

NOTE = Notification(
    title="[WARNING] Acme: negative mentions 64 vs ~6 expected",
    body="14:00–15:00 UTC · rule neg-spike → PR team\nTop: mastodon 60, reddit 4",
    url="http://127.0.0.1:8000/api/v1/mentions?brand=Acme&sentiment=negative",
    alert_id="al_1",
    status="firing",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture()
def smtp():
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_apprise_mailto_reaches_a_local_smtp_server(smtp):
    inbox, port = smtp
    n = AppriseNotifier("mail", f"mailto://127.0.0.1:{port}?from=earshot@example.org&to=pr@example.org&mode=insecure")
    n.send(NOTE)
    assert len(inbox.messages) == 1
    msg = inbox.messages[0]
    assert msg.rcpt_tos == ["pr@example.org"]
    parsed = email.message_from_bytes(msg.content, policy=email.policy.default)
    assert parsed["Subject"] == NOTE.title
    text = parsed.get_body(preferencelist=("plain",)).get_content()
    assert "/api/v1/mentions?brand=Acme" in text and "rule neg-spike" in text


def test_apprise_failure_raises_notify_error():
    port = _free_port()  # nothing listens there
    n = AppriseNotifier("mail", f"mailto://127.0.0.1:{port}?from=a@example.org&to=b@example.org&mode=insecure")
    with pytest.raises(NotifyError, match="mail"):
        n.send(NOTE)


def test_apprise_url_secrets_come_from_the_environment(monkeypatch):
    with pytest.raises(ConfigError, match="SLACK_TOKEN"):
        build_notifier("slack", Channel(kind="apprise", url="slack://${SLACK_TOKEN}"))
    with pytest.raises(ConfigError, match="does not understand"):
        AppriseNotifier("bad", "nonsense-scheme://x")


def test_webhook_is_signed_with_hmac_sha256(httpserver):
    seen = []

    def handler(request: Request) -> Response:
        seen.append((request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER), request.get_data()))
        return Response("ok")

    httpserver.expect_request("/hook", method="POST").respond_with_handler(handler)
    WebhookNotifier("hook", httpserver.url_for("/hook"), secret="s3cr3t-value").send(NOTE)
    ts, sig, body = seen[0]
    assert sig.startswith("sha256=")
    assert verify_signature("s3cr3t-value", ts, body, sig)
    assert not verify_signature("wrong-secret", ts, body, sig)
    assert not verify_signature("s3cr3t-value", ts, body + b" ", sig)
    assert not verify_signature("s3cr3t-value", ts, body, sig, now=float(ts) + 3600)  # stale: replay refused
    payload = json.loads(body)
    assert payload["title"] == NOTE.title and payload["url"] == NOTE.url and payload["alert_id"] == "al_1"


def test_webhook_error_status_raises(httpserver):
    httpserver.expect_request("/hook").respond_with_data("nope", status=503)
    with pytest.raises(NotifyError, match="HTTP 503"):
        WebhookNotifier("hook", httpserver.url_for("/hook"), secret=None).send(NOTE)


def test_webhook_secret_from_env(monkeypatch, httpserver):
    with pytest.raises(ConfigError, match="HOOK_SECRET"):
        build_notifier("hook", Channel(kind="webhook", url="http://127.0.0.1:1/x", secret_env="HOOK_SECRET"))
    monkeypatch.setenv("HOOK_SECRET", "abc123")
    n = build_notifier("hook", Channel(kind="webhook", url=httpserver.url_for("/x"), secret_env="HOOK_SECRET"))
    assert isinstance(n, WebhookNotifier)


def test_file_and_console_notifiers(tmp_path, capsys):
    path = tmp_path / "out" / "alerts.jsonl"
    f = FileNotifier("file", path)
    f.send(NOTE)
    f.send(NOTE)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 2 and rows[0]["title"] == NOTE.title and rows[0]["channel"] == "file"
    ConsoleNotifier("console").send(NOTE)
    out = capsys.readouterr().out
    assert NOTE.title in out and NOTE.url in out


def test_build_notifiers_from_config():
    cfg = synth.config()
    notifiers = build_notifiers(cfg)
    assert set(notifiers) == {"owner", "pr", "mgmt"}
    assert all(isinstance(n, RecordingNotifier) for n in notifiers.values())


def test_outbox_retries_with_backoff_then_dead_letters():
    t0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
    flaky = RecordingNotifier("flaky", fail_times=2)
    broken = RecordingNotifier("broken", fail_times=99)
    with open_store("memory://") as store:
        assert store.enqueue(make_message("flaky", "al_1#1:firing:warning", NOTE, t0))
        assert not store.enqueue(make_message("flaky", "al_1#1:firing:warning", NOTE, t0))  # deduplicated
        assert store.enqueue(make_message("broken", "al_1#1:firing:warning", NOTE, t0))
        d = OutboxDispatcher(store, {"flaky": flaky, "broken": broken}, max_attempts=3,
                             base_delay=timedelta(seconds=30))
        r1 = d.dispatch(t0)
        assert (r1.sent, r1.failed) == (0, 2)
        assert d.dispatch(t0 + timedelta(seconds=10)).failed == 0  # not due yet: backing off
        r2 = d.dispatch(t0 + timedelta(seconds=30))
        assert (r2.sent, r2.failed) == (0, 2)
        r3 = d.dispatch(t0 + timedelta(seconds=90))  # second delay is 60 s
        assert (r3.sent, r3.dead) == (1, 1)
        assert [n.title for n in flaky.sent] == [NOTE.title]
        assert store.due_messages(t0 + timedelta(days=1)) == []  # sent and dead ones never come back
        assert d.dispatch(t0 + timedelta(days=1)).sent == 0


def test_outbox_unknown_channel_is_retried_not_lost():
    t0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
    with open_store("memory://") as store:
        store.enqueue(make_message("gone", "k", NOTE, t0))
        r = OutboxDispatcher(store, {}).dispatch(t0)
        assert r.failed == 1
        [msg] = store.due_messages(t0 + timedelta(hours=2))
        assert "not configured" in (msg.last_error or "")
