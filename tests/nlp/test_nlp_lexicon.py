"""Lexicon fallback: routing from the watch config, on/off, model names, negation, bad input, the probability map.

Routing and config tests use a stub lexicon (no package import); the tests
marked with the real lexicons share one loaded scorer (textblob-de /
textblob-fr, skipped when the ``lexicon`` extra is not installed).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from earshot.config import Nlp, parse_config
from earshot.errors import ConfigError, InputError
from earshot.models import Sentiment
from nlp import lexicon
from nlp.lexicon import LexiconScorer, probabilities
from nlp.scorer import TransformerScorer


@pytest.fixture
def stub_lexicons(monkeypatch: pytest.MonkeyPatch) -> None:
    """de/fr 'lexicons' that read one word each, so routing is tested without loading the real ones."""

    def load(good: str, bad: str) -> Callable[[], Callable[[str], float]]:
        return lambda: lambda text: 0.8 if good in text.lower() else -0.8 if bad in text.lower() else 0.0

    monkeypatch.setitem(lexicon.LEXICONS, "de", lexicon._Lexicon("textblob-de", load("gut", "schlecht")))
    monkeypatch.setitem(lexicon.LEXICONS, "fr", lexicon._Lexicon("textblob-fr", load("bon", "mauvais")))


def _from_config(model_dir: Path, **nlp: object) -> TransformerScorer:
    return TransformerScorer.from_config(Nlp(model=str(model_dir), **nlp), device="cpu", quantize=False)


def test_routing_en_to_transformer_de_to_lexicon_fi_unscored(tiny_model_dir: Path, stub_lexicons: None) -> None:
    scorer = _from_config(tiny_model_dir, lexicon_fallback=True)
    out = scorer.score(["good flight", "Der Flug war gut", "un mauvais vol", "hyvä lento", "love it"],
                       ["en", "de", "fr", "fi", "und"])
    assert isinstance(out[0], Sentiment) and out[0].model == scorer.model_name
    assert isinstance(out[1], Sentiment) and out[1].label == "positive"
    assert out[1].model.startswith("lexicon-de@textblob-de-")
    assert isinstance(out[2], Sentiment) and out[2].label == "negative"
    assert out[2].model.startswith("lexicon-fr@textblob-fr-")
    assert out[3] == "no sentiment model for language 'fi'"  # no model, no lexicon: never the English model
    assert isinstance(out[4], Sentiment) and out[4].model == scorer.model_name


def test_scored_jsonl_records_the_lexicon_model(tiny_model_dir: Path, stub_lexicons: None) -> None:
    from nlp.jsonl import score_records

    scorer = _from_config(tiny_model_dir)
    rows = score_records([{"text": "good flight", "lang": "en"}, {"text": "un bon vol", "lang": "fr"}], scorer, None)
    assert rows[0]["model"] == scorer.model_name
    assert rows[1]["model"].startswith("lexicon-fr@textblob-fr-") and rows[1]["label"] == "positive"


def test_default_is_french_only(tiny_model_dir: Path, stub_lexicons: None) -> None:
    assert Nlp().lexicon_fallback == ["fr"]
    scorer = _from_config(tiny_model_dir)
    out = scorer.score(["Der Flug war gut", "un bon vol"], ["de", "fr"])
    assert out[0] == "no sentiment model for language 'de'"
    assert isinstance(out[1], Sentiment) and out[1].label == "positive"


def test_off_leaves_other_languages_unscored(tiny_model_dir: Path, stub_lexicons: None) -> None:
    scorer = _from_config(tiny_model_dir, lexicon_fallback=False)
    assert scorer.fallback is None
    assert scorer.score(["un bon vol"], ["fr"]) == ["no sentiment model for language 'fr'"]


def test_list_is_limited_to_configured_languages(tiny_model_dir: Path, stub_lexicons: None) -> None:
    scorer = _from_config(tiny_model_dir, lexicon_fallback=["de", "fr"], languages=["en", "de"])
    assert isinstance(scorer.fallback, LexiconScorer) and scorer.fallback.languages == {"de"}
    assert scorer.score(["un bon vol"], ["fr"]) == ["no sentiment model for language 'fr'"]


def test_multilingual_model_takes_precedence(tiny_model_dir: Path, stub_lexicons: None) -> None:
    scorer = _from_config(tiny_model_dir, multilingual_model=str(tiny_model_dir), lexicon_fallback=True)
    assert isinstance(scorer.fallback, TransformerScorer)
    (res,) = scorer.score(["Der Flug war gut"], ["de"])
    assert isinstance(res, Sentiment) and not res.model.startswith("lexicon")


def test_unknown_lexicon_language_is_a_config_error(tiny_model_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"no sentiment lexicon for \['nl'\]"):
        _from_config(tiny_model_dir, lexicon_fallback=["fr", "nl"])
    with pytest.raises(InputError, match="'fi'"):
        LexiconScorer(["fi"])


def test_config_accepts_bool_or_list() -> None:
    assert parse_config({"nlp": {"lexicon_fallback": True}}).nlp.lexicon_fallback is True
    assert parse_config({"nlp": {"lexicon_fallback": ["de"]}}).nlp.lexicon_fallback == ["de"]
    with pytest.raises(ConfigError, match="lexicon_fallback"):
        parse_config({"nlp": {"lexicon_fallback": "yes please"}})


def test_missing_extra_gives_a_reason_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> Callable[[str], float]:
        raise ImportError("No module named 'textblob_fr'")

    monkeypatch.setitem(lexicon.LEXICONS, "fr", lexicon._Lexicon("textblob-fr", broken))
    out = LexiconScorer(["fr"]).score(["un bon vol", "encore"], ["fr", "fr"])
    assert all(isinstance(r, str) and "pip install 'earshot[lexicon]'" in r for r in out)


def test_nothing_is_loaded_in_the_constructor(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode() -> Callable[[str], float]:
        raise AssertionError("loaded too early")

    monkeypatch.setitem(lexicon.LEXICONS, "de", lexicon._Lexicon("textblob-de", explode))
    scorer = LexiconScorer(["de"])
    assert scorer.handles("DE") and not scorer.handles("en") and not scorer.handles("")


def test_probability_map() -> None:
    for p in (-1.0, -0.5, -0.1, 0.0, 0.05, 0.3, 1.0, 7.0):
        scores = probabilities(p)
        assert abs(sum(scores.values()) - 1) < 1e-5
    none = probabilities(0.0)
    assert max(none, key=lambda k: none[k]) == "neutral" and none["neutral"] < 0.5  # no hit: neutral, low confidence
    assert probabilities(0.11)["positive"] > probabilities(0.11)["neutral"]
    assert probabilities(-0.11)["negative"] > probabilities(-0.11)["neutral"]
    assert probabilities(1.0)["positive"] > 0.95 and probabilities(-1.0)["negative"] > 0.95


# the real lexicons ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real() -> LexiconScorer:
    pytest.importorskip("textblob_de")
    pytest.importorskip("textblob_fr")
    scorer = LexiconScorer(["de", "fr"])
    scorer.score(["gut", "bon"], ["de", "fr"])  # load once for the module
    return scorer


def _label(scorer: LexiconScorer, text: str, lang: str) -> str:
    (res,) = scorer.score([text], [lang])
    assert isinstance(res, Sentiment), res
    return res.label


def test_real_negation_and_intensifiers(real: LexiconScorer) -> None:
    assert _label(real, "Der Service war gut", "de") == "positive"
    assert _label(real, "Der Service war nicht gut", "de") == "negative"
    assert _label(real, "Le service était bon", "fr") == "positive"
    assert _label(real, "Le service n'était pas bon", "fr") == "negative"
    assert _label(real, "Der Zug fährt um acht Uhr", "de") == "neutral"  # no lexicon word


def test_real_emoticons_and_emoji(real: LexiconScorer) -> None:
    assert _label(real, "Paket ist da :-)", "de") == "positive"
    assert _label(real, "Paket ist da 😡", "de") == "negative"
    assert _label(real, "👍👍", "fr") == "positive"


def test_real_model_names(real: LexiconScorer) -> None:
    de, fr = real.score(["gut", "bon"], ["de", "fr"])
    assert isinstance(de, Sentiment) and de.model.startswith("lexicon-de@textblob-de-0.")
    assert isinstance(fr, Sentiment) and fr.model.startswith("lexicon-fr@textblob-fr-0.")
    assert real.model_name == f"{de.model}+{fr.model}"


def test_real_bad_input_never_sinks_the_batch(real: LexiconScorer) -> None:
    texts: list[object] = [
        "", "   ", "x" * 1_000_000, "sehr gut " * 200_000, bytes(range(256)).decode("latin-1"), b"\xff\xfe gut",
        None, 42, "\ud800 gut", "😀", "🦜🦜🦜", "\x00\x01\x02", "gut",
    ]
    out = real.score(texts, ["de"] * len(texts))
    assert len(out) == len(texts)
    assert all(isinstance(r, Sentiment | str) for r in out)
    assert out[0] == out[1] == "empty text"
    assert out[6] == "not a text (NoneType)" and out[7] == "not a text (int)"
    assert isinstance(out[3], Sentiment) and out[3].label == "positive"
    assert isinstance(out[-1], Sentiment) and out[-1].label == "positive"
    with pytest.raises(InputError):
        real.score(["a", "b"], ["de"])
