"""Politeness shared by every client: User-Agent with contact, timeouts, size caps, retries.

Retries back off exponentially on 429 and 5xx and honour ``Retry-After``
(seconds or an HTTP date). A ``Retry-After`` longer than ``max_wait_s`` is not
waited out: the request fails, the error is counted and the next scheduled run
tries again, so one rate-limited source never stalls the others.

Three flavours, one policy: an httpx transport (Hacker News, atproto), a
``requests`` session with a urllib3 ``Retry`` (praw, Mastodon.py) and a Scrapy
downloader middleware (``crawlers.spiders.RetryAfterMiddleware``).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import httpx

from earshot.config import Crawl

if TYPE_CHECKING:
    import requests

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 522, 524})
DEFAULT_MAX_WAIT_S = 120.0


def user_agent(crawl: Crawl) -> str:
    """``EarshotBot/0.1 (+mailto:ops@example.org)``: who we are and how to reach us."""
    contact = crawl.contact.strip()
    if contact and "://" not in contact and not contact.startswith("mailto:"):
        contact = f"mailto:{contact}"
    return f"{crawl.user_agent} (+{contact})" if contact else crawl.user_agent


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now; ``None`` when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_delay(attempt: int, retry_after: float | None, base_s: float = 0.5, cap_s: float = 30.0) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based): the server's word, else jittered doubling."""
    if retry_after is not None:
        return retry_after
    return min(cap_s, base_s * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)


class RateLimited(httpx.HTTPStatusError):
    """The server asked us to wait longer than we are willing to in this run."""


class RetryTransport(httpx.BaseTransport):
    """An httpx transport that retries 429/5xx and connection errors with backoff, honouring Retry-After."""

    def __init__(
        self,
        inner: httpx.BaseTransport | None = None,
        *,
        retries: int = 3,
        max_wait_s: float = DEFAULT_MAX_WAIT_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._inner = inner or httpx.HTTPTransport()
        self._retries = retries
        self._max_wait_s = max_wait_s
        self._sleep = sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._inner.handle_request(request)
            except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError, httpx.TimeoutException):
                if attempt > self._retries:
                    raise
                delay = backoff_delay(attempt, None)
                logger.info("http_retry url=%s reason=connection attempt=%d wait_s=%.2f", request.url, attempt, delay)
                self._sleep(delay)
                continue
            if response.status_code not in RETRY_STATUSES or attempt > self._retries:
                return response
            wait = retry_after_seconds(response.headers.get("retry-after"))
            if wait is not None and wait > self._max_wait_s:
                # Not worth blocking the run: hand the 429 back; the caller counts it and the next run retries.
                return response
            response.close()
            delay = backoff_delay(attempt, wait)
            logger.info(
                "http_retry url=%s status=%d attempt=%d wait_s=%.2f", request.url, response.status_code, attempt, delay
            )
            self._sleep(delay)

    def close(self) -> None:
        self._inner.close()


def httpx_client(crawl: Crawl, *, base_url: str = "", max_wait_s: float = DEFAULT_MAX_WAIT_S) -> httpx.Client:
    """A polite httpx client: UA with contact, timeout, retries with backoff."""
    return httpx.Client(
        base_url=base_url,
        headers={"User-Agent": user_agent(crawl), "Accept": "application/json"},
        timeout=httpx.Timeout(crawl.timeout_s),
        transport=RetryTransport(retries=crawl.retries, max_wait_s=max_wait_s),
        follow_redirects=True,
        max_redirects=10,
    )


class PageTooLarge(ValueError):
    """The answer was bigger than ``crawl.max_page_bytes``."""


def get_json(client: httpx.Client, url: str, *, params: dict[str, Any] | None, max_bytes: int) -> Any:
    """GET and decode JSON, reading at most ``max_bytes`` (raises HTTPStatusError, PageTooLarge, ValueError)."""
    with client.stream("GET", url, params=params) as response:
        if response.status_code >= 400:
            response.read()
            response.raise_for_status()
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise PageTooLarge(f"{url}: {declared} bytes is over the {max_bytes}-byte page cap")
        body = bytearray()
        for chunk in response.iter_bytes():
            body.extend(chunk)
            if len(body) > max_bytes:
                raise PageTooLarge(f"{url}: more than the {max_bytes}-byte page cap")
    import json

    return json.loads(bytes(body).decode(response.encoding or "utf-8", errors="replace"))


def requests_session(crawl: Crawl, *, max_wait_s: float = DEFAULT_MAX_WAIT_S) -> requests.Session:
    """A ``requests`` session (for praw and Mastodon.py) with the same retry policy and User-Agent."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.exceptions import MaxRetryError
    from urllib3.util.retry import Retry

    class _CappedRetry(Retry):
        # urllib3 waits out any Retry-After however long; give up instead when it exceeds the cap.
        def increment(self, *args: Any, **kwargs: Any) -> Retry:  # type: ignore[override]
            response = kwargs.get("response")
            if response is not None:
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                if wait is not None and wait > max_wait_s:
                    raise MaxRetryError(kwargs.get("_pool"), kwargs.get("url") or "", None)  # type: ignore[arg-type]
            return super().increment(*args, **kwargs)

    retry = _CappedRetry(
        total=crawl.retries,
        backoff_factor=0.5,
        backoff_max=30,
        status_forcelist=sorted(RETRY_STATUSES),
        allowed_methods=None,  # the OAuth token POST is safe to repeat
        respect_retry_after_header=True,
        raise_on_status=False,  # hand the last error response to the library, which raises its own error
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent(crawl)
    session.max_redirects = 10
    return session
