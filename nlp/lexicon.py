"""Lexicon sentiment for languages without a transformer: German and French, offline, from maintained PyPI lexicons.

:class:`LexiconScorer` has the fallback interface :class:`nlp.scorer.TransformerScorer`
routes non-English text to (``handles``, ``score``, ``model_name``,
``languages``). It is used for configured languages that have a lexicon here
and are not covered by ``nlp.multilingual_model``, when
``nlp.lexicon_fallback`` allows it (see docs/nlp.md, "Non-English sentiment,
honestly", for the evaluation behind the default).

- ``de``: the Pattern sentiment analyser that ``textblob-de`` ships
  (``textblob_de.sentiments.PatternAnalyzer``: Pattern tokenizer and
  lemmatiser, the ~3,500-entry ``de-sentiment.xml``; MIT, Pattern parts BSD-3).
- ``fr``: ``textblob-fr``'s Pattern analyser (``textblob_fr.fr.sentiment``,
  ``fr-sentiment.xml``; MIT, lexicon from Pattern, BSD-3).

Both are Pattern's algorithm: the polarity of each lexicon word in [-1, 1],
multiplied by a preceding intensifier ("sehr", "très") and by -0.5 after a
negation ("nicht gut", "pas bon"), averaged over the hits; emoticons
(``:-)``, ``:(``, ``<3``) count as words. Common emoji are mapped to those
emoticons first. Nothing is read from disk until the first ``score`` call.

Polarity ``p`` becomes three probabilities as ``softmax(k·[-p, b, p])``
(negative, neutral, positive) with ``k = 4`` and ``b = 0.1``: the label
flips from neutral exactly at ``|p| = b`` (Pattern's own ``positive()``
threshold), ``p = ±1`` gives 0.97 to its side, and text with no lexicon hit
(``p = 0``) is ``neutral`` with a low 0.43, so it can be told from a
confident neutral. These are a monotone rescaling of the lexicon score, not
calibrated probabilities.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from earshot.errors import ConfigError, InputError
from earshot.models import UNDETERMINED_LANGUAGE, Sentiment, SentimentLabel
from nlp.textnorm import normalize_social

log = logging.getLogger(__name__)

EXTRA = "lexicon"
SHARPNESS = 4.0
NEUTRAL_BAND = 0.1
_LABELS: tuple[SentimentLabel, ...] = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class _Lexicon:
    package: str  # the PyPI distribution that ships the lexicon and its analyser
    load: Callable[[], Callable[[str], float]]


def _load_de() -> Callable[[str], float]:
    from textblob_de.sentiments import PatternAnalyzer

    analyzer = PatternAnalyzer()
    return lambda text: float(analyzer.analyze(text)[0])


def _load_fr() -> Callable[[str], float]:
    from textblob_fr.fr import sentiment

    return lambda text: float(sentiment(text)[0])


LEXICONS: dict[str, _Lexicon] = {
    "de": _Lexicon("textblob-de", _load_de),
    "fr": _Lexicon("textblob-fr", _load_fr),
}
LEXICON_LANGUAGES = frozenset(LEXICONS)

# Emoji → the Pattern emoticon of the same mood (Pattern only knows ASCII emoticons and ♥/❤).
_EMOJI = {
    **dict.fromkeys("😀😃😄😁😆😊☺🙂😉😎🥳👍👏🙌🎉", ":)"),
    **dict.fromkeys("😂🤣😍🥰😘💕💖💗💙💚💛💜🧡🤍🖤", "<3"),
    **dict.fromkeys("🙁☹😞😟😕😒😔👎🤦", ":("),
    **dict.fromkeys("😢😭😿💔", ":'("),
    **dict.fromkeys("😠😡🤬🤮🤢💩", ":("),
}
_EMOJI_TABLE = str.maketrans({e: f" {m} " for e, m in _EMOJI.items()})


def probabilities(polarity: float) -> dict[SentimentLabel, float]:
    """``softmax(k·[-p, b, p])`` over negative / neutral / positive; see the module docstring."""
    p = max(-1.0, min(1.0, polarity))
    logits: dict[SentimentLabel, float] = {
        "negative": -SHARPNESS * p, "neutral": SHARPNESS * NEUTRAL_BAND, "positive": SHARPNESS * p,
    }
    top = max(logits.values())
    exp = {k: math.exp(v - top) for k, v in logits.items()}
    total = sum(exp.values())
    return {k: round(v / total, 6) for k, v in exp.items()}


def _prepare(raw: object, max_chars: int) -> str | None:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if not isinstance(raw, str):
        return None
    text = raw.encode("utf-8", errors="replace").decode("utf-8")  # lone surrogates
    return normalize_social(text[:max_chars].translate(_EMOJI_TABLE))


class LexiconScorer:
    """Pattern-lexicon sentiment for ``de`` / ``fr``; see the module docstring."""

    def __init__(self, languages: Sequence[str] = tuple(sorted(LEXICON_LANGUAGES)), *, max_chars: int = 4000) -> None:
        wanted = {lang.lower() for lang in languages}
        unknown = wanted - LEXICON_LANGUAGES
        if unknown:
            raise InputError(
                f"no sentiment lexicon for {sorted(unknown)!r}; lexicons exist for {sorted(LEXICON_LANGUAGES)!r}"
            )
        self.languages = frozenset(wanted)
        # Pattern averages over the words it finds; past a few thousand characters the average no longer moves,
        # and a 1 MB text would take seconds to lemmatise.
        self.max_chars = max_chars
        self._analyzers: dict[str, Callable[[str], float] | str] = {}

    @classmethod
    def from_config(cls, nlp: Any) -> LexiconScorer | None:
        """The scorer ``nlp.lexicon_fallback`` asks for, over the configured languages; ``None`` when off or empty.

        ``true``: every configured language with a lexicon; a list: those of it that are configured; ``false``: off.
        """
        setting = getattr(nlp, "lexicon_fallback", False)
        configured = {lang.lower() for lang in (getattr(nlp, "languages", None) or [])} - {"en"}
        if setting is True:
            wanted = configured & LEXICON_LANGUAGES
        elif setting:
            listed = {str(lang).lower() for lang in setting}
            unknown = listed - LEXICON_LANGUAGES
            if unknown:
                raise ConfigError(
                    f"nlp.lexicon_fallback: no sentiment lexicon for {sorted(unknown)!r}; use some of "
                    f"{sorted(LEXICON_LANGUAGES)!r}, true (all of them) or false"
                )
            wanted = listed & configured
        else:
            wanted = set()
        return cls(sorted(wanted)) if wanted else None

    @property
    def model_name(self) -> str:
        return "+".join(self._model(lang) for lang in sorted(self.languages)) or "lexicon"

    def handles(self, language: str) -> bool:
        return (language or UNDETERMINED_LANGUAGE).lower() in self.languages

    def _model(self, lang: str) -> str:
        package = LEXICONS[lang].package
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            version = "missing"
        return f"lexicon-{lang}@{package}-{version}"

    def _analyzer(self, lang: str) -> Callable[[str], float] | str:
        """The language's analyser, loaded once; a reason string when its package is not installed."""
        if lang not in self._analyzers:
            try:
                self._analyzers[lang] = LEXICONS[lang].load()
                log.info("event=lexicon_loaded language=%s model=%s", lang, self._model(lang))
            except ImportError as exc:
                log.warning("event=lexicon_unavailable language=%s error=%s", lang, type(exc).__name__)
                self._analyzers[lang] = (
                    f"no sentiment model for language {lang!r} (the lexicon fallback needs the '{EXTRA}' extra: "
                    f"pip install 'earshot[{EXTRA}]')"
                )
        return self._analyzers[lang]

    def score(self, texts: Sequence[Any], languages: Sequence[str] | None = None) -> list[Sentiment | str]:
        """One :class:`Sentiment` or reason string per text, in order; never raises for bad text."""
        langs = list(languages) if languages is not None else [""] * len(texts)
        if len(langs) != len(texts):
            raise InputError(f"score() got {len(texts)} texts but {len(langs)} languages")
        out: list[Sentiment | str] = []
        for raw, lang_raw in zip(texts, langs, strict=True):
            lang = (lang_raw or UNDETERMINED_LANGUAGE).lower()
            if lang not in self.languages:
                out.append(f"no sentiment model for language {lang!r}")
                continue
            out.append(self._score_one(raw, lang))
        return out

    def _score_one(self, raw: object, lang: str) -> Sentiment | str:
        analyzer = self._analyzer(lang)
        if isinstance(analyzer, str):
            return analyzer
        text = _prepare(raw, self.max_chars)
        if text is None:
            return f"not a text ({type(raw).__name__})"
        if not text:
            return "empty text"
        try:
            polarity = analyzer(text)
        except Exception as exc:  # a lexicon library bug on odd input must not sink the batch
            log.warning("event=lexicon_failed language=%s error=%s", lang, type(exc).__name__)
            return f"scoring failed: {type(exc).__name__}"
        if not math.isfinite(polarity):
            return "scoring failed: non-finite polarity"
        scores = probabilities(polarity)
        label = max(_LABELS, key=lambda k: scores[k])
        return Sentiment(label=label, scores=scores, model=self._model(lang))
