"""Sentiment throughput and accuracy: Hugging Face ``pipeline`` (baseline) vs Earshot's scorer, same texts, one run.

Also language-ID and near-duplicate throughput, and the English model on the
hand-written non-English probe (why other languages stay unscored).

    python benchmarks/sentiment.py                 # 5,000 texts, CPU, 1 torch thread
    python benchmarks/sentiment.py --threads 2 --n 5000 --device cpu
    python benchmarks/sentiment.py --device cuda --n 200000 --sentiment-only   # GPU machine

On CUDA a third row times the model alone on the same texts pre-tokenised
into the scorer's fp16 batches (host-to-device copies included): the ceiling
that tokenisation and Python glue are measured against. With ``--n`` above
the data's size, training rows repeat.

The 5,000 texts are the grouped dev split of the training CSV (held out from
training) topped up with training rows; accuracy is reported on the dev rows
only. Both sides get the same normalised text (URLs and handles masked, as in
training) and the same batch size; the baseline runs fp32 as
``pipeline("text-classification")`` does, the scorer runs its defaults
(length-sorted batches; int8 dynamic quantisation on CPU, fp16 on CUDA).
Rounds alternate baseline and scorer chunks so that load from other processes
on a shared machine hits both alike.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from earshot.models import Mention, Sentiment  # noqa: E402
from nlp.data import grouped_stratified_split, load_labelled_csv  # noqa: E402
from nlp.metrics import evaluate_predictions  # noqa: E402
from nlp.textnorm import normalize_social  # noqa: E402

DATA = "/work/shared/data/sentiment/brand_tweets_train.csv"


def pick_texts(n: int, seed: int, data: str = DATA) -> tuple[list[str], list[str], int]:
    texts, gold = load_labelled_csv(data)
    train, dev = grouped_stratified_split(texts, gold, dev_fraction=0.1, seed=13)  # the model card's split
    rng = random.Random(seed)
    want = max(0, n - len(dev))
    extra = rng.sample(train, want) if want <= len(train) else rng.choices(train, k=want)
    idx = dev[:n] + extra
    return [texts[i] for i in idx], [gold[i] for i in idx], min(n, len(dev))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--data", default=DATA, help="the labelled training CSV (its dev split is scored)")
    ap.add_argument("--model", default=str(ROOT / "nlp" / "model"))
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=None, help="both sides; default 64 on CPU, 512 on CUDA")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--sentiment-only", action="store_true", help="skip language id and near-duplicates")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    import torch
    from transformers import pipeline

    from nlp.scorer import DEFAULT_BATCH_SIZE, TransformerScorer

    torch.set_num_threads(args.threads)
    if args.batch_size is None:
        args.batch_size = DEFAULT_BATCH_SIZE[args.device]
    texts, gold, n_dev = pick_texts(args.n, seed=7, data=args.data)
    norm = [normalize_social(t) for t in texts]

    scorer = TransformerScorer.from_pretrained(args.model, device=args.device, batch_size=args.batch_size)
    baseline = None
    if not args.skip_baseline:
        baseline = pipeline("text-classification", model=args.model, device=0 if args.device == "cuda" else -1,
                            dtype=torch.float16 if args.device == "cuda" else torch.float32)
    # Warm-up (first-call allocations, lazy inits, CUDA kernel selection) outside the timing.
    warm = 64 if args.device == "cpu" else 4096
    scorer.score(texts[:warm], ["en"] * warm)
    if baseline is not None:
        baseline(norm[:warm], batch_size=args.batch_size, truncation=True, max_length=128)

    chunk = -(-len(texts) // args.rounds)
    t_base = t_ours = 0.0
    base_pred: list[str] = []
    ours_pred: list[str] = []
    for r in range(args.rounds):
        part = slice(r * chunk, (r + 1) * chunk)
        if baseline is not None:
            t0 = time.perf_counter()
            out = baseline(norm[part], batch_size=args.batch_size, truncation=True, max_length=128)
            t_base += time.perf_counter() - t0
            base_pred += [o["label"].lower() for o in out]
        t0 = time.perf_counter()
        res = scorer.score(texts[part], ["en"] * len(texts[part]))  # raw text: the scorer normalises itself
        t_ours += time.perf_counter() - t0
        ours_pred += [x.label if isinstance(x, Sentiment) else "neutral" for x in res]

    rows = []
    if baseline is not None:
        acc = evaluate_predictions(gold[:n_dev], base_pred[:n_dev])
        kind = "fp32" if args.device == "cpu" else "fp16"
        rows.append((f"HF pipeline {kind} (baseline)", len(texts) / t_base, acc.accuracy, acc.macro_f1))
    acc = evaluate_predictions(gold[:n_dev], ours_pred[:n_dev])
    ours_label = "Earshot scorer int8" if args.device == "cpu" else "Earshot scorer fp16"
    rows.append((ours_label, len(texts) / t_ours, acc.accuracy, acc.macro_f1))
    if args.device == "cuda":
        rows.append(("model alone, pre-tokenised fp16", model_alone_rate(scorer, texts), acc.accuracy, acc.macro_f1))
    print_table(args, scorer.model_name, len(texts), n_dev, rows)
    if args.sentiment_only:
        write_json(args, len(texts), n_dev, rows, {})
        return

    # Language ID and near-duplicates over the same texts.
    from nlp.dedup import NearDuplicateDetector
    from nlp.langid import LinguaDetector

    det = LinguaDetector(["en", "de", "fr", "nl", "fi", "es"])
    det.detect(texts[:100])
    t0 = time.perf_counter()
    langs = det.detect(texts)
    t_lang = time.perf_counter() - t0
    t_start = datetime(2015, 2, 1, tzinfo=UTC)
    mentions = [Mention(id=f"m{i}", source="bench", source_id=str(i), text=t,
                        published_at=t_start + timedelta(minutes=i)) for i, t in enumerate(texts)]
    dd = NearDuplicateDetector()
    dd.check(Mention(id="warm", source="bench", source_id="w", text="warm up text for the detector here now",
                     published_at=t_start))
    t0 = time.perf_counter()
    dups = sum(1 for m in mentions if dd.check(m))
    t_dedup = time.perf_counter() - t0

    # English model on non-English text: the approach Earshot refuses (cross-lingual zero-shot with an English-only
    # encoder), measured on the hand-written probe.
    import csv

    with (ROOT / "nlp" / "samples" / "multilingual_probe.csv").open(encoding="utf-8") as fh:
        probe = list(csv.DictReader(fh))
    pres = scorer.score([p["text"] for p in probe], ["en"] * len(probe))
    probe_acc = evaluate_predictions(
        [p["label"] for p in probe], [x.label if isinstance(x, Sentiment) else "neutral" for x in pres]
    )

    print(f"\n| stage | texts/s |\n|---|---|\n| language id (lingua, 6 languages) | {len(texts) / t_lang:.0f} |")
    print(f"| near-duplicates (URL + hash + MinHash LSH) | {len(texts) / t_dedup:.0f} |")
    print(f"\nlanguages found: { {k: langs.count(k) for k in sorted(set(langs))} }; duplicates linked: {dups}")
    print(f"English model on the 40-sentence de/fr/nl/fi/es probe: accuracy {probe_acc.accuracy:.3f}, "
          f"macro-F1 {probe_acc.macro_f1:.3f} (chance ~0.33)")
    write_json(args, len(texts), n_dev, rows, {
        "langid_texts_per_s": len(texts) / t_lang, "dedup_texts_per_s": len(texts) / t_dedup,
        "probe_accuracy": probe_acc.accuracy, "probe_macro_f1": probe_acc.macro_f1,
    })


def model_alone_rate(scorer: Any, texts: list[str], repeats: int = 3) -> float:
    """texts/s of the forward passes alone over the scorer's own pre-tokenised batches (best of ``repeats``)."""
    import torch

    batches, _ = scorer.preprocess(texts)
    best = 0.0
    for _ in range(repeats):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for batch in batches:
            scorer._forward(batch, sync=False)
        torch.cuda.synchronize()
        best = max(best, len(texts) / (time.perf_counter() - t0))
    return best


