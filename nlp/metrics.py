"""Classification metrics for the sentiment model: accuracy, macro-F1, per-class P/R/F1, confusion matrix.

Plain Python (no scikit-learn at import) so ``earshot nlp eval`` and the
model card print the same figures the trainer selected on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

LABELS: tuple[str, ...] = ("negative", "neutral", "positive")


@dataclass
class ClassReport:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class EvalReport:
    """Figures for one labelled set; ``confusion[i][j]`` counts gold ``labels[i]`` predicted as ``labels[j]``."""

    labels: tuple[str, ...]
    n: int
    accuracy: float
    macro_f1: float
    per_class: dict[str, ClassReport] = field(default_factory=dict)
    confusion: list[list[int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "per_class": {
                k: {"precision": round(v.precision, 4), "recall": round(v.recall, 4), "f1": round(v.f1, 4),
                    "support": v.support}
                for k, v in self.per_class.items()
            },
            "confusion": {"labels": list(self.labels), "matrix": self.confusion},
        }

    def to_markdown(self) -> str:
        """Tables for the model card and ``earshot nlp eval``."""
        lines = [
            f"accuracy **{self.accuracy:.4f}**, macro-F1 **{self.macro_f1:.4f}** on {self.n} texts",
            "",
            "| class | precision | recall | F1 | support |",
            "|---|---|---|---|---|",
        ]
        for name, r in self.per_class.items():
            lines.append(f"| {name} | {r.precision:.3f} | {r.recall:.3f} | {r.f1:.3f} | {r.support} |")
        lines += ["", "Confusion matrix (rows = gold, columns = predicted):", ""]
        lines.append("| gold \\ pred | " + " | ".join(self.labels) + " |")
        lines.append("|---" * (len(self.labels) + 1) + "|")
        for name, row in zip(self.labels, self.confusion, strict=True):
            lines.append(f"| {name} | " + " | ".join(str(c) for c in row) + " |")
        return "\n".join(lines)


def evaluate_predictions(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str] = LABELS) -> EvalReport:
    """Compare two equally long label sequences."""
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} labels but pred has {len(pred)}")
    index = {name: i for i, name in enumerate(labels)}
    k = len(labels)
    confusion = [[0] * k for _ in range(k)]
    for g, p in zip(gold, pred, strict=True):
        if g not in index or p not in index:
            raise ValueError(f"label outside {list(labels)}: gold={g!r} pred={p!r}")
        confusion[index[g]][index[p]] += 1
    n = len(gold)
    correct = sum(confusion[i][i] for i in range(k))
    per_class: dict[str, ClassReport] = {}
    for i, name in enumerate(labels):
        tp = confusion[i][i]
        predicted = sum(confusion[r][i] for r in range(k))
        support = sum(confusion[i])
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = ClassReport(precision, recall, f1, support)
    macro = sum(r.f1 for r in per_class.values()) / k if k else 0.0
    return EvalReport(tuple(labels), n, correct / n if n else 0.0, macro, per_class, confusion)
