"""Labelled sentiment data: CSV loading with clear errors, and the grouped, stratified train/dev split."""

from __future__ import annotations

import csv
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

from earshot.errors import InputError
from nlp.metrics import LABELS
from nlp.textnorm import group_key


def load_labelled_csv(path: str | Path, labels: Sequence[str] = LABELS) -> tuple[list[str], list[str]]:
    """Read a ``text,label`` CSV (header row, UTF-8); refuse unknown labels and empty texts by line number."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"labelled data file {str(p)!r} does not exist; pass a CSV with columns text,label")
    texts: list[str] = []
    gold: list[str] = []
    allowed = set(labels)
    try:
        with p.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or not {"text", "label"} <= set(reader.fieldnames):
                raise InputError(
                    f"{str(p)!r}: header is {reader.fieldnames!r}; the CSV needs columns 'text' and 'label'"
                )
            for row in reader:
                text = (row.get("text") or "").strip()
                label = (row.get("label") or "").strip().lower()
                if label not in allowed:
                    raise InputError(
                        f"{str(p)!r} line {reader.line_num}: label {row.get('label')!r} is not one of {sorted(allowed)}"
                    )
                if not text:
                    raise InputError(f"{str(p)!r} line {reader.line_num}: empty text; remove the row")
                texts.append(text)
                gold.append(label)
    except UnicodeDecodeError as exc:
        raise InputError(f"{str(p)!r} is not UTF-8 ({exc}); re-save it as UTF-8") from exc
    except csv.Error as exc:
        raise InputError(f"{str(p)!r} is not valid CSV: {exc}") from exc
    if not texts:
        raise InputError(f"{str(p)!r} has no rows")
    return texts, gold


def grouped_stratified_split(
    texts: Sequence[str], labels: Sequence[str], *, dev_fraction: float = 0.1, seed: int = 13
) -> tuple[list[int], list[int]]:
    """Indices (train, dev): near-copies (same :func:`group_key`) land on one side; the label mix is kept.

    Groups are assigned greedily, in a seeded random order, to whichever side
    is furthest below its per-label quota; with ~30k rows and groups of 1-50
    rows the dev label mix ends within a fraction of a percent of the whole.
    """
    if not 0 < dev_fraction < 1:
        raise InputError(f"dev_fraction {dev_fraction!r} must be between 0 and 1")
    groups: dict[str, list[int]] = defaultdict(list)
    for i, t in enumerate(texts):
        groups[group_key(t) or f"__empty_{i}"].append(i)
    totals = Counter(labels)
    want = {lab: dev_fraction * n for lab, n in totals.items()}
    have: Counter[str] = Counter()
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    dev: list[int] = []
    train: list[int] = []
    for key in keys:
        members = groups[key]
        counts = Counter(labels[i] for i in members)
        # Deficit of the labels this group would add: positive = the dev side still needs them.
        need = sum(want[lab] - have[lab] for lab in counts) / len(counts)
        if need >= sum(counts.values()) / 2:
            dev.extend(members)
            have.update(counts)
        else:
            train.extend(members)
    return sorted(train), sorted(dev)
