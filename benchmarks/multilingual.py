"""Non-English sentiment: the lexicon fallback vs the English model vs chance, per language, on a hand-labelled CSV.

    python benchmarks/multilingual.py                    # nlp/samples/multilingual_eval.csv
    python benchmarks/multilingual.py --data nlp/samples/multilingual_probe.csv --json out.json

For every language in the CSV (columns text,label,lang): accuracy (with a 95%
Wilson interval) and macro-F1 of (a) :class:`nlp.lexicon.LexiconScorer` where
a lexicon exists, (b) the shipped English model applied to the same text
(cross-lingual zero-shot, what Earshot refuses to do silently), (c) chance: a
uniform random guess (expected accuracy 1/3; expected macro-F1 from the
class priors) and the majority class. A text a scorer leaves unscored counts
as ``neutral``. Also the lexicon's throughput (texts/s, one thread, after
loading). ``multilingual_eval.csv`` was written and committed before the
lexicon scorer was first run on it; ``multilingual_probe.csv`` was used while
developing the scorer, so its figures are not an evaluation.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from earshot.models import Sentiment  # noqa: E402
from nlp.metrics import evaluate_predictions  # noqa: E402

LABELS = ("negative", "neutral", "positive")


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (0.0, 0.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def chance(gold: list[str]) -> dict[str, float]:
    """Expected figures of a uniform random guess, and the majority-class baseline."""
    n = len(gold)
    priors = {lab: gold.count(lab) / n for lab in LABELS}
    # uniform guess: precision of class c = its prior, recall = 1/3
    f1 = [2 * priors[c] / 3 / (priors[c] + 1 / 3) for c in LABELS]
    majority = max(LABELS, key=lambda c: priors[c])
    maj = evaluate_predictions(gold, [majority] * n, labels=LABELS)
    return {"uniform_accuracy": 1 / 3, "uniform_macro_f1": sum(f1) / 3,
            "majority_accuracy": maj.accuracy, "majority_macro_f1": maj.macro_f1}


def labels_of(results: list[Sentiment | str]) -> tuple[list[str], int]:
    return [r.label if isinstance(r, Sentiment) else "neutral" for r in results], sum(
        1 for r in results if not isinstance(r, Sentiment))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "nlp" / "samples" / "multilingual_eval.csv")
    ap.add_argument("--model", default=str(ROOT / "nlp" / "model"), help="the English model to compare with")
    ap.add_argument("--skip-english", action="store_true", help="do not load the English model")
    ap.add_argument("--repeat", type=int, default=20, help="passes over the texts for the throughput figure")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    from nlp.lexicon import LEXICON_LANGUAGES, LexiconScorer

    with args.data.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    langs = sorted({r["lang"] for r in rows}, key=lambda x: (x not in LEXICON_LANGUAGES, x))
    lexicon = LexiconScorer(sorted(LEXICON_LANGUAGES))
    t0 = time.perf_counter()
    lexicon.score(["warm-up"] * len(LEXICON_LANGUAGES), sorted(LEXICON_LANGUAGES))  # loads the lexicons
    t_load = time.perf_counter() - t0

    english = None
    if not args.skip_english:
        import torch
        from transformers.utils import logging as hf_logging

        from nlp.scorer import TransformerScorer

        torch.set_num_threads(1)
        hf_logging.disable_progress_bar()
        english = TransformerScorer.from_pretrained(args.model, device="cpu")

    table = []
    for lang in langs:
        sub = [r for r in rows if r["lang"] == lang]
        gold = [r["label"] for r in sub]
        texts = [r["text"] for r in sub]
        entry: dict[str, object] = {"lang": lang, "n": len(sub), "classes": dict(Counter(gold)),
                                    "chance": chance(gold)}
        if lang in LEXICON_LANGUAGES:
            pred, unscored = labels_of(lexicon.score(texts, [lang] * len(texts)))
            rep = evaluate_predictions(gold, pred, labels=LABELS)
            k = sum(p == g for p, g in zip(pred, gold, strict=True))
            entry["lexicon"] = {"accuracy": rep.accuracy, "macro_f1": rep.macro_f1, "unscored": unscored,
                                "accuracy_ci95": wilson(k, len(gold)), "confusion": rep.confusion,
                                "model": lexicon._model(lang)}
        if english is not None:
            pred, unscored = labels_of(english.score(texts, ["en"] * len(texts)))
            rep = evaluate_predictions(gold, pred, labels=LABELS)
            k = sum(p == g for p, g in zip(pred, gold, strict=True))
            entry["english_model"] = {"accuracy": rep.accuracy, "macro_f1": rep.macro_f1, "unscored": unscored,
                                      "accuracy_ci95": wilson(k, len(gold)), "model": english.model_name}
        table.append(entry)

    lex_rows = [r for r in rows if r["lang"] in LEXICON_LANGUAGES]
    texts = [r["text"] for r in lex_rows] * args.repeat
    tags = [r["lang"] for r in lex_rows] * args.repeat
    t0 = time.perf_counter()
    lexicon.score(texts, tags)
    rate = len(texts) / (time.perf_counter() - t0) if texts else 0.0

    def cell(e: dict[str, object], key: str) -> str:
        v = e.get(key)
        assert isinstance(v, dict)
        lo, hi = v["accuracy_ci95"]
        return f"{v['accuracy']:.3f} [{lo:.2f}–{hi:.2f}] | {v['macro_f1']:.3f} |"

    print(f"\n{args.data.relative_to(ROOT) if args.data.is_relative_to(ROOT) else args.data}: "
          f"accuracy [95% Wilson interval] and macro-F1 per language\n")
    print("| lang | n | lexicon acc | lexicon F1 | English model acc | English model F1 | chance acc (uniform / "
          "majority) | chance F1 (uniform / majority) |")
    print("|---|---|---|---|---|---|---|---|")
    for e in table:
        ch = e["chance"]
        assert isinstance(ch, dict)
        lex = cell(e, "lexicon") if "lexicon" in e else "unscored (no lexicon) | — |"
        eng = cell(e, "english_model") if "english_model" in e else "— | — |"
        print(f"| {e['lang']} | {e['n']} | {lex} {eng} {ch['uniform_accuracy']:.3f} / {ch['majority_accuracy']:.3f} "
              f"| {ch['uniform_macro_f1']:.3f} / {ch['majority_macro_f1']:.3f} |")
    print(f"\nlexicon: load {t_load:.2f} s (first call), then {rate:.0f} texts/s over {len(texts)} texts "
          f"(one thread); models: {lexicon.model_name}")
    if args.json:
        args.json.write_text(json.dumps({"data": str(args.data), "table": table, "lexicon_texts_per_s": rate,
                                         "lexicon_load_s": t_load}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
