"""A shortened `earshot demo`: every stage's result checked in the store, the alert file, the API and the report."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from rich.console import Console

from earshot.models import Sentiment

pytestmark = pytest.mark.e2e

NEG = re.compile(
    r"\b(bad|terrible|poor|annoying|not impressed|furious|disgrace|unacceptable|worst|awful|never again|"
    r"incompetence|drained|legal|ärgerlich|pénible|belachelijk|huono|pesadez|refund)\b",
    re.I,
)
POS = re.compile(
    r"\b(great|love|happy|impressed|friendly|zufrieden|contente|tevreden|tyytyväinen|contento|top)\b", re.I
)


class LexiconScorer:
    """A transparent word-list scorer: lets the demo's alert logic be tested without the model's judgement."""

    model_name = "lexicon-test/1"

    def score(self, texts: Sequence[str], languages: Sequence[str]) -> list[Sentiment | str]:
        out: list[Sentiment | str] = []
        for t in texts:
            label = "negative" if NEG.search(t) else "positive" if POS.search(t) else "neutral"
            scores = {k: (0.9 if k == label else 0.05) for k in ("negative", "neutral", "positive")}
            out.append(Sentiment(label=label, scores=scores, model=self.model_name))
        return out


SHIPPED_MODEL = Path(__file__).resolve().parents[2] / "nlp" / "model" / "config.json"
SCORERS = [
    "lexicon",
    pytest.param(
        "shipped-model",
        marks=[
            pytest.mark.slow,
            pytest.mark.skipif(not SHIPPED_MODEL.is_file(), reason="the shipped model is not in nlp/model yet"),
        ],
    ),
]


@pytest.mark.parametrize("scorer", SCORERS)
def test_shortened_demo(tmp_path, scorer):
    pytest.importorskip("store.sqlite")
    from earshot.demo.runner import ALERT_RULE, TRY_PATHS, DemoOptions, run_demo
    from store import open_store
    from store.base import MentionFilter

    opts = DemoOptions(
        workdir=tmp_path / "demo",
        days=14,
        per_day=30,
        port=0,
        serve_s=0,
        scorer=LexiconScorer() if scorer == "lexicon" else None,
    )
    console = Console(record=True, width=160, file=open(tmp_path / "console.txt", "w"))  # noqa: SIM115
    result = run_demo(opts, console=console)
    text = console.export_text()
    assert not result.skipped, result.skipped

    # crawled from every stand-in, through the pipeline, into the store
    assert set(result.stats["by_source"]) == {"news", "complaints", "reddit", "mastodon", "hackernews"}
    assert set(result.stats["by_brand"]) == {"Nordlys", "Solvik", "Brightwave"}
    with open_store(result.store_url) as st:
        stored = list(st.iter_mentions(MentionFilter()))
    assert len(stored) == result.stats["total"] > 200
    if scorer == "lexicon":
        assert all(m.sentiment is not None for m in stored), {m.unscored_reason for m in stored}
    else:  # the shipped model reads English (and undetermined) text; other languages say why they are unscored
        english = [m for m in stored if m.language in ("en", "und")]
        assert english and all(m.sentiment is not None for m in english), {m.unscored_reason for m in english}
        assert all(m.unscored_reason for m in stored if m.sentiment is None)
        assert {m.sentiment.label for m in english if m.sentiment} == {"negative", "neutral", "positive"}
    assert all("Aurora" not in (m.title or "") for m in stored)  # the unbranded noise was dropped
    if importlib.util.find_spec("nlp.langid"):
        assert {"en", "de", "fr"} <= {m.language for m in stored}
    if importlib.util.find_spec("nlp.dedup"):
        assert any(m.duplicate_of for m in stored)  # the incident's reposts are linked to their originals

    # exactly one alert, for the incident, with evidence, notified once to the file channel
    assert len(result.alerts) == 1, [a.rule for a in result.alerts]
    alert = result.alerts[0]
    assert alert.rule == ALERT_RULE and alert.brand == "Nordlys"
    assert result.world is not None and alert.bucket_start == result.world.incident_start
    top = alert.evidence["top_mentions"]
    assert top and all(re.search(r"charge|twice|payment|debit|billed|took", m["text"], re.I) for m in top)
    lines = (opts.workdir / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["severity"] in ("warning", "critical")
    assert "ALERT nordlys-negative-spike" in text

    # the API answered with the printed demo key
    assert result.api_checks == {path: 200 for path in ("/healthz", *TRY_PATHS)}
    assert result.api_key and result.api_key in text

    # the satisfaction report from the bundled survey and targets
    (json_path,) = [p for p in result.report_paths if p.suffix == ".json"]
    report = json.loads(Path(json_path).read_text(encoding="utf-8"))
    assert report["year"] == result.world.now.year  # the bundled survey, moved to the demo's year
    assert report["overall"]["n"] > 1000 and report["overall"]["status"] in ("green", "red")
    web = report["web_sentiment"]
    assert web["available"] is True and web["year"]["volume"] > 100 and web["year"]["negative"] > 0
    assert any(p.suffix == ".html" for p in result.report_paths)
