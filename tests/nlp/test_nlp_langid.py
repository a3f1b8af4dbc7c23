"""Language identification with lingua restricted to the configured languages."""

from __future__ import annotations

import pytest

from earshot.errors import ConfigError
from earshot.pipeline import LanguageDetector
from nlp.langid import LinguaDetector


@pytest.fixture(scope="module")
def detector() -> LinguaDetector:
    return LinguaDetector(["en", "de", "fr"])


def test_detects_configured_languages(detector: LinguaDetector) -> None:
    assert isinstance(detector, LanguageDetector)
    texts = [
        "@united delayed another hour, this is terrible service https://t.co/x",
        "Der Flug war leider schon wieder verspätet, echt ärgerlich",
        "Le vol a encore été annulé, le service client est nul",
    ]
    assert detector.detect(texts) == ["en", "de", "fr"]


def test_short_symbol_and_mixed_texts_are_undetermined(detector: LinguaDetector) -> None:
    mixed = "Ich liebe this new phone so much es ist super"
    texts = ["ok", "😀😀😀", "#fail @united http://x.y", "", "12345 !!!", mixed]
    assert detector.detect(texts) == ["und"] * len(texts)


def test_parallel_path_gives_same_answers() -> None:
    d = LinguaDetector(["en", "de"], parallel_threshold=2)
    texts = ["The flight was late again and nobody told us why", "Das Essen war wirklich sehr gut heute Abend"] * 3
    assert d.detect(texts) == ["en", "de"] * 3


def test_single_language_config() -> None:
    d = LinguaDetector(["en"])
    assert d.detect(["The flight was late again", "ok"]) == ["en", "und"]


def test_unknown_language_code_is_config_error() -> None:
    with pytest.raises(ConfigError, match="not known to lingua"):
        LinguaDetector(["en", "klingon"])
    with pytest.raises(ConfigError, match="empty"):
        LinguaDetector([])
