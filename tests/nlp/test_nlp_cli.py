"""`earshot nlp score` and `earshot nlp eval` with the tiny model (no shipped weights read)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from earshot.cli import app

runner = CliRunner()


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]


def test_score_keeps_order_and_fields_and_flags_bad_lines(tiny_model_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(
        b'{"id": 1, "text": "good flight", "lang": "en"}\n'
        b"this is not json\n"
        b'{"id": 3, "text": "\xff\xfe broken utf8"}\n'
        b"\n"
        b"[1, 2]\n"
        b'{"id": 6, "body": "no text field"}\n'
        b'{"id": 7, "text": "guter Flug", "lang": "de", "extra": {"k": [1]}}\n'
        b'{"id": 8, "text": ""}\n'
        b'{"id": 9, "text": "awful service today", "lang": "en"}\n'
    )
    res = runner.invoke(app, ["nlp", "score", str(src), "--model", str(tiny_model_dir), "--device", "cpu",
                              "--no-detect-language"])
    assert res.exit_code == 0, res.output
    rows = _lines(res.stdout)
    assert len(rows) == 8  # the blank line is skipped, every other line answers in place
    assert rows[0]["id"] == 1 and rows[0]["label"] in {"negative", "neutral", "positive"}
    assert set(rows[0]["scores"]) == {"negative", "neutral", "positive"}
    assert rows[0]["model"].endswith("-int8") and rows[0]["lang"] == "en"
    assert rows[1]["error"].startswith("line 2: invalid JSON")
    assert rows[2]["error"].startswith("line 3: not valid UTF-8")
    assert "expected a JSON object" in rows[3]["error"]
    assert rows[4]["id"] == 6 and "field 'text' is missing" in rows[4]["error"]
    assert rows[5]["extra"] == {"k": [1]} and rows[5]["label"] is None
    assert rows[5]["unscored_reason"] == "no sentiment model for language 'de'"
    assert rows[6]["unscored_reason"] == "empty text"
    assert rows[7]["id"] == 9 and rows[7]["label"] is not None


def test_score_detects_language_when_missing(tiny_model_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(
        json.dumps({"text": "The flight was delayed again and the crew was rude to everyone"}) + "\n"
        + json.dumps({"text": "Der Flug war wieder verspätet und die Crew war unfreundlich"}) + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    res = runner.invoke(app, ["nlp", "score", str(src), "-o", str(out), "--model", str(tiny_model_dir),
                              "--device", "cpu"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [r["lang"] for r in rows] == ["en", "de"]
    assert rows[0]["label"] is not None and rows[1]["unscored_reason"] == "no sentiment model for language 'de'"


def test_score_missing_file_exits_2(tiny_model_dir: Path) -> None:
    res = runner.invoke(app, ["nlp", "score", "/no/such/file.jsonl", "--model", str(tiny_model_dir)])
    assert res.exit_code == 2
    assert "does not exist" in res.output


def test_eval_prints_metrics_and_confusion(tiny_model_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "gold.csv"
    data.write_text("text,label\ngood flight,positive\nawful flight,negative\nthe flight,neutral\n,neutral\n",
                    encoding="utf-8")
    res = runner.invoke(app, ["nlp", "eval", "--data", str(data), "--model", str(tiny_model_dir), "--device", "cpu"])
    assert res.exit_code != 0 and "line 5: empty text" in str(res.exception or res.output)
    data.write_text("text,label\ngood flight,positive\nawful flight,negative\nthe flight,neutral\n", encoding="utf-8")
    res = runner.invoke(app, ["nlp", "eval", "--data", str(data), "--model", str(tiny_model_dir), "--device", "cpu",
                              "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["n"] == 3
    assert sum(map(sum, report["confusion"]["matrix"])) == 3
    assert set(report["per_class"]) == {"negative", "neutral", "positive"}


def test_train_refuses_bad_options() -> None:
    res = runner.invoke(app, ["nlp", "train", "--epochs", "0"])
    assert res.exit_code != 0
    assert "epochs > 0" in str(res.exception or res.output)


def test_eval_dev_split_uses_only_held_out_rows(tiny_model_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "all.csv"
    rows = [f"text number {i} about the flight,{('negative', 'neutral', 'positive')[i % 3]}" for i in range(90)]
    data.write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    res = runner.invoke(app, ["nlp", "eval", "--data", str(data), "--model", str(tiny_model_dir), "--device", "cpu",
                              "--json", "--dev-split", "--dev-fraction", "0.2"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["n"] == 18
