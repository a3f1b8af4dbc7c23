"""Transformer sentiment scorer: ``preprocess`` → ``_forward`` → ``postprocess``, batched and device-aware.

:class:`TransformerScorer` implements :class:`earshot.pipeline.SentimentScorer`.
Any ``AutoModelForSequenceClassification`` checkpoint (a local directory or a
hub id) loads the same way; its ``id2label`` must name negative / neutral /
positive (two-class positive/negative models get a neutral probability of 0).

- ``preprocess``: the social-text normalisation the model was trained with
  (:func:`nlp.textnorm.normalize_social`), one fast-tokenizer call, then
  indices sorted by token length and cut into batches, so padding is small.
- ``_forward``: one padded batch under ``torch.inference_mode``; on CUDA the
  model runs in fp16, on CPU its encoder ``Linear`` layers are int8
  dynamically quantised by default (the classification head stays fp32).
- ``postprocess``: softmax probabilities → :class:`earshot.models.Sentiment`
  with the model's name and version (a digest of its weights, so a changed
  model is visible on every stored score).

Texts in a language the scorer has no model for get a reason string
(``"no sentiment model for language 'de'"``), never an English score. Bad
input (empty, huge, binary, lone surrogates, only emoji) gets a result or a
reason; one failing batch falls back to text-by-text scoring so it cannot
sink its neighbours.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from earshot.errors import ConfigError, InputError
from earshot.models import SENTIMENT_LABELS, UNDETERMINED_LANGUAGE, Sentiment
from nlp.textnorm import normalize_social

log = logging.getLogger(__name__)

SHIPPED_MODEL_DIR = Path(__file__).resolve().parent / "model"
SHIPPED_MODEL_NAME = "earshot-minilm-sentiment-en"
_LABEL_ALIASES = {
    "negative": "negative", "neg": "negative", "neutral": "neutral", "neu": "neutral",
    "positive": "positive", "pos": "positive",
}


class FallbackScorer(Protocol):
    """What :class:`TransformerScorer` hands the languages it has no model for: another transformer, or
    :class:`nlp.lexicon.LexiconScorer`."""

    @property
    def model_name(self) -> str: ...

    def handles(self, language: str) -> bool: ...

    def score(self, texts: Sequence[str], languages: Sequence[str] | None = None) -> list[Sentiment | str]: ...


@dataclass
class Batch:
    """A padded batch: ``index`` maps its rows back to positions in the caller's list."""

    index: list[int]
    input_ids: Any
    attention_mask: Any


