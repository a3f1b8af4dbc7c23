"""TransformerScorer with a tiny random model: batching, ordering, language routing, bad input."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from earshot.errors import ConfigError
from earshot.models import Sentiment
from earshot.pipeline import SentimentScorer
from nlp.scorer import TransformerScorer
from nlp.textnorm import normalize_social
from tests.nlp.conftest import build_tiny_model

TEXTS = [
    "good flight",
    "@united the flight was delayed and the service was awful, worst today https://t.co/abc",
    "thanks",
    "my phone is new and this is the best phone, love it, great service, happy",
    "rude",
    "the flight was cancelled",
    "nice",
    "terrible terrible terrible service on the flight today and it was delayed for the new phone",
    "a",
]


def test_implements_protocol_and_names_model(tiny_scorer: TransformerScorer) -> None:
    assert isinstance(tiny_scorer, SentimentScorer)
    name, _, version = tiny_scorer.model_name.partition("@")
    assert name and len(version) == 12  # sha256 prefix of the weights


def test_results_in_input_order_match_one_by_one(tiny_scorer: TransformerScorer) -> None:
    batched = tiny_scorer.score(TEXTS, ["en"] * len(TEXTS))
    single = [tiny_scorer.score([t], ["en"])[0] for t in TEXTS]
    for b, s in zip(batched, single, strict=True):
        assert isinstance(b, Sentiment) and isinstance(s, Sentiment)
        for lab in ("negative", "neutral", "positive"):
            assert b.scores[lab] == pytest.approx(s.scores[lab], abs=1e-4)
        assert math.isclose(sum(b.scores.values()), 1.0, abs_tol=1e-4)
        assert b.label == max(b.scores, key=lambda k: b.scores[k])


def test_preprocess_sorts_by_length_and_pads_per_batch(tiny_scorer: TransformerScorer) -> None:
    batches, reasons = tiny_scorer.preprocess(TEXTS)
    assert not reasons
    widths = [b.input_ids.shape[1] for b in batches]
    assert widths == sorted(widths)
    assert sorted(i for b in batches for i in b.index) == list(range(len(TEXTS)))
    # Every batch holds a row without padding: the batch is exactly as wide as its longest text.
    for b in batches:
        assert int(b.attention_mask.sum(dim=1).max()) == b.input_ids.shape[1]
        assert len(b.index) <= tiny_scorer.batch_size


def test_other_language_gets_reason_never_english_score(tiny_scorer: TransformerScorer) -> None:
    out = tiny_scorer.score(["good flight", "guter Flug", "bon vol", "love it"], ["en", "de", "fr", "und"])
    assert isinstance(out[0], Sentiment)
    assert out[1] == "no sentiment model for language 'de'"
    assert out[2] == "no sentiment model for language 'fr'"
    assert isinstance(out[3], Sentiment)  # undetermined (short) text is scored by the primary model


def test_fallback_model_scores_its_languages(tiny_model_dir: Path, tmp_path: Path) -> None:
    multi_dir = build_tiny_model(tmp_path / "multi", seed=1)
    multi = TransformerScorer.from_pretrained(multi_dir, device="cpu", quantize=False, languages=["de", "fr"],
                                              name="multi", score_undetermined=False)
    scorer = TransformerScorer.from_pretrained(tiny_model_dir, device="cpu", quantize=False, fallback=multi)
    out = scorer.score(["good", "gut", "bon", "hyvä"], ["en", "de", "fr", "fi"])
    assert isinstance(out[0], Sentiment) and out[0].model == scorer.model_name
    assert isinstance(out[1], Sentiment) and out[1].model.startswith("multi@")
    assert isinstance(out[2], Sentiment) and out[2].model.startswith("multi@")
    assert out[3] == "no sentiment model for language 'fi'"


BAD = {
    "empty": "",
    "blank": "   \n\t ",
    "huge": "terrible service " * 65_000,  # ~1 MB
    "binary": bytes(range(256)).decode("latin-1") * 4,
    "surrogates": "bad \udcff\udcfe flight",  # what surrogateescape makes of invalid UTF-8
    "emoji": "😡😡😡🔥",
    "nul": "\x00\x00\x00",
}


def test_bad_input_never_sinks_the_batch(tiny_scorer: TransformerScorer) -> None:
    texts = ["good flight", *BAD.values(), "awful flight"]
    out = tiny_scorer.score(texts, ["en"] * len(texts))
    assert len(out) == len(texts)
    assert isinstance(out[0], Sentiment) and isinstance(out[-1], Sentiment)
    got = dict(zip(BAD, out[1:-1], strict=True))
    assert got["empty"] == "empty text"
    assert got["blank"] == "empty text"
    assert got["nul"] == "empty text"
    assert isinstance(got["huge"], Sentiment)
    assert isinstance(got["surrogates"], Sentiment)
    assert got["emoji"] == "no words the model knows (only emoji, symbols or unknown script)"
    assert isinstance(got["binary"], Sentiment | str)


def test_non_string_items_get_a_reason(tiny_scorer: TransformerScorer) -> None:
    out = tiny_scorer.score([None, b"good flight", 42], ["en"] * 3)  # type: ignore[list-item]
    assert out[0] == "not a text (NoneType)"
    assert isinstance(out[1], Sentiment)
    assert out[2] == "not a text (int)"


def test_failing_batch_is_retried_row_by_row(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scorer = TransformerScorer.from_pretrained(tiny_model_dir, device="cpu", quantize=False, batch_size=8)
    real = scorer._forward
    poison = scorer.tokenizer("rude", add_special_tokens=True)["input_ids"]

    def forward(batch):
        rows = [batch.input_ids[r][: int(batch.attention_mask[r].sum())].tolist() for r in range(len(batch.index))]
        if poison in rows:
            raise RuntimeError("boom")
        return real(batch)

    monkeypatch.setattr(scorer, "_forward", forward)
    out = scorer.score(TEXTS, ["en"] * len(TEXTS))
    assert out[4] == "scoring failed: RuntimeError"
    assert all(isinstance(r, Sentiment) for i, r in enumerate(out) if i != 4)


def test_int8_quantised_scores_close_to_fp32(tiny_model_dir: Path, tiny_scorer: TransformerScorer) -> None:
    q = TransformerScorer.from_pretrained(tiny_model_dir, device="cpu", quantize=True)
    assert q.model_name.endswith("-int8")
    a = tiny_scorer.score(TEXTS, ["en"] * len(TEXTS))
    b = q.score(TEXTS, ["en"] * len(TEXTS))
    for x, y in zip(a, b, strict=True):
        assert isinstance(x, Sentiment) and isinstance(y, Sentiment)
        assert x.scores["positive"] == pytest.approx(y.scores["positive"], abs=0.05)


def test_two_class_model_maps_neutral_to_zero(tmp_path: Path) -> None:
    d = build_tiny_model(tmp_path / "two", labels=("NEG", "POS"))
    scorer = TransformerScorer.from_pretrained(d, device="cpu", quantize=False)
    (res,) = scorer.score(["good"], ["en"])
    assert isinstance(res, Sentiment)
    assert res.scores["neutral"] == 0.0
    assert res.scores["negative"] + res.scores["positive"] == pytest.approx(1.0, abs=1e-5)


def test_model_without_sentiment_labels_is_refused(tmp_path: Path) -> None:
    d = build_tiny_model(tmp_path / "stars", labels=("1 star", "2 stars", "3 stars"))
    with pytest.raises(ConfigError, match="do not name negative/positive"):
        TransformerScorer.from_pretrained(d, device="cpu")


def test_missing_model_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="could not be loaded"):
        TransformerScorer.from_pretrained(tmp_path / "nope", device="cpu")


def test_cuda_requested_without_gpu_is_a_config_error(tiny_model_dir: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ConfigError, match="CUDA is not available"):
        TransformerScorer.from_pretrained(tiny_model_dir, device="cuda")


def test_normalize_social_keeps_emoji_and_masks_urls_and_handles() -> None:
    assert normalize_social("@United  thanks 😍 https://t.co/x\x00 www.a.com") == "@user thanks 😍 http http"
    assert normalize_social("mail me at a@b.com") == "mail me at a@b.com"


def test_int8_leaves_head_pooler_and_first_ffn_down_projection_in_fp32(tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification

    from nlp.scorer import quantize_linear_int8

    model = AutoModelForSequenceClassification.from_pretrained(build_tiny_model(tmp_path / "q"))
    q = quantize_linear_int8(model)
    kinds = {name: type(mod) for name, mod in q.named_modules()}
    fp32 = {name for name, kind in kinds.items() if kind is torch.nn.Linear}
    assert fp32 == {"bert.encoder.layer.0.output.dense", "bert.pooler.dense", "classifier"}
    assert any("quantized" in kind.__module__ for name, kind in kinds.items() if name.endswith("layer.1.output.dense"))


TRICKY = [
    "RT @United: my flight was delayed!!! https://t.co/AbC?x=1 #fail",
    "WWW.Example.com/path?utm_source=x great service",
    "mail me at joe@example.com, @joe_x thanks",
    "@@double and x@inner and @" + "a" * 40,
    "tab\there\x00nul\x85nel\u2028sep   spaces  ",
    "@josé @jose\u0301 café ☕ @a²b",
    "  leading and trailing  ",
    "émoji 😡😡 @Ünïcode_user ok",
]


def test_tokenizer_side_normalisation_gives_the_training_ids(tiny_scorer: TransformerScorer) -> None:
    # The scorer normalises inside the Rust tokenizer; training normalises in Python. Same rules, same ids.
    assert tiny_scorer._fast is not None
    rust = tiny_scorer._encode(list(TRICKY))
    python = tiny_scorer.tokenizer([normalize_social(t) for t in TRICKY], truncation=True,
                                   max_length=tiny_scorer.max_length)["input_ids"]
    assert rust == python


def test_python_normalisation_path_scores_alike(tiny_model_dir: Path, tiny_scorer: TransformerScorer) -> None:
    slow = TransformerScorer.from_pretrained(tiny_model_dir, device="cpu", quantize=False)
    slow._fast = None  # what a tokenizer without a Rust backend gets
    texts = TEXTS + TRICKY + list(BAD.values())
    assert slow.score(texts) == tiny_scorer.score(texts)


def test_pipelined_path_matches_the_plain_one(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The GPU path (prefetching worker, queued forward passes, results read back a chunk later) run on the CPU:
    # 3 chunks of 1,024 texts, bad input and a failing batch included, must give what the plain loop gives.
    plain = TransformerScorer.from_pretrained(tiny_model_dir, device="cpu", quantize=False, batch_size=16)
    piped = TransformerScorer.from_pretrained(tiny_model_dir, device="cpu", quantize=False, batch_size=16)
    piped.pipelined = True
    texts = [f"{TEXTS[i % len(TEXTS)]} {i}" for i in range(2600)]
    for k, bad in enumerate(BAD.values()):
        texts[300 * k + 7] = bad
    real = piped._forward
    calls = {"n": 0}

    def flaky(batch: object, *, sync: bool = True) -> object:
        calls["n"] += 1
        if not sync and calls["n"] == 5:  # one queued batch fails and is rescored synchronously
            raise RuntimeError("boom")
        return real(batch, sync=sync)  # type: ignore[arg-type]

    monkeypatch.setattr(piped, "_forward", flaky)
    want = plain.score(texts)
    got = piped.score(texts)
    assert calls["n"] > 5 and len(got) == len(texts)
    for w, g in zip(want, got, strict=True):
        if isinstance(w, str):
            assert g == w
        else:
            assert isinstance(g, Sentiment) and g.label == w.label
            assert g.scores == pytest.approx(w.scores, abs=1e-5)


def test_device_default_batch_sizes(tiny_model_dir: Path) -> None:
    assert TransformerScorer.from_pretrained(tiny_model_dir, device="cpu", quantize=False).batch_size == 64
    s = TransformerScorer.from_pretrained(tiny_model_dir, device="cpu", quantize=False, batch_size=7)
    assert s.batch_size == 7
