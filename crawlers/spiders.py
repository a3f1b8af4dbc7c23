"""The Scrapy side: feed, web-page and review spiders, the Retry-After middleware and the output sink.

This module imports Scrapy at the top, so only the crawl child process
(``crawlers.scrapy_job``) imports it. Spiders yield plain dicts shaped like a
:class:`~earshot.models.RawMention` (dates as ISO strings or ``None``); the
parent validates them. Every problem (HTTP error after retries, malformed
feed, broken JSON-LD, empty page, redirect loop) is written to the output as
an error line and counted; none stops the crawl.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawlers.polite import RETRY_STATUSES, backoff_delay, retry_after_seconds
from crawlers.text import clip, html_to_text, parse_date

logger = logging.getLogger(__name__)


class Output:
    """Writes one JSON object per line as things happen, so a crashed child still hands back what it got."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def _write(self, record: dict[str, Any]) -> None:
        self._stream.write(json.dumps(record, default=str) + "\n")
        self._stream.flush()

    def item(self, item: dict[str, Any]) -> None:
        self._write({"type": "item", "item": item})

    def error(self, kind: str, message: str, url: str = "") -> None:
        self._write({"type": "error", "kind": kind, "message": message[:500], "url": url})

    def skip(self, reason: str, url: str = "", item_id: str = "") -> None:
        self._write({"type": "skip", "reason": reason, "url": url, "id": item_id})


class SinkPipeline:
    """Item pipeline: every scraped item goes to the spider's :class:`Output`."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SinkPipeline:
        return cls(crawler)

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        spider = self.crawler.spider
        assert isinstance(spider, EarshotSpider)
        spider.out.item(dict(item))
        return item


class RetryAfterMiddleware:
    """Retry 429/5xx with exponential backoff, honouring ``Retry-After`` (capped; beyond the cap give up).

    Scrapy's own RetryMiddleware retries immediately and ignores ``Retry-After``;
    we leave it the connection errors and take the HTTP statuses here. The wait
    is an ``asyncio.sleep`` on the asyncio reactor, so other requests go on.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.retries = crawler.settings.getint("EARSHOT_RETRIES", 3)
        self.max_wait = crawler.settings.getfloat("EARSHOT_MAX_RETRY_WAIT_S", 120.0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler)

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status not in RETRY_STATUSES or request.meta.get("dont_retry"):
            return response
        attempt = int(request.meta.get("earshot_retry", 0)) + 1
        if attempt > self.retries:
            return response
        header = response.headers.get(b"Retry-After")
        wait = retry_after_seconds(header.decode("latin-1") if header else None)
        if wait is not None and wait > self.max_wait:
            return response
        delay = backoff_delay(attempt, wait)
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"earshot/retry/{response.status}")
        logger.info("http_retry url=%s status=%d attempt=%d wait_s=%.2f", request.url, response.status, attempt, delay)
        await asyncio.sleep(delay)
        retry = request.replace(dont_filter=True)
        retry.meta["earshot_retry"] = attempt
        return retry