def print_table(args: argparse.Namespace, model: str, n: int, n_dev: int, rows: list[tuple[str, float, float, float]]
                ) -> None:
    print(f"\n{n} texts (accuracy on the {n_dev} held-out dev rows), device={args.device}, "
          f"torch threads={args.threads}, batch={args.batch_size}, model={model}\n")
    print(f"| {'scorer':<32} | texts/s | speed-up | accuracy | macro-F1 |")
    print(f"|{'-' * 34}|---------|----------|----------|----------|")
    base_rate = rows[0][1] if not args.skip_baseline else None
    for name, rate, a, f in rows:
        ratio = f"{rate / base_rate:.2f}x" if base_rate else "-"
        print(f"| {name:<32} | {rate:7.0f} | {ratio:>8} | {a:8.4f} | {f:8.4f} |")


def write_json(args: argparse.Namespace, n: int, n_dev: int, rows: list[tuple[str, float, float, float]],
               extra: dict[str, float]) -> None:
    if args.json:
        args.json.write_text(json.dumps({
            "n": n, "n_dev": n_dev, "device": args.device, "threads": args.threads, "batch_size": args.batch_size,
            "rows": [dict(zip(("scorer", "texts_per_s", "accuracy", "macro_f1"), r, strict=True)) for r in rows],
            **extra,
        }, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
