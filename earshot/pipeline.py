"""The ingestion pipeline: RawMention → matched, canonical, deduplicated, language, sentiment → store.

Every stage is a small object behind a Protocol so the composition root can
swap them (the real transformer scorer, a tiny test model, none at all).
Crawled and imported mentions go through the same :meth:`Pipeline.process`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from earshot.config import WatchConfig, parse_duration
from earshot.errors import EarshotError
from earshot.models import UNDETERMINED_LANGUAGE, Mention, RawMention, Sentiment, site_of, utcnow

if TYPE_CHECKING:
    from store.base import MentionStore


@runtime_checkable
class LanguageDetector(Protocol):
    def detect(self, texts: Sequence[str]) -> list[str]:
        """ISO 639-1 codes, ``"und"`` where undetermined (short or mixed text)."""
        ...


@runtime_checkable
class SentimentScorer(Protocol):
    @property
    def model_name(self) -> str: ...

    def score(self, texts: Sequence[str], languages: Sequence[str]) -> list[Sentiment | str]:
        """One result per text: a :class:`Sentiment`, or a string giving why it is unscored."""
        ...


@runtime_checkable
class Deduplicator(Protocol):
    def check(self, mention: Mention) -> str | None:
        """Id of the first-seen mention this one duplicates, else ``None`` (and remember it)."""
        ...


@runtime_checkable
class MentionMatcher(Protocol):
    def match(self, mention: Mention) -> tuple[list[str], list[str]] | None:
        """(brands, topics) the mention is about, or ``None`` when it matches no brand and should be dropped."""
        ...


@runtime_checkable
class UrlCanonicalizer(Protocol):
    def __call__(self, url: str) -> str: ...


@dataclass
class PipelineResult:
    received: int = 0
    stored: int = 0
    inserted: int = 0
    unchanged: int = 0
    filtered: int = 0
    duplicates: int = 0
    unscored: int = 0
    failed: int = 0
    mention_ids: list[str] = field(default_factory=list)

    def add(self, other: PipelineResult) -> None:
        for name in ("received", "stored", "inserted", "unchanged", "filtered", "duplicates", "unscored", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.mention_ids.extend(other.mention_ids)


# --- the pipeline (composition root) -------------------------------------------------------------------------

log = logging.getLogger(__name__)

NO_MODEL_REASON = "no sentiment model configured"


def _nlp_text(mention: Mention) -> str:
    """What language id and sentiment read: the title (if any) then the body."""
    if mention.title and mention.title.strip() and mention.title.strip() not in mention.text:
        return f"{mention.title.strip()}\n{mention.text}"
    return mention.text


class Pipeline:
    """Enrich raw mentions and store them, batch by batch.

    Order per batch: :meth:`Mention.from_raw` → brand/topic matching (dropped
    when a matcher is set and no brand matches; without a matcher every
    mention is kept) → canonical URL → duplicate check → language →
    sentiment (one scorer call per batch) → ``store.upsert_mentions``.

    Each batch is stored before the next is read, so a failure later in the
    input (a crawler error, a bad row) never loses rows already accepted.
    A mention that is already stored with the same content keeps its stored
    enrichment (collected time, language, sentiment, duplicate link), so
    re-crawling is cheap and changes nothing.
    """

    def __init__(
        self,
        store: MentionStore,
        *,
        matcher: MentionMatcher | None = None,
        canonicalizer: UrlCanonicalizer | None = None,
        deduplicator: Deduplicator | None = None,
        language_detector: LanguageDetector | None = None,
        scorer: SentimentScorer | None = None,
        batch_size: int = 256,
        unscored_reason: str = NO_MODEL_REASON,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be ≥ 1, got {batch_size!r}")
        self.store = store
        self.matcher = matcher
        self.canonicalizer = canonicalizer
        self.deduplicator = deduplicator
        self.language_detector = language_detector
        self.scorer = scorer
        self.batch_size = batch_size
        self.unscored_reason = unscored_reason
        self._lang_checked: set[int] = set()  # mentions already run through the detector in this batch

    # public ------------------------------------------------------------------------------------------------------
    def process(self, raws: Iterable[RawMention], *, should_stop: Callable[[], bool] | None = None) -> PipelineResult:
        """Run ``raws`` through every stage and store them; ``should_stop`` is checked between batches.

        If iterating ``raws`` raises, the rows read so far are stored first and
        the error is re-raised.
        """
        total = PipelineResult()
        batch: list[RawMention] = []
        iterator = iter(raws)
        while True:
            try:
                raw = next(iterator)
            except StopIteration:
                break
            except BaseException:
                if batch:
                    total.add(self.process_batch(batch))
                raise
            batch.append(raw)
            if len(batch) >= self.batch_size:
                total.add(self.process_batch(batch))
                batch = []
                if should_stop is not None and should_stop():
                    log.info("pipeline stop requested; stored=%d", total.stored)
                    return total
        if batch:
            total.add(self.process_batch(batch))
        return total

    def process_batch(self, raws: Sequence[RawMention]) -> PipelineResult:
        """One batch through every stage, stored at the end (one upsert)."""
        result = PipelineResult(received=len(raws))
        self._lang_checked.clear()
        mentions: dict[str, Mention] = {}
        for raw in raws:
            try:
                mention = Mention.from_raw(raw)
            except Exception as exc:  # a malformed row must not sink its batch
                result.failed += 1
                log.warning("pipeline row failed source=%s error=%s", raw.source, _short(exc))
                continue
            if mention.id in mentions:
                result.unchanged += 1  # the same item twice in one batch: keep the later copy
            mentions[mention.id] = mention
        batch = list(mentions.values())

        if self.matcher is not None:
            if getattr(self.matcher, "needs_language", False):
                self._detect_languages(batch)
            kept: list[Mention] = []
            for m in batch:
                try:
                    matched = self.matcher.match(m)
                except Exception as exc:
                    result.failed += 1
                    log.warning("matcher failed id=%s error=%s", m.id, _short(exc))
                    continue
                if matched is None:
                    result.filtered += 1
                    continue
                m.brands, m.topics = list(matched[0]), list(matched[1])
                kept.append(m)
            batch = kept
        if not batch:
            return result

        if self.canonicalizer is not None:
            for m in batch:
                if m.url:
                    try:
                        m.canonical_url = self.canonicalizer(m.url)
                    except Exception as exc:  # a weird URL keeps itself as canonical
                        log.debug("canonicalize failed url=%r error=%s", m.url, _short(exc))
                        m.canonical_url = m.url
                    m.site = site_of(m.canonical_url or m.url)

        # first published wins when two mentions duplicate each other (crawls do not arrive in time order)
        batch.sort(key=lambda m: m.published_at)
        fresh = self._reuse_stored(batch)

        if self.deduplicator is not None:
            for m in fresh:
                try:
                    dup = self.deduplicator.check(m)
                except Exception as exc:
                    log.warning("dedup failed id=%s error=%s", m.id, _short(exc))
                    dup = None
                m.duplicate_of = dup if dup and dup != m.id else None
        result.duplicates = sum(1 for m in batch if m.duplicate_of)

        self._detect_languages(fresh)
        self._score([m for m in fresh if m.sentiment is None])
        result.unscored = sum(1 for m in batch if m.sentiment is None)

        upserted = self.store.upsert_mentions(batch)
        result.stored = len(batch)
        result.inserted = upserted.inserted
        result.unchanged += upserted.unchanged
        result.mention_ids = [m.id for m in batch]
        log.debug(
            "pipeline batch received=%d stored=%d inserted=%d filtered=%d duplicates=%d unscored=%d",
            result.received,
            result.stored,
            result.inserted,
            result.filtered,
            result.duplicates,
            result.unscored,
        )
        return result

    # stages ------------------------------------------------------------------------------------------------------
    def _reuse_stored(self, batch: list[Mention]) -> list[Mention]:
        """Copy enrichment from identical stored mentions; return those that still need the nlp stages."""
        stored = self.store.get_mentions([m.id for m in batch])
        fresh: list[Mention] = []
        model = self.scorer.model_name if self.scorer is not None else None
        for m in batch:
            old = stored.get(m.id)
            if old is None or old.content_hash != m.content_hash:
                fresh.append(m)
                continue
            m.collected_at = old.collected_at
            m.duplicate_of = old.duplicate_of
            if m.language == UNDETERMINED_LANGUAGE:
                m.language = old.language
            if old.sentiment is not None and (model is None or old.sentiment.model == model):
                m.sentiment = old.sentiment
                m.unscored_reason = None
            elif self.scorer is None:
                m.sentiment, m.unscored_reason = old.sentiment, old.unscored_reason
        return fresh

    def _detect_languages(self, mentions: list[Mention]) -> None:
        todo = [m for m in mentions if m.language == UNDETERMINED_LANGUAGE and id(m) not in self._lang_checked]
        if self.language_detector is None or not todo:
            return
        self._lang_checked.update(id(m) for m in todo)
        try:
            langs = self.language_detector.detect([_nlp_text(m) for m in todo])
        except Exception as exc:
            log.warning("language detection failed n=%d error=%s", len(todo), _short(exc))
            return
        for m, lang in zip(todo, langs, strict=False):
            m.language = lang or UNDETERMINED_LANGUAGE

    def _score(self, mentions: list[Mention]) -> None:
        if not mentions:
            return
        if self.scorer is None:
            for m in mentions:
                m.unscored_reason = self.unscored_reason
            return
        try:
            results = self.scorer.score([_nlp_text(m) for m in mentions], [m.language for m in mentions])
        except Exception as exc:  # the model failing must not lose the batch: store unscored with the reason
            log.error("sentiment scoring failed n=%d error=%s", len(mentions), _short(exc))
            for m in mentions:
                m.unscored_reason = f"scorer failed: {_short(exc)}"
            return
        for m, res in zip(mentions, results, strict=False):
            if isinstance(res, Sentiment):
                m.sentiment, m.unscored_reason = res, None
            else:
                m.sentiment, m.unscored_reason = None, str(res)


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 200 else text[:197] + "..."


# --- wiring the real components ---------------------------------------------------------------------------------

ScorerChoice = Literal["auto"] | SentimentScorer | None


def build_pipeline(
    config: WatchConfig | None,
    store: MentionStore,
    *,
    scorer: ScorerChoice = "auto",
    batch_size: int = 256,
    seed_dedup: bool = True,
) -> Pipeline:
    """A :class:`Pipeline` with the configured matcher and the real nlp components.

    ``scorer="auto"`` loads the configured (or shipped) sentiment model;
    ``None`` stores mentions unscored; an object is used as is. When the
    ``nlp`` extra or the model is missing, one log line says so and mentions
    are stored unscored with the reason. The near-duplicate detector is
    seeded from the mentions stored within ``nlp.dedup_window``.
    """
    from earshot.matching import BrandMatcher

    cfg = config or WatchConfig()
    matcher = BrandMatcher.from_config(cfg) if cfg.brands else None
    components = _nlp_components(cfg)
    reason = NO_MODEL_REASON
    chosen: SentimentScorer | None
    if scorer == "auto":
        chosen, reason = _load_scorer(cfg)
    else:
        chosen = scorer
    dedup = components.get("deduplicator")
    if dedup is not None and seed_dedup:
        _seed_deduplicator(dedup, store, parse_duration(cfg.nlp.dedup_window))
    return Pipeline(
        store,
        matcher=matcher,
        canonicalizer=components.get("canonicalizer"),
        deduplicator=dedup,
        language_detector=components.get("language_detector"),
        scorer=chosen,
        batch_size=batch_size,
        unscored_reason=reason,
    )


def _nlp_components(cfg: WatchConfig) -> dict[str, Any]:
    """Canonicalizer, language detector, near-duplicate detector from ``nlp/``, each optional.

    Whatever is missing is named in one log line; the pipeline runs without it.
    """
    out: dict[str, Any] = {}
    missing: list[str] = []
    try:
        from nlp.urls import canonical_url

        out["canonicalizer"] = canonical_url
    except ImportError as exc:
        missing.append(f"canonical_url ({_short(exc)})")
    try:
        from nlp.langid import LinguaDetector

        out["language_detector"] = LinguaDetector(languages=cfg.nlp.languages)
    except (ImportError, EarshotError) as exc:
        missing.append(f"language ({_short(exc)})")
    try:
        from nlp.dedup import NearDuplicateDetector

        out["deduplicator"] = NearDuplicateDetector(
            threshold=cfg.nlp.dedup_threshold, window=parse_duration(cfg.nlp.dedup_window)
        )
    except (ImportError, EarshotError) as exc:
        missing.append(f"dedup ({_short(exc)})")
    if missing:
        log.warning("nlp stages unavailable, running without them: %s", "; ".join(missing))
    return out


def _load_scorer(cfg: WatchConfig) -> tuple[SentimentScorer | None, str]:
    try:
        from nlp.sentiment import TransformerScorer

        _no_progress_bars()

        scorer: SentimentScorer = TransformerScorer.from_config(cfg.nlp)
        return scorer, NO_MODEL_REASON
    except ImportError as exc:
        reason = f"nlp extra not installed ({_short(exc)}); pip install 'earshot[nlp]'"
    except EarshotError as exc:
        reason = f"sentiment model unavailable: {exc}"
    except OSError as exc:  # model files missing or unreadable
        reason = f"sentiment model unavailable: {_short(exc)}"
    log.warning("sentiment disabled reason=%r; mentions are stored unscored", reason)
    return None, reason


def _no_progress_bars() -> None:
    """Weight-loading progress bars would break the one-event-a-line logs; the scorer logs its load."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        return
    hf_logging.disable_progress_bar()


def _seed_deduplicator(dedup: Deduplicator, store: MentionStore, window: timedelta) -> None:
    """Remember the recently stored mentions, oldest first, so a repost of them is linked to the original."""
    from store.base import MentionFilter

    since = utcnow() - window
    recent = list(store.iter_mentions(MentionFilter(since=since)))
    recent.reverse()
    seed = getattr(dedup, "seed", None)
    if callable(seed):
        seed(recent)
    else:
        for m in recent:
            dedup.check(m)
    log.debug("dedup seeded n=%d since=%s", len(recent), since.isoformat())
