"""Scoring JSON lines (``earshot nlp score``) and evaluating a scorer on a labelled CSV (``earshot nlp eval``).

JSON lines are read as bytes and decoded line by line, so one line of
invalid UTF-8 or broken JSON becomes an output line with an ``error`` field
in its place, and every other line is still scored, in input order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, TextIO

from earshot.models import Sentiment
from earshot.pipeline import LanguageDetector, SentimentScorer
from nlp.metrics import LABELS, EvalReport, evaluate_predictions


def _parse(line_no: int, raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return {"error": f"line {line_no}: not valid UTF-8 at byte {exc.start}; re-encode the file as UTF-8"}
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return {"error": f"line {line_no}: invalid JSON ({exc.msg} at column {exc.colno})"}
    if not isinstance(obj, dict):
        return {"error": f"line {line_no}: expected a JSON object with a 'text' field, got {type(obj).__name__}"}
    if not isinstance(obj.get("text"), str):
        obj["error"] = f"line {line_no}: field 'text' is missing or not a string"
    return obj


def score_records(
    records: list[dict[str, Any]], scorer: SentimentScorer, detector: LanguageDetector | None
) -> list[dict[str, Any]]:
    """Add ``lang``, ``label``, ``scores``, ``model`` (or ``unscored_reason``) to the records without ``error``."""
    todo = [r for r in records if "error" not in r]
    if not todo:
        return records
    texts = [r["text"] for r in todo]
    # A "lang" given in the input wins (an analyst re-scoring stored mentions already knows it).
    missing = [i for i, r in enumerate(todo) if not isinstance(r.get("lang"), str) or not r.get("lang")]
    langs = [str(r.get("lang") or "und") for r in todo]
    if detector is not None and missing:
        for i, lang in zip(missing, detector.detect([texts[i] for i in missing]), strict=True):
            langs[i] = lang
    results = scorer.score(texts, langs)
    for r, lang, res in zip(todo, langs, results, strict=True):
        r["lang"] = lang
        # The model that produced the score: a fallback (multilingual model, lexicon) names itself.
        r["model"] = res.model if isinstance(res, Sentiment) else scorer.model_name
        if isinstance(res, Sentiment):
            r["label"] = res.label
            r["scores"] = dict(res.scores)
            r.pop("unscored_reason", None)
        else:
            r["label"] = None
            r["scores"] = None
            r["unscored_reason"] = res
    return records


def iter_scored_lines(
    lines: Iterable[bytes], scorer: SentimentScorer, detector: LanguageDetector | None, chunk: int = 512
) -> Iterator[str]:
    """One JSON string per non-blank input line, in order; chunked so memory stays bounded on big files."""
    buf: list[dict[str, Any]] = []
    for n, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        buf.append(_parse(n, raw.rstrip(b"\r\n")))
        if len(buf) >= chunk:
            yield from (json.dumps(r, ensure_ascii=False) for r in score_records(buf, scorer, detector))
            buf = []
    if buf:
        yield from (json.dumps(r, ensure_ascii=False) for r in score_records(buf, scorer, detector))


def score_stream(src: BinaryIO, dst: TextIO, scorer: SentimentScorer, detector: LanguageDetector | None) -> int:
    n = 0
    for line in iter_scored_lines(src, scorer, detector):
        dst.write(line + "\n")
        n += 1
    dst.flush()
    return n


def evaluate_scorer(scorer: SentimentScorer, texts: list[str], gold: list[str]) -> tuple[EvalReport, int]:
    """Score ``texts`` as English and compare with ``gold``; unscorable texts count as wrong (predicted neutral).

    Returns the report and how many texts could not be scored.
    """
    results = scorer.score(texts, ["en"] * len(texts))
    pred: list[str] = []
    unscored = 0
    for res, g in zip(results, gold, strict=True):
        if isinstance(res, Sentiment):
            pred.append(res.label)
        else:
            unscored += 1
            # Counted as an error so the metric never looks better by skipping hard texts.
            pred.append(next(lab for lab in LABELS if lab != g))
    return evaluate_predictions(gold, pred), unscored
