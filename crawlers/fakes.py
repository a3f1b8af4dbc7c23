"""Local stand-ins for every source kind, served on 127.0.0.1 from a Python data structure.

``FakeWorld`` holds the content (feed entries, blog pages, reviews, Reddit,
Hacker News, Mastodon and Bluesky posts) and the faults to inject (429 with
``Retry-After``, broken documents, HTTP errors). ``world.start()`` serves it:

- ``site``: a web site with ``robots.txt`` (``/private/`` disallowed), RSS 2.0,
  Atom and RSS 1.0 feeds, article pages, a small blog to crawl, review pages
  with JSON-LD, microdata or plain HTML and ``rel=next`` pagination, and broken
  documents (truncated XML, wrong encoding, empty page, redirect loop);
- ``reddit``: the OAuth token endpoint and the listing endpoints praw calls;
- ``mastodon``: hashtag timelines and v2 search;
- ``hn``: the Algolia ``search_by_date`` API;
- ``bluesky``: XRPC ``createSession``, ``getProfile`` and ``searchPosts``.

The demo feeds its own "world" through these servers; the tests drive the
real praw, Mastodon.py, atproto, httpx and Scrapy code against them.
Nothing here touches the network; it uses only the standard library.
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Item:
    """One post/entry/review in the fake world. ``author=None`` is a deleted user."""

    id: str
    text: str
    created_at: datetime | None
    author: str | None = "alice"
    title: str | None = None
    rating: float | None = None  # reviews: 1–5
    channel: str | None = None  # subreddit or hashtag
    kind: str = "post"  # reddit: submission|comment; hn: story|comment
    body: str | None = None  # feed items: the full article behind the link
    metrics: dict[str, int] = field(default_factory=dict)


@dataclass
class Faults:
    """What to break. Keys are a server name (``"hn"``) or a server and path prefix (``"site:/reviews"``)."""

    rate_limit: dict[str, int] = field(default_factory=dict)  # how many 429s to answer first
    retry_after: str = "1"
    broken: dict[str, int] = field(default_factory=dict)  # how many malformed JSON answers to give first
    status: dict[str, int] = field(default_factory=dict)  # always answer this HTTP status


@dataclass
class FakeWorld:
    """The content every fake server serves; mutate it between crawls to add new items."""

    feed: list[Item] = field(default_factory=list)
    blog: list[Item] = field(default_factory=list)
    reviews: list[Item] = field(default_factory=list)
    reddit: list[Item] = field(default_factory=list)
    hn: list[Item] = field(default_factory=list)
    mastodon: list[Item] = field(default_factory=list)
    bluesky: list[Item] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    reviews_per_page: int = 5
    reddit_page_size: int = 100  # lower it to exercise praw's paging
    bluesky_handle: str = "earshot.test"
    bluesky_password: str = "app-pass-1234"
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (server, path, user-agent)
    servers: dict[str, FakeServer] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> Self:
        apps: dict[str, Callable[[Request], Answer]] = {
            "site": self._site,
            "reddit": self._reddit,
            "mastodon": self._mastodon,
            "hn": self._hn,
            "bluesky": self._bluesky,
        }
        for name, app in apps.items():
            self.servers[name] = FakeServer(name, app, self).start()
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.servers.clear()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def url(self, server: str, path: str = "") -> str:
        return self.servers[server].base_url + path

    def hits(self, server: str, prefix: str = "") -> int:
        """How many requests ``server`` answered under ``prefix`` (robots.txt excluded unless asked)."""
        return sum(1 for s, p, _ in self.requests if s == server and p.startswith(prefix))

    # ---- faults ------------------------------------------------------------------------------
    def _fault(self, table: dict[str, int], server: str, path: str, consume: bool) -> int | None:
        with self._lock:
            for key, value in table.items():
                name, _, prefix = key.partition(":")
                if name != server or not path.startswith(prefix):
                    continue
                if not consume:
                    return value
                if value > 0:
                    table[key] = value - 1
                    return value
        return None

    def pre_answer(self, server: str, path: str) -> Answer | None:
        status = self._fault(self.faults.status, server, path, consume=False)
        if status:
            return status, {"Content-Type": "text/plain"}, b"fake error"
        if self._fault(self.faults.rate_limit, server, path, consume=True):
            return (
                429,
                {"Retry-After": self.faults.retry_after, "Content-Type": "application/json"},
                b'{"error":"rate"}',
            )
        if self._fault(self.faults.broken, server, path, consume=True):
            return 200, {"Content-Type": "application/json"}, b'{"hits": [ {"objectID": "1", '
        return None

    # ---- web site -------------------------------------------------------------------------------
    def _site(self, req: Request) -> Answer:
        path = req.path
        base = self.url("site")
        if path == "/robots.txt":
            return _text("User-agent: *\nDisallow: /private/\n")
        if path in ("/feeds/rss.xml", "/feeds/atom.xml", "/feeds/rdf.xml"):
            fmt = path.rsplit("/", 1)[1].split(".")[0]
            return 200, {"Content-Type": "application/xml; charset=utf-8"}, _feed(fmt, self.feed, base).encode()
        if path == "/feeds/broken.xml":
            body = _feed("rss", self.feed[:2], base)
            return 200, {"Content-Type": "application/rss+xml"}, body[: len(body) // 2].encode() + b"<item><title>&bad;"
        if path == "/feeds/latin1.xml":
            # Declares UTF-8 but sends Latin-1 bytes: the classic wrong-encoding feed.
            body = _feed("rss", self.feed, base)
            return 200, {"Content-Type": "application/rss+xml; charset=utf-8"}, body.encode("latin-1", "replace")
        if path == "/feeds/huge.xml":
            # Far over any sane page-size cap: the crawler must refuse it, not read it.
            huge = Item("huge", "Nordlys " * 40_000, None, title="huge")
            return 200, {"Content-Type": "application/rss+xml"}, _feed("rss", [huge], base).encode()
        if path == "/feeds/empty.xml":
            return 200, {"Content-Type": "application/rss+xml"}, b""
        if path.startswith("/articles/"):
            item = _find(self.feed, path.removeprefix("/articles/"))
            if item is None:
                return _not_found()
            return _html(_article(item, item.body or item.text))
        if path in ("/blog", "/blog/"):
            links = "".join(f'<li><a href="/blog/{i.id}">{html.escape(i.title or i.id)}</a></li>' for i in self.blog)
            links += '<li><a href="/private/secret">staff only</a></li><li><a href="/loop/a">loop</a></li>'
            links += '<li><a href="/blog/empty">empty</a></li><li><a href="https://elsewhere.invalid/x">out</a></li>'
            return _html(f"<html><head><title>Blog</title></head><body><nav><ul>{links}</ul></nav></body></html>")
        if path == "/blog/empty":
            return 200, {"Content-Type": "text/html"}, b""
        if path.startswith("/blog/"):
            item = _find(self.blog, path.removeprefix("/blog/"))
            if item is None:
                return _not_found()
            return _html(_article(item, item.text, extra='<a href="/blog/">back</a>'))
        if path.startswith("/private/"):
            return _html(_article(Item("secret", "Nordlys private page that robots.txt forbids", None), "secret"))
        if path == "/loop/a":
            return 302, {"Location": "/loop/b"}, b""
        if path == "/loop/b":
            return 302, {"Location": "/loop/a"}, b""
        if path.startswith("/reviews/"):
            fmt = path.removeprefix("/reviews/").strip("/")
            page = int(req.arg("page", "1") or 1)
            return self._review_page(fmt, page)
        return _not_found()

    def _review_page(self, fmt: str, page: int) -> Answer:
        per = self.reviews_per_page
        ordered = sorted(self.reviews, key=lambda i: _ts(i), reverse=True)
        chunk = ordered[(page - 1) * per : page * per]
        has_next = page * per < len(ordered)
        nxt = f'<link rel="next" href="?page={page + 1}">' if has_next else ""
        nav = f'<a class="next-page" href="?page={page + 1}">Next</a>' if has_next else ""
        if fmt == "jsonld" or fmt == "broken":
            # Ratings on a 0–10 scale here, so normalisation to 1–5 is exercised.
            doc = {
                "@context": "https://schema.org",
                "@type": "Product",
                "name": "Nordlys Air",
                "aggregateRating": {
                    "@type": "AggregateRating",
                    "ratingValue": 7.4,
                    "bestRating": 10,
                    "worstRating": 0,
                    "reviewCount": len(ordered),
                },
                "review": [
                    {
                        "@type": "Review",
                        "@id": f"#review-{i.id}",
                        "name": i.title,
                        "reviewBody": i.text,
                        **({"author": {"@type": "Person", "name": i.author}} if i.author else {}),
                        **({"datePublished": i.created_at.isoformat()} if i.created_at else {}),
                        **(
                            {
                                "reviewRating": {
                                    "@type": "Rating",
                                    "ratingValue": (i.rating - 1) * 2.5,
                                    "bestRating": 10,
                                    "worstRating": 0,
                                }
                            }
                            if i.rating
                            else {}
                        ),
                    }
                    for i in chunk
                ],
            }
            payload = json.dumps(doc)
            if fmt == "broken" and page == 1:
                payload = payload[: len(payload) // 2]  # truncated JSON-LD
            body = f'<script type="application/ld+json">{payload}</script>'
        elif fmt == "microdata":
            parts = []
            for i in chunk:
                author = (
                    (
                        f'<span itemprop="author" itemscope itemtype="https://schema.org/Person">'
                        f'<span itemprop="name">{html.escape(i.author)}</span></span>'
                    )
                    if i.author
                    else ""
                )
                date = f'<meta itemprop="datePublished" content="{i.created_at.isoformat()}">' if i.created_at else ""
                rating = (
                    (
                        f'<div itemprop="reviewRating" itemscope itemtype="https://schema.org/Rating">'
                        f'<meta itemprop="ratingValue" content="{i.rating}"><meta itemprop="bestRating" content="5">'
                        "</div>"
                    )
                    if i.rating
                    else ""
                )
                parts.append(
                    f'<div itemprop="review" itemscope itemtype="https://schema.org/Review" id="review-{i.id}">'
                    f'<h3 itemprop="name">{html.escape(i.title or "")}</h3>{author}{date}{rating}'
                    f'<p itemprop="reviewBody">{html.escape(i.text)}</p></div>'
                )
            body = (
                '<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Nordlys Air</h1>'
                + "".join(parts)
                + "</div>"
            )
        elif fmt == "plain":
            parts = []
            for i in chunk:
                parts.append(
                    f'<div class="complaint" data-id="{i.id}"><h3 class="subject">{html.escape(i.title or "")}</h3>'
                    f'<span class="who">{html.escape(i.author or "")}</span>'
                    f'<span class="when">{i.created_at.strftime("%d %B %Y %H:%M") if i.created_at else ""}</span>'
                    f'<span class="stars">{i.rating or ""}/5</span>'
                    f'<div class="text">{html.escape(i.text)}</div></div>'
                )
            body = "".join(parts)
        else:
            return _not_found()
        page_html = f"<html><head><title>Reviews page {page}</title>{nxt}</head><body>{body}{nav}</body></html>"
        return _html(page_html)

    # ---- reddit -----------------------------------------------------------------------------------
    def _reddit(self, req: Request) -> Answer:
        if req.path == "/api/v1/access_token":
            if not req.headers.get("authorization", "").startswith("Basic "):
                return _json({"error": "unauthorized"}, 401)
            return _json({"access_token": "fake-token", "token_type": "bearer", "expires_in": 3600, "scope": "*"})
        if not req.headers.get("authorization", "").startswith("bearer "):
            return _json({"error": 401, "message": "Unauthorized"}, 401)
        m = re.match(r"^(?:/r/([^/]+))?/(search|comments|new)(?:\.json)?/?$", req.path)
        if not m:
            return _not_found()
        subs = {s.lower() for s in (m.group(1) or "all").split("+")}
        what = m.group(2)
        want = "comment" if what == "comments" else "submission"
        items = [i for i in self.reddit if i.kind == want and ("all" in subs or (i.channel or "").lower() in subs)]
        if what == "search":
            items = [i for i in items if _matches(req.arg("q", ""), f"{i.title or ''} {i.text}")]
        items.sort(key=_ts, reverse=True)
        limit = min(int(req.arg("limit", "25") or 25), self.reddit_page_size)
        after = req.arg("after")
        start = 0
        if after:
            names = [_reddit_name(i) for i in items]
            start = names.index(after) + 1 if after in names else len(items)
        chunk = items[start : start + limit]
        more = start + limit < len(items)
        children = [{"kind": "t1" if i.kind == "comment" else "t3", "data": _reddit_data(i)} for i in chunk]
        return _json(
            {
                "kind": "Listing",
                "data": {
                    "after": _reddit_name(chunk[-1]) if more and chunk else None,
                    "before": None,
                    "dist": len(children),
                    "children": children,
                },
            }
        )

    # ---- mastodon ---------------------------------------------------------------------------------
    def _mastodon(self, req: Request) -> Answer:
        if req.path.rstrip("/") == "/api/v1/instance":
            return _json({"uri": "fake.social", "title": "fake", "version": "4.2.0"})
        if req.path.rstrip("/") == "/api/v2/instance":
            return _json({"domain": "fake.social", "title": "fake", "version": "4.2.0"})
        if req.path.startswith("/api/v1/timelines/tag/"):
            tag = req.path.removeprefix("/api/v1/timelines/tag/").lower()
            items = [i for i in self.mastodon if (i.channel or "").lower() == tag]
        elif req.path == "/api/v2/search":
            items = [i for i in self.mastodon if _matches(req.arg("q", ""), i.text)]
            return _json({"accounts": [], "hashtags": [], "statuses": self._mastodon_page(items, req)})
        else:
            return _not_found()
        return _json(self._mastodon_page(items, req))

    def _mastodon_page(self, items: list[Item], req: Request) -> list[dict[str, Any]]:
        items = sorted(items, key=lambda i: int(i.id))
        limit = min(int(req.arg("limit", "20") or 20), 40)
        if req.arg("max_id"):
            items = [i for i in items if int(i.id) < int(req.arg("max_id") or 0)]
        if req.arg("since_id"):
            items = [i for i in items if int(i.id) > int(req.arg("since_id") or 0)]
        if req.arg("min_id"):
            # min_id: the page right after min_id (oldest first), returned newest first.
            items = [i for i in items if int(i.id) > int(req.arg("min_id") or 0)][:limit]
        else:
            items = items[-limit:]
        base = self.url("mastodon")
        return [_mastodon_status(i, base) for i in reversed(items)]

    # ---- hacker news ----------------------------------------------------------------------------
    def _hn(self, req: Request) -> Answer:
        if req.path != "/api/v1/search_by_date":
            return _not_found()
        items = [i for i in self.hn if _matches(req.arg("query", ""), f"{i.title or ''} {i.text}")]
        for flt in (req.arg("numericFilters") or "").split(","):
            m = re.match(r"created_at_i\s*(>=|<=|>|<|=)\s*(\d+)", flt.strip())
            if m:
                op, value = m.group(1), int(m.group(2))
                checks: dict[str, Callable[[int, int], bool]] = {
                    ">=": lambda t, v: t >= v,
                    "<=": lambda t, v: t <= v,
                    ">": lambda t, v: t > v,
                    "<": lambda t, v: t < v,
                    "=": lambda t, v: t == v,
                }
                items = [i for i in items if checks[op](int(_ts(i)), value)]
        tags = req.arg("tags") or ""
        if tags and "story" not in tags:
            items = [i for i in items if i.kind == "comment"]
        items.sort(key=_ts, reverse=True)
        per = min(int(req.arg("hitsPerPage", "20") or 20), 1000)
        page = int(req.arg("page", "0") or 0)
        nb_pages = (len(items) + per - 1) // per
        chunk = items[page * per : (page + 1) * per]
        return _json(
            {
                "hits": [_hn_hit(i) for i in chunk],
                "nbHits": len(items),
                "page": page,
                "nbPages": nb_pages,
                "hitsPerPage": per,
            }
        )

    # ---- bluesky --------------------------------------------------------------------------------
    def _bluesky(self, req: Request) -> Answer:
        did = "did:plc:earshottest"
        if req.path == "/xrpc/com.atproto.server.createSession":
            try:
                body = json.loads(req.body or b"{}")
            except ValueError:
                body = {}
            if body.get("identifier") != self.bluesky_handle or body.get("password") != self.bluesky_password:
                return _json({"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, 401)
            return _json(
                {
                    "did": did,
                    "handle": self.bluesky_handle,
                    "accessJwt": _jwt(did, "access"),
                    "refreshJwt": _jwt(did, "refresh"),
                    "active": True,
                }
            )
        if not req.headers.get("authorization", "").startswith("Bearer "):
            return _json({"error": "AuthMissing", "message": "Authentication Required"}, 401)
        if req.path == "/xrpc/app.bsky.actor.getProfile":
            return _json({"did": did, "handle": self.bluesky_handle})
        if req.path != "/xrpc/app.bsky.feed.searchPosts":
            return _json({"error": "MethodNotImplemented", "message": "not here"}, 501)
        items = [i for i in self.bluesky if _matches(req.arg("q", ""), i.text)]
        since = req.arg("since")
        if since:
            cut = datetime.fromisoformat(since.replace("Z", "+00:00"))
            items = [i for i in items if i.created_at and i.created_at >= cut]
        until = req.arg("until")
        if until:  # exclusive, as on the real AppView
            cut = datetime.fromisoformat(until.replace("Z", "+00:00"))
            items = [i for i in items if i.created_at and i.created_at < cut]
        items.sort(key=_ts, reverse=True)
        limit = min(int(req.arg("limit", "25") or 25), 100)
        offset = int(req.arg("cursor", "0") or 0)
        chunk = items[offset : offset + limit]
        out: dict[str, Any] = {"posts": [_bsky_post(i) for i in chunk]}
        if offset + limit < len(items):
            out["cursor"] = str(offset + limit)
        return _json(out)


# ---- HTTP plumbing ------------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


class FakeServer:
    """One threaded HTTP server on 127.0.0.1 with a random port."""

    def __init__(self, name: str, app: Callable[[Request], Answer], world: FakeWorld) -> None:
        self.name = name
        self._app = app
        self._world = world
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Request(
                    self.command,
                    split.path,
                    parse_qs(split.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                world = server._world
                with world._lock:
                    world.requests.append((server.name, split.path, req.headers.get("user-agent", "")))
                try:
                    answer = world.pre_answer(server.name, split.path) or server._app(req)
                except Exception as exc:  # a bug in a fake must show up as a 500, not a hung client
                    answer = 500, {"Content-Type": "text/plain"}, repr(exc).encode()
                status, headers, payload = answer
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_HEAD = _handle

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        # A short poll interval keeps stop() fast (shutdown waits for the serve loop to notice).
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fake-{self.name}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None


def _json(value: Any, status: int = 200) -> Answer:
    return status, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(value).encode()


def _text(value: str) -> Answer:
    return 200, {"Content-Type": "text/plain; charset=utf-8"}, value.encode()


def _html(value: str) -> Answer:
    return 200, {"Content-Type": "text/html; charset=utf-8"}, value.encode()


def _not_found() -> Answer:
    return 404, {"Content-Type": "text/plain"}, b"not found"


def _find(items: list[Item], item_id: str) -> Item | None:
    return next((i for i in items if i.id == item_id), None)


def _ts(item: Item) -> float:
    return item.created_at.timestamp() if item.created_at else 0.0


_QUERY_NOISE = {"or", "and", "not"}


def _matches(query: str | None, text: str) -> bool:
    """Loose search: any query word occurs in the text (what real search endpoints roughly do)."""
    words = [w for w in re.findall(r"\w+", (query or "").lower()) if w not in _QUERY_NOISE]
    low = text.lower()
    return not words or any(w in low for w in words)


def _feed(fmt: str, items: list[Item], base: str) -> str:
    esc = html.escape
    if fmt == "atom":
        entries = "".join(
            f"<entry><id>urn:fake:{esc(i.id)}</id><title>{esc(i.title or '')}</title>"
            f'<link rel="alternate" href="{base}/articles/{esc(i.id)}"/>'
            + (f"<updated>{i.created_at.isoformat()}</updated>" if i.created_at else "")
            + (f"<author><name>{esc(i.author)}</name></author>" if i.author else "")
            + f'<summary type="html">{esc(i.text)}</summary></entry>'
            for i in items
        )
        return (
            f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Fake news</title><id>urn:fake</id>{entries}</feed>"
        )
    if fmt == "rdf":
        entries = "".join(
            f'<item rdf:about="{base}/articles/{esc(i.id)}"><title>{esc(i.title or "")}</title>'
            f"<link>{base}/articles/{esc(i.id)}</link><description>{esc(i.text)}</description>"
            + (f"<dc:date>{i.created_at.isoformat()}</dc:date>" if i.created_at else "")
            + (f"<dc:creator>{esc(i.author)}</dc:creator>" if i.author else "")
            + "</item>"
            for i in items
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"'
            ' xmlns:dc="http://purl.org/dc/elements/1.1/"><channel rdf:about="urn:fake"><title>Fake</title>'
            f"<link>{base}</link><description>fake</description></channel>{entries}</rdf:RDF>"
        )
    entries = "".join(
        f'<item><guid isPermaLink="false">{esc(i.id)}</guid><title>{esc(i.title or "")}</title>'
        f"<link>{base}/articles/{esc(i.id)}</link><description>{esc(i.text)}</description>"
        + (f"<pubDate>{format_datetime(i.created_at)}</pubDate>" if i.created_at else "")
        + (f"<dc:creator>{esc(i.author)}</dc:creator>" if i.author else "")
        + "</item>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>Fake news</title><link>{base}</link><description>fake</description>"
        f"{entries}</channel></rss>"
    )


def _article(item: Item, body: str, extra: str = "") -> str:
    esc = html.escape
    meta = f'<meta name="author" content="{esc(item.author)}">' if item.author else ""
    date = (
        f'<meta property="article:published_time" content="{item.created_at.isoformat()}">' if item.created_at else ""
    )
    paras = "".join(f"<p>{esc(p)}</p>" for p in body.split("\n\n"))
    return (
        f"<html><head><title>{esc(item.title or item.id)}</title>{meta}{date}</head><body>"
        f"<header><nav><a href='/'>Home</a></nav></header><article><h1>{esc(item.title or '')}</h1>"
        f"{paras}</article>{extra}<footer>Fake site footer</footer></body></html>"
    )


def _reddit_name(item: Item) -> str:
    return ("t1_" if item.kind == "comment" else "t3_") + item.id


def _reddit_data(item: Item) -> dict[str, Any]:
    sub = item.channel or "test"
    common = {
        "id": item.id,
        "name": _reddit_name(item),
        "author": item.author or "[deleted]",
        "created_utc": _ts(item),
        "subreddit": sub,
        "subreddit_name_prefixed": f"r/{sub}",
        "score": item.metrics.get("score", 1),
    }
    if item.kind == "comment":
        return {
            **common,
            "body": item.text,
            "link_id": "t3_parent",
            "parent_id": "t3_parent",
            "permalink": f"/r/{sub}/comments/parent/x/{item.id}/",
            "link_title": item.title or "thread",
        }
    return {
        **common,
        "title": item.title or "",
        "selftext": item.text,
        "is_self": True,
        "permalink": f"/r/{sub}/comments/{item.id}/x/",
        "url": f"https://www.reddit.com/r/{sub}/comments/{item.id}/",
        "num_comments": item.metrics.get("comments", 0),
        "over_18": False,
    }


def _mastodon_status(item: Item, base: str) -> dict[str, Any]:
    created = (item.created_at or datetime(2020, 1, 1, tzinfo=UTC)).isoformat().replace("+00:00", "Z")
    username = item.author or "gone"
    return {
        "id": item.id,
        "uri": f"{base}/users/{username}/statuses/{item.id}",
        "url": f"{base}/@{username}/{item.id}",
        "created_at": created,
        "content": f"<p>{html.escape(item.text)}</p>",
        "language": None,
        "visibility": "public",
        "sensitive": False,
        "spoiler_text": "",
        "replies_count": item.metrics.get("replies", 0),
        "reblogs_count": item.metrics.get("reblogs", 0),
        "favourites_count": item.metrics.get("favourites", 0),
        "account": {
            "id": "1",
            "username": username,
            "acct": username,
            "display_name": username,
            "url": f"{base}/@{username}",
        },
        "media_attachments": [],
        "mentions": [],
        "tags": [],
        "emojis": [],
        "reblog": None,
    }


def _hn_hit(item: Item) -> dict[str, Any]:
    created = item.created_at or datetime(2020, 1, 1, tzinfo=UTC)
    hit: dict[str, Any] = {
        "objectID": item.id,
        "author": item.author,
        "created_at_i": int(created.timestamp()),
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "_tags": [item.kind, f"author_{item.author}"] if item.author else [item.kind],
    }
    if item.kind == "comment":
        hit.update(comment_text=html.escape(item.text), story_id=1, parent_id=1, story_title=item.title)
    else:
        hit.update(
            title=item.title,
            story_text=html.escape(item.text),
            url=None,
            points=item.metrics.get("points", 1),
            num_comments=item.metrics.get("comments", 0),
        )
    return hit


def _bsky_post(item: Item) -> dict[str, Any]:
    created = (item.created_at or datetime(2020, 1, 1, tzinfo=UTC)).isoformat().replace("+00:00", "Z")
    handle = item.author or "handle.invalid"
    return {
        "uri": f"at://did:plc:{handle.replace('.', '')}/app.bsky.feed.post/{item.id}",
        "cid": f"bafyfake{item.id}",
        "author": {"did": f"did:plc:{handle.replace('.', '')}", "handle": handle, "displayName": handle},
        "record": {"$type": "app.bsky.feed.post", "text": item.text, "createdAt": created},
        "indexedAt": created,
        "likeCount": item.metrics.get("likes", 0),
        "repostCount": item.metrics.get("reposts", 0),
        "replyCount": item.metrics.get("replies", 0),
    }


def _jwt(did: str, scope: str) -> str:
    def enc(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    now = datetime.now(UTC)
    payload = {
        "scope": f"com.atproto.{scope}",
        "sub": did,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=2)).timestamp()),
    }
    return f"{enc({'alg': 'HS256', 'typ': 'JWT'})}.{enc(payload)}.c2lnbmF0dXJl"


def sample_world(now: datetime | None = None, brand: str = "Nordlys") -> FakeWorld:
    """A small world about ``brand`` covering every source kind (used by tests and the demo)."""
    now = now or datetime.now(UTC).replace(microsecond=0)

    def ago(minutes: int) -> datetime:
        return now - timedelta(minutes=minutes)

    b = brand
    return FakeWorld(
        feed=[
            Item(
                "f1",
                f"{b} launches a new budget route to Tromsø.",
                ago(50),
                "Kari Nordmann",
                f"{b} adds Tromsø",
                body=f"{b} announced a new budget route to Tromsø today. Fares start low "
                "and the first flight leaves in spring. Analysts welcomed the move, saying it will bring "
                "more competition to northern Norway.",
            ),
            Item("f2", f"Passengers praise {b} for its friendly crew.", ago(40), None, f"{b} crew praised"),
            Item("f3", f"Weather delays hit {b} flights in Bergen.", None, "Ola", f"{b} delays"),
        ],
        blog=[
            Item(
                "b1",
                f"I flew with {b} last week and the seats were comfortable, the crew kind and the "
                "coffee surprisingly good. Boarding was quick and we landed early. " * 3,
                ago(120),
                "Travel Tina",
                f"My {b} trip",
            ),
            Item(
                "b2",
                f"{b} lost my luggage and the support line never answered. Three days later I am still "
                "waiting for my bag and nobody replies to my emails. " * 3,
                ago(90),
                "Angry Anders",
                f"{b} lost my bag",
            ),
        ],
        reviews=[
            Item(f"r{n}", text, ago(10 * n), author, f"Review {n}", rating=rating)
            for n, (text, author, rating) in enumerate(
                [
                    (f"{b} was on time and the staff were lovely.", "Eva", 5.0),
                    (f"{b} cancelled my flight without notice. Terrible.", "Per", 1.0),
                    (f"Average {b} experience, nothing special.", None, 3.0),
                    (f"{b} refund took months. Not happy.", "Siri", 2.0),
                    (f"Great value with {b}, would fly again.", "Nils", 4.0),
                    (f"{b} app crashed at check-in.", "Liv", 2.0),
                    (f"Smooth {b} flight to Oslo.", "Jon", 5.0),
                ],
                start=1,
            )
        ],
        reddit=[
            Item(
                "s1",
                f"Has anyone flown {b} recently? Thinking of booking.",
                ago(30),
                "flyer1",
                f"{b} experiences?",
                channel="travel",
                kind="submission",
                metrics={"score": 12, "comments": 3},
            ),
            Item(
                "s2",
                f"{b} is the worst airline I have used.",
                ago(20),
                None,
                f"Avoid {b}",
                channel="travel",
                kind="submission",
            ),
            Item(
                "c1", f"{b} was fine for me, cheap and on time.", ago(15), "commenter", channel="travel", kind="comment"
            ),
            Item("c2", "[deleted]", ago(14), None, channel="travel", kind="comment"),
        ],
        hn=[
            Item(
                "9001",
                f"{b} rebuilt their booking system in Rust.",
                ago(60),
                "pg_fan",
                f"{b} goes Rust",
                kind="story",
                metrics={"points": 42, "comments": 7},
            ),
            Item("9002", f"I like how {b} publishes their API docs.", ago(45), "hacker", kind="comment"),
            Item("9003", "", ago(44), None, kind="comment"),
        ],
        mastodon=[
            Item(str(100 + n), text, ago(35 - n), author, channel=b.lower())
            for n, (text, author) in enumerate(
                [
                    (f"Flying #{b} today, smooth check-in!", "traveller"),
                    (f"#{b} delayed again. Two hours at the gate.", "grumpy"),
                    (f"The new #{b} lounge is lovely.", None),
                ],
                start=1,
            )
        ],
        bluesky=[
            Item(f"3k{n}", text, ago(25 - n), author)
            for n, (text, author) in enumerate(
                [
                    (f"{b} customer service fixed my booking in minutes.", "happy.bsky.social"),
                    (f"Not impressed with {b} seat sizes.", "tall.bsky.social"),
                ],
                start=1,
            )
        ],
    )
