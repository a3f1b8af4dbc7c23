"""Web sentiment from the store, counted by hand on a handful of mentions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from earshot.config import parse_config
from earshot.errors import StoreError
from earshot.models import Mention, RawMention, Sentiment
from reports.web import query_version, redact_url, web_sentiment
from store.memory import MemoryStore

CONFIG = parse_config({
    "brands": [
        {"name": "Acme", "aliases": ["acme"], "competitors": ["Globex"], "products": {"Cloud": ["acme cloud"]}},
        {"name": "Globex", "aliases": ["globex"], "own": False},
    ],
    "sources": [{"name": "shop-reviews", "kind": "reviews", "region": "AMER"}],
    "reports": {"language_regions": {"de": "EMEA"}},
})


def mention(i: int, day: str, *, brand: str = "Acme", lang: str = "de", source: str = "social",
            label: str | None = "positive", text: str = "acme", dup: str | None = None) -> Mention:
    raw = RawMention(source=source, source_id=str(i), text=text, language=lang,
                     published_at=datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC))
    scores = {"positive": 0.1, "neutral": 0.1, "negative": 0.1}
    if label:
        scores[label] = 0.8
    sentiment = Sentiment(label=label, scores=scores, model="m-1") if label else None  # type: ignore[arg-type]
    return Mention.from_raw(raw, brands=[brand], sentiment=sentiment, duplicate_of=dup)


MENTIONS = [
    mention(1, "2025-01-10"),  # EMEA by language
    mention(2, "2025-01-20", label="negative"),  # EMEA
    mention(3, "2025-02-05", text="acme cloud is great"),  # EMEA and product Cloud
    mention(4, "2025-02-06", lang="en", source="shop-reviews", label="negative"),  # AMER by source
    mention(5, "2025-02-07", source="shop-reviews", label="neutral"),  # AMER: the source's region wins over 'de'
    mention(6, "2025-03-01", lang="en", label=None),  # unscored, no region
    mention(7, "2025-03-02", dup="x"),  # duplicate: never counted
    mention(8, "2025-04-01", brand="Globex", label="negative"),
    mention(9, "2025-04-02", brand="Globex"),
    mention(10, "2024-01-15"),  # previous year, EMEA
]


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    # The same figures from every backend: only the MentionStore contract is used.
    from store import open_store

    s = MemoryStore() if request.param == "memory" else open_store(f"sqlite:///{tmp_path / 'm.db'}")
    s.open()
    s.upsert_mentions(MENTIONS)
    yield s
    s.close()


def _web(store, **kw):
    args = {"config": CONFIG, "groups": {"region": ["EMEA", "AMER", "APAC"], "product": ["Cloud"],
                                         "department": ["Sales"]},
            "survey_monthly_csat": {}, "survey_group_csat": {"region": {"EMEA": 81.0}}, "min_n": 30}
    args.update(kw)
    return web_sentiment(store, 2025, **args)


def test_overall_volume_net_negative(store) -> None:
    w = _web(store)
    # own brand 2025: mentions 1–6 (7 is a duplicate); scored 5: pos 1,3; neg 2,4; neutral 5
    assert w["year"]["volume"] == 6 and w["year"]["scored"] == 5 and w["year"]["unscored"] == 1
    assert w["year"]["net_sentiment"] == 0.0  # (2 − 2) / 5
    assert w["year"]["negative_share"] == 40.0  # 2 / 5
    assert w["previous_year"]["net_sentiment"] == 100.0
    jan, feb, mar = w["month"][:3]
    assert (jan["volume"], jan["net_sentiment"], jan["negative_share"]) == (2, 0.0, 50.0)
    assert (feb["volume"], feb["net_sentiment"]) == (3, 0.0)
    assert (mar["volume"], mar["scored"], mar["net_sentiment"]) == (1, 0, None)
    assert w["month"][0]["previous_year"]["volume"] == 1
    assert w["quarter"][0]["volume"] == 6
    assert w["models"] == ["m-1"]


def test_groups_by_region_and_product(store) -> None:
    w = _web(store)
    region = {r["group"]: r for r in w["groups"]["region"]}
    # EMEA: 1 pos, 2 neg, 3 pos → (2 − 1)/3 = 33.3; 2024: 100.0 → change −66.7
    assert (region["EMEA"]["volume"], region["EMEA"]["net_sentiment"]) == (3, 33.3)
    assert region["EMEA"]["change_net_sentiment"] == -66.7 and region["EMEA"]["csat"] == 81.0
    # AMER: by source region, 4 negative + 5 neutral → −50.0, negative share 50.0
    assert (region["AMER"]["volume"], region["AMER"]["net_sentiment"], region["AMER"]["negative_share"]) == (
        2, -50.0, 50.0)
    assert region["APAC"]["mapped"] is False and region["APAC"]["volume"] == 0
    product = {r["group"]: r for r in w["groups"]["product"]}
    assert (product["Cloud"]["volume"], product["Cloud"]["net_sentiment"]) == (1, 100.0)
    assert "department" not in w["groups"]
    assert any("department: no web counterpart" in n for n in w["notes"])


def test_share_of_voice(store) -> None:
    sov = {r["brand"]: r for r in _web(store)["share_of_voice"]}
    assert sov["Acme"]["share_of_voice"] == 75.0 and sov["Globex"]["share_of_voice"] == 25.0  # 6 vs 2
    assert sov["Globex"]["net_sentiment"] == 0.0 and sov["Acme"]["own"] and not sov["Globex"]["own"]


def test_correlation_is_honest_about_n(store) -> None:
    few = _web(store, survey_monthly_csat={"2025-01": (80.0, 100)})["correlation"]
    assert few["r"] is None and few["n"] == 0 and "too few months" in few["note"]


def test_correlation_over_months() -> None:
    s = MemoryStore()
    s.open()
    ms, csat = [], {}
    for month in range(1, 9):
        positives = month  # net sentiment rises with the month; CSAT does too
        for k in range(10):
            label = "positive" if k < positives else "negative"
            ms.append(mention(month * 100 + k, f"2025-{month:02d}-10", label=label))
        csat[f"2025-{month:02d}"] = (70.0 + month, 40)
    csat["2025-09"] = (90.0, 5)  # too few survey answers: left out
    s.upsert_mentions(ms)
    c = _web(s, survey_monthly_csat=csat)["correlation"]
    assert c["n"] == 8 and c["r"] == 1.0 and c["months"][0] == "2025-01" and "2025-09" not in c["months"]


def test_query_version_changes_with_mapping() -> None:
    other = parse_config({"brands": [{"name": "Acme", "aliases": ["acme", "acme corp"]}]})
    assert query_version(CONFIG) != query_version(other) and len(query_version(CONFIG)) == 12
    assert query_version(None) == "no-config"


class BrokenStore(MemoryStore):
    def timeline(self, flt, interval_s, split_by="sentiment"):  # type: ignore[override]
        raise StoreError("backend down")


def test_failing_store_leaves_the_survey_report_standing(write_file) -> None:
    from reports.build import build_report

    survey = write_file("s.csv", "date,region,csat\n2025-01-01,EMEA,4\n")
    targets = write_file("t.yaml", "2025: {csat: 80}\n")
    s = BrokenStore()
    s.open()
    r = build_report(survey, targets, 2025, store=s, config=CONFIG)
    assert r["web_sentiment"]["available"] is False
    assert "backend down" in r["web_sentiment"]["reason"]
    assert r["overall"]["csat"] == 100.0


def test_store_url_credentials_never_reach_the_report() -> None:
    assert redact_url("https://elastic:s3cret@es.example.org:9200/") == "https://es.example.org:9200/"
    assert redact_url("sqlite:///var/earshot.db") == "sqlite:///var/earshot.db"
    assert redact_url(None) is None