def _sanitize(text: object) -> str | None:
    """A clean ``str`` for the tokenizer, or ``None`` for something that is not text at all."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not isinstance(text, str):
        return None
    # Lone surrogates (from surrogateescape-decoded invalid UTF-8) make the Rust tokenizer raise.
    return text.encode("utf-8", errors="replace").decode("utf-8")


def _weights_digest(path: Path) -> str | None:
    for name in ("model.safetensors", "pytorch_model.bin"):
        f = path / name
        if f.is_file():
            h = hashlib.sha256()
            with f.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            return h.hexdigest()[:12]
    return None


class TransformerScorer:
    """Sentiment with a sequence-classification transformer; see the module docstring."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        name: str,
        version: str,
        languages: Sequence[str] = ("en",),
        device: str = "cpu",
        batch_size: int = 64,
        max_length: int = 128,
        max_chars: int = 4000,
        score_undetermined: bool = True,
        fallback: FallbackScorer | None = None,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"nlp.batch_size must be ≥ 1, got {batch_size!r}")
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.version = version
        self.languages = frozenset(lang.lower() for lang in languages)
        self.device = device
        self.batch_size = batch_size
        self.max_length = max_length
        # Cut long texts before tokenising: sentiment is read from the first max_length tokens anyway, and a 1 MB
        # text would otherwise cost the tokenizer a second.
        self.max_chars = max_chars
        self.score_undetermined = score_undetermined
        self.fallback = fallback
        self._columns = self._label_columns(model)
        self._unk_id = getattr(tokenizer, "unk_token_id", None)
        self._special_ids = set(getattr(tokenizer, "all_special_ids", []) or [])

    # construction ----------------------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path | None = None,
        *,
        device: str = "auto",
        quantize: bool | None = None,
        languages: Sequence[str] = ("en",),
        batch_size: int = 64,
        max_length: int = 128,
        name: str | None = None,
        score_undetermined: bool = True,
        fallback: FallbackScorer | None = None,
    ) -> TransformerScorer:
        """Load a local directory or hub id (default: the shipped ``nlp/model``).

        ``device``: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
        ``quantize``: int8 dynamic quantisation on CPU; ``None`` means yes on CPU, never on CUDA.
        """
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        source = str(name_or_path) if name_or_path else str(SHIPPED_MODEL_DIR)
        local = Path(source)
        if name_or_path is None and not (local / "config.json").is_file():
            raise ConfigError(
                f"the shipped sentiment model is missing from {str(local)!r}; reinstall earshot or train it with "
                "'earshot nlp train'"
            )
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
            raise ConfigError(f"device {device!r} is not one of auto, cpu, cuda")
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(f"device {device!r} requested but CUDA is not available; use device 'cpu' or 'auto'")
        try:
            tokenizer = AutoTokenizer.from_pretrained(source)
            model = AutoModelForSequenceClassification.from_pretrained(source, dtype=torch.float32)
        except OSError as exc:
            raise ConfigError(
                f"sentiment model {source!r} could not be loaded ({exc}); give a local directory with config.json "
                "and weights, or a Hugging Face hub id that is cached or reachable"
            ) from exc
        model.eval()
        if device.startswith("cuda"):
            model = model.half().to(device)
        elif quantize is None or quantize:
            model = quantize_linear_int8(model)
        if local.is_dir():
            version = _weights_digest(local) or "local"
            label = name or (SHIPPED_MODEL_NAME if local.resolve() == SHIPPED_MODEL_DIR else local.resolve().name)
        else:
            version = (getattr(model.config, "_commit_hash", None) or "hub")[:12]
            label = name or source
        if device == "cpu" and (quantize is None or quantize):
            version += "-int8"
        scorer = cls(
            model, tokenizer, name=label, version=version, languages=languages, device=device,
            batch_size=batch_size, max_length=max_length, score_undetermined=score_undetermined, fallback=fallback,
        )
        log.info("event=scorer_loaded model=%s device=%s languages=%s", scorer.model_name, device,
                 ",".join(sorted(scorer.languages)))
        return scorer

    @classmethod
    def from_config(cls, nlp: Any, *, device: str | None = None, quantize: bool | None = None) -> TransformerScorer:
        """Build from the watch config's ``nlp`` section and ``EARSHOT_MODEL`` / ``EARSHOT_DEVICE`` settings.

        English (and undetermined text) goes to ``nlp.model`` (default: the shipped model); the other
        configured languages go to ``nlp.multilingual_model`` when one is set, else, where ``nlp.lexicon_fallback``
        allows and a lexicon exists (de, fr), to :class:`nlp.lexicon.LexiconScorer`; the rest stay unscored with a
        reason.
        """
        from earshot.settings import get_settings

        settings = get_settings()
        dev = device or settings.device
        q = settings.quantize if quantize is None else quantize
        languages = [lang.lower() for lang in (getattr(nlp, "languages", None) or ["en"])]
        batch_size = int(getattr(nlp, "batch_size", 64) or 64)
        fallback: FallbackScorer | None = None
        multilingual = getattr(nlp, "multilingual_model", None)
        if multilingual:
            others = [lang for lang in languages if lang != "en"]
            fallback = cls.from_pretrained(multilingual, device=dev, quantize=q, languages=others,
                                           batch_size=batch_size, score_undetermined=False)
        else:
            from nlp.lexicon import LexiconScorer

            fallback = LexiconScorer.from_config(nlp)
        model = getattr(nlp, "model", None) or settings.model
        return cls.from_pretrained(model, device=dev, quantize=q, languages=["en"], batch_size=batch_size,
                                   fallback=fallback)

    @staticmethod
    def _label_columns(model: Any) -> dict[str, int | None]:
        id2label = {int(k): str(v) for k, v in model.config.id2label.items()}
        columns: dict[str, int | None] = dict.fromkeys(SENTIMENT_LABELS)
        for idx, raw in id2label.items():
            canonical = _LABEL_ALIASES.get(raw.strip().lower())
            if canonical:
                columns[canonical] = idx
        if columns["negative"] is None or columns["positive"] is None:
            raise ConfigError(
                f"model labels {id2label!r} do not name negative/positive (neutral optional); use a sentiment "
                "model whose config.json id2label has them, or fine-tune one with 'earshot nlp train'"
            )
        return columns

    # SentimentScorer -------------------------------------------------------------------------------------------
    @property
    def model_name(self) -> str:
        return f"{self.name}@{self.version}"

    def handles(self, language: str) -> bool:
        lang = (language or UNDETERMINED_LANGUAGE).lower()
        return lang in self.languages or (lang == UNDETERMINED_LANGUAGE and self.score_undetermined)

    def score(self, texts: Sequence[str], languages: Sequence[str] | None = None) -> list[Sentiment | str]:
        """One :class:`Sentiment` or reason string per text, in order; never raises for bad text."""
        langs = list(languages) if languages is not None else ["en"] * len(texts)
        if len(langs) != len(texts):
            raise InputError(f"score() got {len(texts)} texts but {len(langs)} languages")
        out: list[Sentiment | str] = [""] * len(texts)
        mine: list[int] = []
        theirs: list[int] = []
        for i, lang in enumerate(langs):
            if self.handles(lang):
                mine.append(i)
            elif self.fallback is not None and self.fallback.handles(lang):
                theirs.append(i)
            else:
                out[i] = f"no sentiment model for language {(lang or UNDETERMINED_LANGUAGE)!r}"
        for i, res in zip(mine, self._score_own([texts[i] for i in mine]), strict=True):
            out[i] = res
        if theirs and self.fallback is not None:
            sub = self.fallback.score([texts[i] for i in theirs], [langs[i] for i in theirs])
            for i, res in zip(theirs, sub, strict=True):
                out[i] = res
        return out

    # three steps -----------------------------------------------------------------------------------------------
    def preprocess(self, texts: Sequence[str]) -> tuple[list[Batch], dict[int, str]]:
        """Normalise, tokenise, sort by length and pad per batch; returns batches and reasons for skipped texts."""
        reasons: dict[int, str] = {}
        clean: list[str] = []
        keep: list[int] = []
        for i, raw in enumerate(texts):
            text = _sanitize(raw)
            if text is None:
                reasons[i] = f"not a text ({type(raw).__name__})"
                continue
            norm = normalize_social(text[: self.max_chars])
            if not norm:
                reasons[i] = "empty text"
                continue
            clean.append(norm)
            keep.append(i)
        if not clean:
            return [], reasons
        encoded = self.tokenizer(clean, truncation=True, max_length=self.max_length)["input_ids"]
        ids: list[list[int]] = []
        index: list[int] = []
        for i, row in zip(keep, encoded, strict=True):
            if not any(t not in self._special_ids and t != self._unk_id for t in row):
                reasons[i] = "no words the model knows (only emoji, symbols or unknown script)"
                continue
            ids.append(row)
            index.append(i)
        order = sorted(range(len(ids)), key=lambda k: len(ids[k]))
        batches = [
            self._pad([ids[k] for k in chunk], [index[k] for k in chunk])
            for chunk in (order[s : s + self.batch_size] for s in range(0, len(order), self.batch_size))
        ]
        return batches, reasons

    def _pad(self, rows: list[list[int]], index: list[int]) -> Batch:
        import torch

        width = max(len(r) for r in rows)
        pad = self.tokenizer.pad_token_id or 0
        input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, row in enumerate(rows):
            input_ids[r, : len(row)] = torch.as_tensor(row, dtype=torch.long)
            mask[r, : len(row)] = 1
        return Batch(index, input_ids, mask)

    def _forward(self, batch: Batch) -> Any:
        """Class probabilities (float32, CPU) for one batch."""
        import torch

        with torch.inference_mode():
            ids = batch.input_ids.to(self.device, non_blocking=True)
            mask = batch.attention_mask.to(self.device, non_blocking=True)
            logits = self.model(input_ids=ids, attention_mask=mask).logits
            return torch.softmax(logits.float(), dim=-1).cpu()

    def postprocess(self, probs: Any) -> list[Sentiment]:
        """Rows of probabilities → :class:`Sentiment` (label = the most probable of the three)."""
        out: list[Sentiment] = []
        model = self.model_name
        for row in probs.tolist():
            scores = {lab: (round(float(row[c]), 6) if c is not None else 0.0) for lab, c in self._columns.items()}
            label = max(SENTIMENT_LABELS, key=lambda lab: scores[lab])
            out.append(Sentiment(label=label, scores=scores, model=model))
        return out

    # driving ---------------------------------------------------------------------------------------------------
    def _score_own(self, texts: Sequence[str]) -> list[Sentiment | str]:
        out: list[Sentiment | str] = [""] * len(texts)
        if not texts:
            return out
        # Chunks bound the memory of one call; on CUDA the next chunk is tokenised while the GPU runs this one.
        chunk = max(self.batch_size * 32, 1024)
        spans = [(s, min(s + chunk, len(texts))) for s in range(0, len(texts), chunk)]
        pool = ThreadPoolExecutor(max_workers=1) if self.device != "cpu" and len(spans) > 1 else None
        try:
            pending: Future[tuple[list[Batch], dict[int, str]]] | None = None
            for n, (start, end) in enumerate(spans):
                if pending is not None:
                    batches, reasons = pending.result()
                else:
                    batches, reasons = self._safe_preprocess(texts[start:end])
                if pool is not None and n + 1 < len(spans):
                    nxt = spans[n + 1]
                    pending = pool.submit(self._safe_preprocess, texts[nxt[0] : nxt[1]])
                else:
                    pending = None
                for i, reason in reasons.items():
                    out[start + i] = reason
                for batch in batches:
                    for i, res in zip(batch.index, self._run_batch(batch, texts, start), strict=True):
                        out[start + i] = res
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
        return out

    def _safe_preprocess(self, texts: Sequence[str]) -> tuple[list[Batch], dict[int, str]]:
        try:
            return self.preprocess(texts)
        except Exception as exc:  # one odd text must not fail its chunk: tokenise one by one
            log.warning("event=preprocess_failed n=%d error=%s", len(texts), type(exc).__name__)
            batches: list[Batch] = []
            reasons: dict[int, str] = {}
            for i, t in enumerate(texts):
                try:
                    b, r = self.preprocess([t])
                except Exception as one:
                    reasons[i] = f"could not tokenise: {type(one).__name__}"
                    continue
                for k, v in r.items():
                    reasons[i + k] = v
                for batch in b:
                    batch.index = [i]
                    batches.append(batch)
            return batches, reasons

    def _run_batch(self, batch: Batch, texts: Sequence[str], offset: int) -> list[Sentiment | str]:
        try:
            return list(self.postprocess(self._forward(batch)))
        except Exception as exc:
            if len(batch.index) == 1:
                log.warning("event=score_failed error=%s", type(exc).__name__)
                return [f"scoring failed: {type(exc).__name__}"]
            # Re-run row by row so only the text that breaks the model goes unscored.
            log.warning("event=batch_failed n=%d error=%s; retrying one by one", len(batch.index), type(exc).__name__)
            results: list[Sentiment | str] = []
            for r, i in enumerate(batch.index):
                length = int(batch.attention_mask[r].sum())
                single = Batch([i], batch.input_ids[r : r + 1, :length], batch.attention_mask[r : r + 1, :length])
                results.extend(self._run_batch(single, texts, offset))
            return results


