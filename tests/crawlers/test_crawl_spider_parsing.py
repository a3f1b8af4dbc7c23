"""Spider callbacks fed recorded responses in-process (no network, no child process)."""

from __future__ import annotations

import io
import json

from scrapy.http import HtmlResponse, Request

from crawlers.spiders import Output, ReviewSpider

PAGE = """<html><body>
<article class="review" data-id="a1"><span class="reviewer">Mia</span><time datetime="2026-02-03T10:00:00Z">3 Feb</time>
<span class="stars" data-rating="2"></span><div class="review-body">Nordlys billed me twice.</div></article>
<article class="review" data-id="a2"><span class="reviewer"></span><time datetime="">?</time>
<span class="stars" data-rating="9/10"></span><div class="review-body">Nordlys support was quick.</div></article>
<article class="review"><div class="review-body"></div></article>
<a class="more" href="/reviews?page=2">more</a>
</body></html>"""


def _spider(selectors: dict[str, str]) -> tuple[ReviewSpider, io.StringIO]:
    buf = io.StringIO()
    source = {"name": "c", "urls": ["https://complaints.test/reviews"], "selectors": selectors, "options": {}}
    return ReviewSpider(spec={"source": source, "state": {}}, out=Output(buf)), buf


def test_selector_fallback_with_attribute_shorthand_as_in_the_example_config():
    spider, buf = _spider(
        {
            "review": "article.review",
            "body": ".review-body",
            "rating": ".stars@data-rating",
            "author": ".reviewer",
            "date": "time@datetime",
            "id": "@data-id",
            "next": "a.more",
        }
    )
    url = "https://complaints.test/reviews"
    response = HtmlResponse(url, body=PAGE.encode(), encoding="utf-8", request=Request(url, meta={"page": 1}))
    out = list(spider.parse_reviews(response))
    items = [o for o in out if isinstance(o, dict)]
    follow = [o for o in out if isinstance(o, Request)]
    assert [i["text"] for i in items] == ["Nordlys billed me twice.", "Nordlys support was quick."]
    assert items[0]["author"] == "Mia" and items[1]["author"] is None  # missing author kept as unknown
    assert items[0]["rating"] == 2.0 and items[1]["rating"] == 4.6  # "9/10" → 1–5
    assert items[0]["published_at"].startswith("2026-02-03T10:00") and items[1]["published_at"] is None
    assert items[0]["source_id"] == "https://complaints.test/reviews#a1"
    assert [r.url for r in follow] == ["https://complaints.test/reviews?page=2"]
    assert buf.getvalue() == ""  # nothing went wrong


def test_a_page_without_reviews_is_counted_as_empty():
    spider, buf = _spider({})
    url = "https://complaints.test/reviews"
    response = HtmlResponse(
        url, body=b"<html><body><p>Nothing here</p></body></html>", encoding="utf-8", request=Request(url)
    )
    assert list(spider.parse_reviews(response)) == []
    record = json.loads(buf.getvalue().splitlines()[0])
    assert record["type"] == "error" and record["kind"] == "empty"


def test_microdata_reviews_from_the_fake_site(world):
    world.reviews_per_page = 10
    status, _, body = world._review_page("microdata", 1)
    assert status == 200
    spider, buf = _spider({})
    url = "http://127.0.0.1/reviews/microdata?page=1"
    response = HtmlResponse(url, body=body, encoding="utf-8", request=Request(url, meta={"page": 1, "start": url}))
    items = [o for o in spider.parse_reviews(response) if isinstance(o, dict)]
    assert len(items) == 7 and buf.getvalue() == ""
    by_author = {i["author"]: i for i in items}
    assert by_author["Per"]["rating"] == 1.0 and by_author["Nils"]["rating"] == 4.0
    assert by_author["Per"]["raw"]["product"] == "Nordlys Air"
    assert None in by_author  # the anonymous review