class EarshotSpider(scrapy.Spider):
    """Shared plumbing: the job spec, the output, error classification."""

    def __init__(self, spec: dict[str, Any], out: Output, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.out = out
        self.source: dict[str, Any] = spec["source"]
        self.options: dict[str, Any] = self.source.get("options") or {}
        self.state: dict[str, Any] = spec.get("state") or {}
        self.seen_ids: set[str] = set(self.state.get("seen") or [])
        hosts = self.source.get("allowed_domains") or [urlsplit(u).hostname for u in self.source.get("urls") or []]
        self.allowed_domains = [h for h in hosts if h]

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> EarshotSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._on_spider_error, signal=signals.spider_error)
        assert isinstance(spider, EarshotSpider)
        return spider

    def _on_spider_error(self, failure: Failure, response: Response, spider: scrapy.Spider) -> None:
        self.out.error("parse", f"{failure.type.__name__ if failure.type else 'error'}: {failure.value}", response.url)

    def on_error(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        url = request.url if request is not None else ""
        exc = failure.value
        if isinstance(exc, HttpError):
            self.out.error("http", f"HTTP {exc.response.status}", exc.response.url)
        elif isinstance(exc, IgnoreRequest) and "robots" in str(exc).lower():
            self.out.skip("robots", url)
        elif isinstance(exc, IgnoreRequest):
            self.out.error("ignored", str(exc) or "request ignored", url)
        else:
            self.out.error("http", f"{type(exc).__name__}: {exc}", url)

    def request(self, url: str, callback: Any, **kwargs: Any) -> Request:
        return Request(url, callback=callback, errback=kwargs.pop("errback", self.on_error), **kwargs)

    def is_empty(self, response: Response) -> bool:
        if not response.body.strip():
            self.out.error("empty", "empty document", response.url)
            return True
        return False


# ---- feeds ---------------------------------------------------------------------------------------


def _struct_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        year, month, day, hour, minute, second = (int(v) for v in value[:6])
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def _extract_article(html: str, url: str) -> dict[str, Any] | None:
    """Main text, title, author and date of an article page (trafilatura)."""
    import trafilatura

    result = trafilatura.extract(
        html,
        url=url,
        output_format="json",
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        date_extraction_params={"outputformat": "%Y-%m-%dT%H:%M:%S%z", "original_date": True},
    )
    if not result:
        return None
    data: dict[str, Any] = json.loads(result)
    text = str(data.get("text") or "").strip()
    title = str(data.get("title") or "").strip()
    if title and text.startswith(title):
        text = text[len(title) :].lstrip()  # the headline is kept as the title, not repeated in the text
    data["text"] = text
    return data


class FeedSpider(EarshotSpider):
    """RSS 2.0, Atom and RSS 1.0 via feedparser; optionally follows each item's link for the article text."""

    name = "earshot_feed"

    async def start(self) -> AsyncIterator[Any]:
        for url in self.source.get("urls") or []:
            yield self.request(url, self.parse_feed, dont_filter=True)

    def parse_feed(self, response: Response) -> Iterator[Any]:
        import feedparser

        if self.is_empty(response):
            return
        ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        parsed = feedparser.parse(
            response.body, response_headers={"content-type": ctype, "content-location": response.url}
        )
        if parsed.bozo:
            what = f"{type(parsed.bozo_exception).__name__}: {parsed.bozo_exception}"
            if not parsed.entries:
                self.out.error("malformed", f"not a readable feed ({what})", response.url)
                return
            # feedparser recovered: keep what it read, but count the broken document.
            self.out.error(
                "malformed", f"feed partly broken, kept {len(parsed.entries)} entries ({what})", response.url
            )
        follow = bool(self.source.get("follow_links"))
        followed: set[str] = self.__dict__.setdefault("_followed", set())
        min_chars = int(self.options.get("min_summary_chars", 400))
        for entry in parsed.entries:
            link = str(entry.get("link") or "") or None
            title = html_to_text(entry.get("title")) or None
            content = entry.get("content") or []
            body_html = content[0].get("value") if content else entry.get("summary")
            text = html_to_text(body_html)
            guid = (
                str(entry.get("id") or "")
                or link
                or hashlib.blake2b(f"{title}|{text}".encode(), digest_size=12).hexdigest()
            )
            if guid in self.seen_ids:
                self.out.skip("seen", guid)
                continue
            published = _struct_time(entry.get("published_parsed")) or _struct_time(entry.get("updated_parsed"))
            url = urljoin(response.url, link) if link else None
            item = {
                "source_id": guid,
                "url": url,
                "author": entry.get("author") or None,
                "title": title,
                "text": text,
                "published_at": published.isoformat() if published else None,
                "raw": {"kind": "feed", "feed": response.url},
            }
            if url and url in followed:
                # The same article listed by another configured feed: one mention, not two.
                self.out.skip("same-article", url, item_id=guid)
                continue
            if url:
                followed.add(url)
            if follow and url and len(text) < min_chars:
                yield self.request(
                    url,
                    self.parse_article,
                    cb_kwargs={"item": item},
                    errback=self.article_failed,
                    meta={"item": item},
                )
            elif text or title:
                yield item

    def parse_article(self, response: Response, item: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if isinstance(response, TextResponse) and response.body.strip():
            article = _extract_article(response.text, response.url)
            if article and (article.get("text") or "").strip():
                item["text"] = clip(article["text"].strip())
                item["author"] = item["author"] or article.get("author")
                item["published_at"] = item["published_at"] or article.get("date")
                item["raw"]["article"] = True
        yield item

    def article_failed(self, failure: Failure) -> Iterator[dict[str, Any]]:
        # The article could not be fetched: count it and keep the feed's summary.
        self.on_error(failure)
        request = getattr(failure, "request", None)
        if request is not None and request.meta.get("item"):
            yield request.meta["item"]


# ---- web pages -----------------------------------------------------------------------------------


class WebSpider(EarshotSpider):
    """Listed sites within allowed domains and a depth limit; main text, title, author, date per page."""

    name = "earshot_web"

    async def start(self) -> AsyncIterator[Any]:
        for url in self.source.get("urls") or []:
            yield self.request(url, self.parse_page, dont_filter=True)

    def parse_page(self, response: Response) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            return  # images, PDFs and other binaries are not pages we read
        if self.is_empty(response):
            return
        pages: dict[str, str] = self.state.get("pages") or {}
        article = _extract_article(response.text, response.url)
        text = (article or {}).get("text") or ""
        if len(text.strip()) >= int(self.options.get("min_text_chars", 200)):
            digest = hashlib.blake2b(text.encode(), digest_size=12).hexdigest()
            if pages.get(response.url) == digest:
                self.out.skip("unchanged", response.url)
            else:
                assert article is not None
                yield {
                    "source_id": response.url,
                    "url": response.url,
                    "author": article.get("author") or None,
                    "title": article.get("title") or None,
                    "text": clip(text.strip()),
                    "published_at": article.get("date") or None,
                    "raw": {"kind": "page", "digest": digest},
                }
        # Filter by host ourselves: LinkExtractor(allow_domains=) compares the netloc, port included.
        for link in LinkExtractor().extract_links(response):
            if self._allowed(link.url):
                yield self.request(link.url, self.parse_page)

    def _allowed(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return not self.allowed_domains or any(host == d or host.endswith(f".{d}") for d in self.allowed_domains)


# ---- reviews -------------------------------------------------------------------------------------

_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")


def _types(node: dict[str, Any]) -> set[str]:
    value = node.get("@type") or []
    values = value if isinstance(value, list) else [value]
    return {str(v).rsplit("/", 1)[-1] for v in values}


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _number(value: Any) -> float | None:
    value = _first(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        m = _NUMBER.search(value)
        if m:
            return float(m.group().replace(",", "."))
    return None


def normalise_rating(value: Any, best: Any = None, worst: Any = None, default_best: float = 5.0) -> float | None:
    """A rating on any scale → 1–5 (schema.org defaults: best 5, worst 1); ``None`` when unreadable."""
    v = _number(value)
    if v is None:
        return None
    hi = _number(best) or default_best
    lo = _number(worst)
    if lo is None:
        lo = 1.0 if hi == 5 else 0.0
    if hi <= lo:
        return None
    scaled = 1 + 4 * (v - lo) / (hi - lo)
    return round(min(5.0, max(1.0, scaled)), 2)


def _name(value: Any) -> str | None:
    value = _first(value)
    if isinstance(value, dict):
        value = value.get("name") or value.get("alternateName")
        value = _first(value)
    return str(value).strip() if value else None


def _walk(node: Any, parent: dict[str, Any] | None = None) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Every schema.org object with the object that contains it (for the reviewed product)."""
    if isinstance(node, list):
        for child in node:
            yield from _walk(child, parent)
    elif isinstance(node, dict):
        yield node, parent
        for key, child in node.items():
            if key.startswith("@") and key != "@graph":
                continue
            yield from _walk(child, node if _types(node) else parent)


class ReviewSpider(EarshotSpider):
    """schema.org Review/AggregateRating from JSON-LD and microdata, with CSS fallback and pagination."""

    name = "earshot_reviews"

    async def start(self) -> AsyncIterator[Any]:
        for url in self.source.get("urls") or []:
            yield self.request(url, self.parse_reviews, dont_filter=True, meta={"page": 1, "start": url})

    def parse_reviews(self, response: Response) -> Iterator[Any]:
        if not isinstance(response, TextResponse) or self.is_empty(response):
            return
        start = response.meta.get("start", response.url)
        items = list(self._structured(response, start))
        if not items and self.source.get("selectors"):
            items = list(self._from_selectors(response, start))
        if not items:
            self.out.error("empty", "no reviews found on the page", response.url)
        new = 0
        for item in items:
            if item["source_id"] in self.seen_ids:
                self.out.skip("seen", item["source_id"])
                continue
            new += 1
            yield item
        page = int(response.meta.get("page", 1))
        if items and not new and self.options.get("stop_at_seen", True):
            return  # newest first: the rest was collected before
        if page >= int(self.options.get("max_pages", 20)):
            return
        nxt = self._next_url(response)
        if nxt:
            yield self.request(nxt, self.parse_reviews, meta={"page": page + 1, "start": start})

    def _next_url(self, response: Response) -> str | None:
        assert isinstance(response, TextResponse)
        selectors = [
            "link[rel=next]::attr(href)",
            "a[rel=next]::attr(href)",
        ]
        custom = (self.source.get("selectors") or {}).get("next")
        if custom:
            selectors.insert(0, custom if "::" in custom else f"{custom}::attr(href)")
        for css in selectors:
            href = response.css(css).get()
            if href:
                return response.urljoin(href.strip())
        return None

    def _structured(self, response: TextResponse, start: str) -> Iterator[dict[str, Any]]:
        import extruct

        data: list[Any] = []
        for syntax in ("json-ld", "microdata"):
            try:
                found = extruct.extract(response.text, base_url=response.url, syntaxes=[syntax], uniform=True)
            except Exception as exc:  # extruct raises whatever the broken markup causes
                self.out.error("malformed", f"{syntax}: {type(exc).__name__}: {exc}", response.url)
                continue
            data.extend(found.get(syntax) or [])
        for node, parent in _walk(data):
            if "Review" not in _types(node) and "Comment" not in _types(node):
                continue
            body = html_to_text(
                str(_first(node.get("reviewBody") or node.get("text") or node.get("description")) or "")
            )
            title = _name(node.get("name")) or _name(node.get("headline"))
            if not body and not title:
                continue
            rating_node = _first(node.get("reviewRating")) or {}
            rating = None
            if isinstance(rating_node, dict):
                rating = normalise_rating(
                    rating_node.get("ratingValue"), rating_node.get("bestRating"), rating_node.get("worstRating")
                )
            author = _name(node.get("author"))
            date = _first(node.get("datePublished") or node.get("dateCreated"))
            product = _name((parent or {}).get("name")) or _name(node.get("itemReviewed"))
            raw: dict[str, Any] = {"kind": "review", "page": response.url}
            if product:
                raw["product"] = product
            agg = _first((parent or {}).get("aggregateRating"))
            if isinstance(agg, dict):
                raw["aggregate_rating"] = normalise_rating(
                    agg.get("ratingValue"), agg.get("bestRating"), agg.get("worstRating")
                )
                raw["review_count"] = _number(agg.get("reviewCount") or agg.get("ratingCount"))
            rid = _first(node.get("@id")) or _first(node.get("url"))
            source_id = urljoin(start, str(rid)) if rid else _content_id(author, date, body)
            yield {
                "source_id": source_id,
                "url": urljoin(response.url, str(rid)) if rid else response.url,
                "author": author,
                "title": title,
                "text": clip(body or title or ""),
                "published_at": str(date) if date else None,
                "rating": rating,
                "raw": raw,
            }

    def _from_selectors(self, response: TextResponse, start: str) -> Iterator[dict[str, Any]]:
        sel: dict[str, str] = self.source.get("selectors") or {}
        container = sel.get("review")
        if not container:
            self.out.error("config", "selectors need 'review' (one element per review)", response.url)
            return

        def pick(node: Any, key: str) -> str | None:
            css = sel.get(key)
            if not css:
                return None
            # "::text"/"::attr()" as given; "sel@attr" is short for "sel::attr(attr)";
            # a bare selector means all the text under the element.
            if "::" not in css and "@" in css:
                base, attr = css.rsplit("@", 1)
                css = f"{base.strip() or '*'}::attr({attr.strip()})"
            values = node.css(css).getall() if "::" in css else [n.xpath("string()").get() for n in node.css(css)]
            text = " ".join(v.strip() for v in values if v and v.strip())
            return text or None

        for node in response.css(container):
            body = pick(node, "body") or ""
            title = pick(node, "title")
            if not body and not title:
                continue
            author = pick(node, "author")
            date_text = pick(node, "date")
            rating_text = pick(node, "rating")
            rating = None
            if rating_text:
                m = re.search(r"(\d+(?:[.,]\d+)?)\s*(?:/|out of|of)\s*(\d+(?:[.,]\d+)?)", rating_text)
                if m:
                    rating = normalise_rating(m.group(1), m.group(2))
                else:
                    rating = normalise_rating(rating_text, self.options.get("rating_scale", 5))
            date = parse_date(date_text) if date_text else None
            rid = pick(node, "id")
            yield {
                "source_id": urljoin(start, f"#{rid}") if rid else _content_id(author, date_text, body),
                "url": response.url,
                "author": author,
                "title": title,
                "text": clip(body or title or ""),
                "published_at": date.isoformat() if date else None,
                "rating": rating,
                "raw": {"kind": "review", "page": response.url, "via": "selectors"},
            }


def _content_id(author: Any, date: Any, body: str) -> str:
    key = f"{author}|{date}|{body[:500]}"
    return "review:" + hashlib.blake2b(key.encode(), digest_size=12).hexdigest()


SPIDERS: dict[str, type[EarshotSpider]] = {"feed": FeedSpider, "web": WebSpider, "reviews": ReviewSpider}
