"""Weight averaging of fine-tuned checkpoints ("model soups", Wortsman et al. 2022).

Runs fine-tuned from the same encoder with the same head initialisation
(``earshot nlp train --init-seed``) but other hyper-parameters or data order
usually sit in one basin of the loss, so the mean of their weights is a
model as fast as each of them and often more accurate than any. The greedy
soup adds runs best-first and keeps each only if the dev score does not drop.

    python -m nlp.soup --data train.csv --out models/soup runs/a runs/b runs/c
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from earshot.errors import InputError

if TYPE_CHECKING:
    from nlp.metrics import EvalReport

log = logging.getLogger(__name__)


def load_state(path: str | Path) -> dict[str, Any]:
    """The float32 weights of a checkpoint directory (safetensors)."""
    from safetensors.torch import load_file

    f = Path(path) / "model.safetensors"
    if not f.is_file():
        raise InputError(f"{str(path)!r} has no model.safetensors; give checkpoint directories from 'nlp train'")
    return {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(f)).items()}


def average(states: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Element-wise mean of floating-point weights; other tensors (ids, counters) from the first state."""
    if not states:
        raise InputError("nothing to average: give at least one checkpoint")
    first = states[0]
    for n, st in enumerate(states[1:], start=2):
        if st.keys() != first.keys() or any(st[k].shape != first[k].shape for k in first):
            raise InputError(f"checkpoint {n} has other weights than checkpoint 1: only runs of one architecture "
                             "(same base, same labels) can be averaged")
    out: dict[str, Any] = {}
    for k, v in first.items():
        out[k] = sum(st[k] for st in states) / len(states) if v.is_floating_point() else v.clone()
    return out


def greedy_soup(
    states: Mapping[str, dict[str, Any]], score: Callable[[dict[str, Any]], float]
) -> tuple[list[str], float, dict[str, float]]:
    """Add runs best-first while the averaged weights score no worse; returns (kept, score, singles)."""
    singles = {name: score(state) for name, state in states.items()}
    ranked = sorted(states, key=lambda name: singles[name], reverse=True)
    kept = [ranked[0]]
    best = singles[ranked[0]]
    for c in ranked[1:]:
        trial = score(average([states[k] for k in [*kept, c]]))
        log.info("event=soup_try candidate=%s score=%.4f best=%.4f", c, trial, best)
        if trial >= best:
            kept.append(c)
            best = trial
    return kept, best, singles


class DevSplit:
    """The dev split of a training CSV, tokenised once, and one model to load weights into and predict with.

    Rows are in the split's order, so ``slice(0, None, 2)`` / ``slice(1, None, 2)`` are its two halves.
    """

    def __init__(self, run: str, data: str, *, split_seed: int = 13, dev_fraction: float = 0.1, max_len: int = 80,
                 device: str = "cpu") -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from nlp.data import grouped_stratified_split, load_labelled_csv
        from nlp.textnorm import normalize_social

        texts, gold = load_labelled_csv(data)
        _, dev = grouped_stratified_split(texts, gold, dev_fraction=dev_fraction, seed=split_seed)
        tokenizer = AutoTokenizer.from_pretrained(run)
        self.tokenizer = tokenizer
        self.model = AutoModelForSequenceClassification.from_pretrained(run, dtype=torch.float32).to(device)
        self.labels = [self.model.config.id2label[i] for i in range(self.model.config.num_labels)]
        self.gold = [gold[i] for i in dev]
        self.encoded = tokenizer([normalize_social(texts[i]) for i in dev], truncation=True,
                                 max_length=max_len)["input_ids"]
        self.pad = tokenizer.pad_token_id or 0
        self.device = device

    def predict(self, state: dict[str, Any]) -> list[str]:
        """The label each dev row gets from these weights."""
        from nlp.train import predict_ids

        self.model.load_state_dict(state)
        return [self.labels[p] for p in predict_ids(self.model, self.encoded, self.pad, device=self.device)]

    def evaluate(self, predicted: list[str], part: slice = slice(None)) -> EvalReport:
        from nlp.metrics import evaluate_predictions

        return evaluate_predictions(self.gold[part], predicted[part], self.labels)


def main(argv: Sequence[str] | None = None) -> None:  # pragma: no cover - thin CLI over greedy_soup
    import argparse

    from nlp.train import resolve_device

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="checkpoint directories")
    ap.add_argument("--data", required=True, help="the training CSV; its dev split is the selection set")
    ap.add_argument("--out", required=True)
    ap.add_argument("--split-seed", type=int, default=13)
    ap.add_argument("--dev-fraction", type=float, default=0.1)
    ap.add_argument("--max-len", type=int, default=80)
    ap.add_argument("--device", default="auto")
    ns = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s",
                        stream=sys.stdout)
    dev = DevSplit(ns.runs[0], ns.data, split_seed=ns.split_seed, dev_fraction=ns.dev_fraction,
                   max_len=ns.max_len, device=resolve_device(ns.device))
    states = {run: load_state(run) for run in ns.runs}
    kept, best, singles = greedy_soup(states, lambda state: dev.evaluate(dev.predict(state)).macro_f1)
    dev.model.load_state_dict(average([states[k] for k in kept]))
    out = Path(ns.out)
    dev.model.save_pretrained(out, safe_serialization=True)
    dev.tokenizer.save_pretrained(out)
    (out / "soup.json").write_text(json.dumps({"kept": kept, "dev_macro_f1": best, "singles": singles}, indent=2)
                                   + "\n", encoding="utf-8")
    print(json.dumps({"kept": kept, "dev_macro_f1": best}, indent=2))


if __name__ == "__main__":  # pragma: no cover
    main()
