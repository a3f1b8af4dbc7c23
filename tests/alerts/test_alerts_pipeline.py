"""Through the real pipeline: brand matching and near-duplicate linking decide what the alert engine counts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts.engine import AlertEngine
from alerts.notifiers.recording import RecordingNotifier
from alerts.outbox import OutboxDispatcher
from earshot.matching import BrandMatcher
from earshot.models import Sentiment
from earshot.pipeline import Pipeline
from store import open_store
from tests.alerts import synth

pytest.importorskip("datasketch")


class KeywordScorer:
    """A stand-in for the transformer: the synthetic texts carry their label."""

    model_name = "keyword-test"

    def score(self, texts, languages):
        out = []
        for t in texts:
            label = "negative" if ("negative" in t or "outage" in t or " down" in t) else (
                "positive" if "positive" in t else "neutral")
            out.append(synth.sentiment(label))
        assert all(isinstance(s, Sentiment) for s in out)
        return out


@pytest.mark.parametrize("distinct", [False, True])
def test_syndicated_press_release_does_not_page_but_distinct_complaints_do(distinct):
    from nlp.dedup import NearDuplicateDetector

    cfg = synth.config()
    burst_at = synth.START + timedelta(days=5, hours=15)
    raws = [synth.as_raw(m) for m in synth.week(seed=21)]
    raws += [synth.as_raw(m) for m in synth.press_release(burst_at, 40, distinct=distinct)]
    raws.sort(key=lambda r: r.published_at)
    rec = RecordingNotifier("pr")
    with open_store("memory://") as store:
        pipe = Pipeline(store, matcher=BrandMatcher.from_config(cfg), deduplicator=NearDuplicateDetector(),
                        scorer=KeywordScorer())
        result = pipe.process(raws)
        # MinHash is probabilistic: most, not necessarily all, copies are linked
        assert result.duplicates >= (0 if distinct else 30)
        engine = AlertEngine(store, cfg)
        dispatcher = OutboxDispatcher(store, {"pr": rec})
        t = burst_at + timedelta(hours=1)
        while t <= burst_at + timedelta(hours=5):
            engine.evaluate(t)
            dispatcher.dispatch(t)
            t += timedelta(minutes=30)
    firing = [n for n in rec.sent if n.status == "firing"]
    assert len(firing) == (1 if distinct else 0)
