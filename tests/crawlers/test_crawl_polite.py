"""Politeness and parsing helpers: Retry-After, backoff, User-Agent, dates, text, rating normalisation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from crawlers.polite import PageTooLarge, RetryTransport, get_json, requests_session, retry_after_seconds, user_agent
from crawlers.text import html_to_text, parse_date
from earshot.config import Crawl

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_retry_after_seconds_reads_numbers_and_http_dates():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(format_datetime(NOW + timedelta(seconds=30), usegmt=True), now=NOW) == 30.0
    assert retry_after_seconds(format_datetime(NOW - timedelta(seconds=30), usegmt=True), now=NOW) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_user_agent_names_the_contact():
    assert user_agent(Crawl(user_agent="EarshotBot/0.1", contact="ops@acme.test")) == (
        "EarshotBot/0.1 (+mailto:ops@acme.test)"
    )
    assert user_agent(Crawl(contact="https://acme.test/bot")).endswith("(+https://acme.test/bot)")


def _flaky(statuses: list[int], retry_after: str | None = "2"):
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        status = statuses[len(calls) - 1] if len(calls) <= len(statuses) else 200
        headers = {"Retry-After": retry_after} if retry_after and status == 429 else {}
        return httpx.Response(status, headers=headers, json={"ok": status == 200})

    return handler, calls


def test_retry_transport_waits_what_retry_after_says_then_succeeds():
    handler, calls = _flaky([429, 503])
    slept: list[float] = []
    transport = RetryTransport(httpx.MockTransport(handler), retries=3, sleep=slept.append)
    with httpx.Client(transport=transport) as client:
        assert client.get("http://x.test/a").json() == {"ok": True}
    assert len(calls) == 3
    assert slept[0] == 2.0  # Retry-After honoured exactly
    assert 0 < slept[1] <= 1.0  # 503 without Retry-After: jittered backoff


def test_retry_transport_gives_up_after_retries_and_on_a_long_retry_after():
    handler, calls = _flaky([500] * 10)
    with httpx.Client(transport=RetryTransport(httpx.MockTransport(handler), retries=2, sleep=lambda s: None)) as c:
        assert c.get("http://x.test/").status_code == 500
    assert len(calls) == 3
    handler, calls = _flaky([429], retry_after="3600")
    with httpx.Client(transport=RetryTransport(httpx.MockTransport(handler), max_wait_s=60, sleep=lambda s: None)) as c:
        assert c.get("http://x.test/").status_code == 429  # not worth blocking the run for an hour
    assert len(calls) == 1


def test_get_json_caps_the_page_size():
    big = httpx.MockTransport(lambda r: httpx.Response(200, content=b'{"a": "' + b"x" * 5000 + b'"}'))
    with httpx.Client(transport=big) as client, pytest.raises(PageTooLarge):
        get_json(client, "http://x.test/", params=None, max_bytes=1000)


def test_requests_session_retries_429_against_a_local_server(world):
    world.faults.rate_limit["hn"] = 1
    session = requests_session(Crawl(retries=2))
    response = session.get(world.url("hn", "/api/v1/search_by_date"), params={"query": "Nordlys"}, timeout=10)
    assert response.status_code == 200
    assert world.hits("hn") == 2
    assert "mailto:ops@example.org" in world.requests[0][2]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-05-01T12:00:00Z", NOW),
        ("2026-05-01T14:00:00+02:00", NOW),
        ("Fri, 01 May 2026 12:00:00 GMT", NOW),
        ("1 May 2026 12:00", NOW),
        (NOW.timestamp(), NOW),
        ("2026-05-01T12:00:00", NOW),  # naive → UTC
        ("not a date", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_date(value, expected):
    assert parse_date(value) == expected


def test_html_to_text_keeps_paragraphs_and_decodes_entities():
    text = html_to_text("<p>Caf&eacute; <b>bad</b></p><script>x()</script><p>second&nbsp;line</p>")
    assert text == "Café bad\n\nsecond line"


@pytest.mark.parametrize(
    ("value", "best", "worst", "expected"),
    [
        (4, None, None, 4.0),
        (8, 10, 0, 4.2),
        (0, 10, 0, 1.0),
        ("4,5", 5, 1, 4.5),
        (90, 100, 0, 4.6),
        (7, 5, None, 5.0),  # out of range is clamped
        ("n/a", None, None, None),
    ],
)
def test_normalise_rating_to_one_to_five(value, best, worst, expected):
    from crawlers.spiders import normalise_rating

    assert normalise_rating(value, best, worst) == expected
