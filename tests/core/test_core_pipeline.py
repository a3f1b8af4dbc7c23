from __future__ import annotations

import pytest

from earshot.config import parse_config
from earshot.matching import BrandMatcher
from earshot.models import Sentiment
from earshot.pipeline import NO_MODEL_REASON, Pipeline, build_pipeline
from store.base import MentionFilter

from .conftest import HashDedup, KeywordScorer, PrefixLanguage, raw

CFG = parse_config({"brands": [{"name": "Acme", "aliases": ["Acme Corp"]}], "topics": [{"name": "t", "query": "bad"}]})


def test_enriches_and_stores(mem_store):
    scorer, lang = KeywordScorer(), PrefixLanguage()
    p = Pipeline(
        mem_store,
        matcher=BrandMatcher.from_config(CFG),
        canonicalizer=lambda u: u.split("?")[0],
        deduplicator=HashDedup(),
        language_detector=lang,
        scorer=scorer,
        batch_size=2,
    )
    res = p.process(
        [
            raw(1, "Acme is bad, terrible support", url="https://www.ex.com/a?utm_source=x"),
            raw(2, "de: Acme ist great"),
            raw(3, "unrelated text about weather"),
            raw(4, "Acme is bad, terrible support", source="hn"),
            raw(5, "Acme unscorable"),
        ]
    )
    assert (res.received, res.stored, res.inserted, res.filtered, res.duplicates, res.unscored) == (5, 4, 4, 1, 1, 1)
    assert scorer.calls == [2, 1, 1]  # one scorer call per batch; the filtered row is never scored
    ms = {m.source_id + m.source: m for m in mem_store.iter_mentions(MentionFilter())}
    first = ms["1reddit"]
    assert first.canonical_url == "https://www.ex.com/a" and first.site == "ex.com"
    assert first.sentiment is not None and first.sentiment.label == "negative"
    assert first.brands == ["Acme"] and first.topics == ["t"] and first.language == "en"
    assert ms["2reddit"].language == "de" and ms["2reddit"].sentiment.label == "positive"
    assert ms["4hn"].duplicate_of == first.id
    assert ms["5reddit"].sentiment is None and ms["5reddit"].unscored_reason == "text too short"


def test_without_matcher_keeps_everything_and_notes_missing_model(mem_store):
    res = Pipeline(mem_store).process([raw(1, "anything at all"), raw(2, "more")])
    assert res.stored == 2 and res.filtered == 0 and res.unscored == 2
    m = next(iter(mem_store.iter_mentions(MentionFilter())))
    assert m.unscored_reason == NO_MODEL_REASON and m.language == "und"


def test_rows_read_before_a_failure_are_stored(mem_store):
    def crawl():
        for i in range(5):
            yield raw(i, f"Acme post number {i}")
        raise RuntimeError("feed broke")

    p = Pipeline(mem_store, batch_size=2)
    with pytest.raises(RuntimeError, match="feed broke"):
        p.process(crawl())
    assert mem_store.count(MentionFilter()) == 5


def test_scorer_failure_stores_unscored_with_reason(mem_store):
    class Boom(KeywordScorer):
        def score(self, texts, languages):
            raise RuntimeError("CUDA out of memory")

    res = Pipeline(mem_store, scorer=Boom()).process([raw(1, "Acme bad")])
    assert res.stored == 1 and res.unscored == 1
    m = next(iter(mem_store.iter_mentions(MentionFilter())))
    assert "CUDA out of memory" in (m.unscored_reason or "")


def test_reprocessing_is_idempotent_and_skips_the_model(mem_store):
    scorer, lang = KeywordScorer(), PrefixLanguage()
    p = Pipeline(mem_store, scorer=scorer, language_detector=lang, deduplicator=HashDedup())
    items = [raw(1, "Acme bad thing"), raw(2, "Acme great thing")]
    first = p.process(items)
    before = {m.id: m for m in mem_store.iter_mentions(MentionFilter())}
    again = p.process(items)
    assert (first.inserted, again.inserted, again.unchanged) == (2, 0, 2)
    assert scorer.calls == [2] and lang.seen == 2
    after = {m.id: m for m in mem_store.iter_mentions(MentionFilter())}
    assert before == after


def test_changed_text_is_rescored(mem_store):
    scorer = KeywordScorer()
    p = Pipeline(mem_store, scorer=scorer)
    p.process([raw(1, "Acme great")])
    p.process([raw(1, "Acme bad (edited)")])
    (m,) = list(mem_store.iter_mentions(MentionFilter()))
    assert m.sentiment is not None and m.sentiment.label == "negative" and scorer.calls == [1, 1]


def test_same_id_twice_in_one_batch_is_stored_once(mem_store):
    res = Pipeline(mem_store).process([raw(1, "Acme v1"), raw(1, "Acme v2")])
    assert res.stored == 1
    (m,) = list(mem_store.iter_mentions(MentionFilter()))
    assert m.text == "Acme v2"


def test_should_stop_ends_after_the_current_batch(mem_store):
    res = Pipeline(mem_store, batch_size=2).process((raw(i, f"Acme {i}") for i in range(10)), should_stop=lambda: True)
    assert res.stored == 2 and mem_store.count(MentionFilter()) == 2


def test_build_pipeline_with_given_scorer_and_config(mem_store):
    scorer = KeywordScorer()
    p = build_pipeline(CFG, mem_store, scorer=scorer)
    assert p.scorer is scorer and isinstance(p.matcher, BrandMatcher)
    res = p.process([raw(1, "Acme Corp is great"), raw(2, "no brand here")])
    assert (res.stored, res.filtered) == (1, 1)
    (m,) = list(mem_store.iter_mentions(MentionFilter()))
    assert isinstance(m.sentiment, Sentiment)


def test_build_pipeline_without_config_or_scorer_keeps_all(mem_store):
    p = build_pipeline(None, mem_store, scorer=None)
    assert p.matcher is None and p.scorer is None
    assert p.process([raw(1, "whatever")]).stored == 1