_KEEP_FP32_SUFFIXES = ("encoder.layer.0.output.dense",)


def quantize_linear_int8(model: Any) -> Any:
    """int8 dynamic quantisation of the encoder's ``Linear`` layers (the small classification head stays fp32)."""
    import warnings

    import torch

    try:
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
    except ImportError:  # a torch without eager-mode quantisation: run fp32 rather than fail
        log.warning("event=quantize_unavailable fallback=fp32")
        return model
    # Per-channel scales keep int8 close to fp32 (per-tensor lost ~2 points); the pooler and the head are tiny and
    # stay fp32. So does the first layer's FFN down-projection: its input (GELU output over raw embeddings) has
    # outliers that one dynamic per-tensor activation scale flattens; quantising it alone cost the shipped model
    # ~0.4 point of macro-F1 on dev, keeping it fp32 costs 1 of 36 int8 matmuls.
    spec = {
        name: per_channel_dynamic_qconfig
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and "pooler" not in name
        and not name.startswith(("classifier", "score", "pre_classifier"))
        and not name.endswith(_KEEP_FP32_SUFFIXES)
    }
    if not spec:
        return model
    with warnings.catch_warnings():
        # torch.ao eager quantisation is deprecated in favour of torchao, which is not a dependency; it still works
        # in the torch versions the nlp extra allows, and the fallback above covers its removal.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        return quantize_dynamic(model, qconfig_spec=spec, dtype=torch.qint8)

