"""ingest → search → stats through the real CLI (typer's CliRunner), on the memory and SQLite stores."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import store as store_pkg
from earshot.cli import app
from store.memory import MemoryStore

ROWS = [
    {
        "source": "reddit",
        "source_id": "t3_a",
        "text": "Nordlys refund never arrived, terrible",
        "published_at": "2026-03-01T10:00:00Z",
        "url": "https://www.reddit.com/r/energy/a",
        "author": "kari",
    },
    {
        "source": "review",
        "text": "Great service from Nordlys Energy",
        "published_at": "2026-03-02T23:59:00Z",
        "rating": 5,
        "title": "Happy",
    },
    {"source": "hn", "source_id": 42, "text": "Solvik raises prices again", "published_at": "2026-03-03T00:00:00Z"},
    {"source": "reddit", "source_id": "t3_b", "text": "weather is nice", "published_at": "2026-03-03T08:00:00Z"},
]

CONFIG = """
brands:
  - name: Nordlys
    aliases: [Nordlys Energy]
    competitors: [Solvik]
  - name: Solvik
    own: false
"""

BACKENDS = [
    "memory",
    *(["sqlite"] if importlib.util.find_spec("store.sqlite") else []),
    pytest.param("es", marks=pytest.mark.es),
]


@pytest.fixture(params=BACKENDS)
def cli(request, tmp_path, monkeypatch):
    """A runner whose every invocation sees the same store (memory: one shared instance)."""
    if request.param == "memory":
        shared = MemoryStore()
        monkeypatch.setattr(store_pkg, "open_store", lambda url: shared)
        url = "memory://"
    elif request.param == "es":
        pytest.importorskip("store.elasticsearch")
        url = request.getfixturevalue("es_url")
        # es_store drops this test's indices afterwards; the CLI opens its own store on the same prefix
        monkeypatch.setenv("EARSHOT_ES_INDEX_PREFIX", request.getfixturevalue("es_index_prefix"))
        request.getfixturevalue("es_store")
    else:
        url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("EARSHOT_LOG_LEVEL", "WARNING")
    from earshot.settings import get_settings

    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str, config: Path | None = None):
        head = ["--store", url] + (["--config", str(config)] if config else [])
        return runner.invoke(app, [*head, *args], catch_exceptions=False)

    yield invoke
    get_settings.cache_clear()


def _jsonl(tmp_path: Path, rows: list, extra_lines: tuple[str, ...] = ()) -> Path:
    p = tmp_path / "in.jsonl"
    p.write_text("\n".join([json.dumps(r) for r in rows] + list(extra_lines)) + "\n", encoding="utf-8")
    return p


def test_ingest_search_stats_round_trip(cli, tmp_path):
    res = cli("ingest", str(_jsonl(tmp_path, ROWS)), "--no-sentiment")
    assert res.exit_code == 0, res.output
    assert "accepted 4, rejected 0; stored 4 (new 4" in res.stdout

    again = cli("ingest", str(_jsonl(tmp_path, ROWS)), "--no-sentiment")
    assert "stored 4 (new 0, unchanged 4)" in again.stdout

    res = cli("search", "nordlys", "--json")
    assert res.exit_code == 0, res.output
    found = [json.loads(line) for line in res.stdout.splitlines()]
    assert [m["source"] for m in found] == ["review", "reddit"]  # newest first
    assert found[1]["site"] == "reddit.com" and found[1]["author"] == "kari"

    res = cli("search", "--source", "hn", "--json")
    (hn,) = [json.loads(line) for line in res.stdout.splitlines()]
    assert hn["source_id"] == "42"

    res = cli("search", "nordlys", "--since", "2026-03-02", "--until", "2026-03-02", "--json")
    assert [json.loads(x)["source"] for x in res.stdout.splitlines()] == ["review"]  # whole UTC day, inclusive

    res = cli("search", "nordlys OR solvik", "--limit", "2")
    assert res.exit_code == 0 and "2 of 3 mentions" in res.stdout

    res = cli("stats", "--json")
    figures = json.loads(res.stdout)
    assert figures["total"] == 4 and figures["by_source"] == {"reddit": 2, "review": 1, "hn": 1}
    assert figures["by_sentiment"] == {"unscored": 4}


def test_ingest_with_config_drops_unbranded_and_tags_brands(cli, tmp_path):
    cfg = tmp_path / "watch.yaml"
    cfg.write_text(CONFIG, encoding="utf-8")
    res = cli("ingest", str(_jsonl(tmp_path, ROWS)), "--no-sentiment", config=cfg)
    assert res.exit_code == 0 and "stored 3" in res.stdout and "filtered 1" in res.stdout
    res = cli("stats", "--json")
    assert json.loads(res.stdout)["by_brand"] == {"Nordlys": 2, "Solvik": 1}
    res = cli("search", "--brand", "Solvik", "--json")
    assert [json.loads(x)["brands"] for x in res.stdout.splitlines()] == [["Solvik"]]


def test_bad_lines_are_reported_with_numbers_and_good_rows_kept(cli, tmp_path):
    path = _jsonl(
        tmp_path,
        ROWS[:2],
        (
            "{not json",
            json.dumps({"source": "hn", "text": "x", "published_at": "last tuesday"}),
            json.dumps({"source": "hn", "text": "no date"}),
            "",
            json.dumps(["a", "list"]),
            json.dumps({"source": "review", "text": "ok", "published_at": "2026-03-01", "rating": 9}),
            json.dumps(ROWS[2]),
        ),
    )
    res = cli("ingest", str(path), "--no-sentiment")
    assert res.exit_code == 2
    errors = [line for line in res.stderr.splitlines() if line.startswith("error: ")]  # logs may precede
    assert errors[0].startswith(f"error: {path}:3: invalid JSON at column 2")
    assert errors[1].startswith(f"error: {path}:4: published_at:") and "'last tuesday'" in errors[1]
    assert errors[2] == f"error: {path}:5: missing required field(s) published_at"
    assert errors[3] == f"error: {path}:7: expected a JSON object, got list"
    assert errors[4].startswith(f"error: {path}:8: rating:") and "(got 9)" in errors[4]
    assert len(errors) == 5
    assert "accepted 3, rejected 5; stored 3" in res.stdout
    assert json.loads(cli("stats", "--json").stdout)["total"] == 3


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("search", "nordlys AND (refund"), "query syntax error at column"),
        (("search", "x", "--since", "yesterday-ish"), "--since 'yesterday-ish' is not a date"),
        (("search", "x", "--sentiment", "angry"), "--sentiment 'angry' is not one of"),
        (("search", "x", "--since", "2026-03-05", "--until", "2026-03-01"), "is not before --until"),
        (("ingest", "/nonexistent/file.jsonl"), "/nonexistent/file.jsonl: no such file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, args, needle):
    res = cli(*args)
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], res.stderr


def test_config_check_ok_and_errors(tmp_path):
    runner = CliRunner()
    example = Path(__file__).resolve().parents[2] / "config" / "example.yaml"
    res = runner.invoke(app, ["config", "check", str(example)])
    assert res.exit_code == 0 and res.stdout.startswith("ok: ")

    bad = tmp_path / "bad.yaml"
    bad.write_text("brands:\n  - name: A\n    query: 'a AND'\n", encoding="utf-8")
    res = runner.invoke(app, ["config", "check", str(bad)])
    assert res.exit_code == 2
    assert res.stderr.strip() == (
        f"error: {bad}: brands[0].query: query syntax error at column 6: "
        + res.stderr.split("column 6: ", 1)[1].strip()
    )
    assert len(res.stderr.strip().splitlines()) == 1

    bad.write_text("alerts:\n  rules:\n    - name: r\n      brand: Ghost\n      metric: volume\n", encoding="utf-8")
    res = runner.invoke(app, ["config", "check", str(bad)])
    assert res.exit_code == 2 and "'Ghost' is not a configured brand" in res.stderr

    bad.write_text("brands: [\n", encoding="utf-8")
    res = runner.invoke(app, ["config", "check", str(bad)])
    assert res.exit_code == 2 and "invalid YAML" in res.stderr and "line " in res.stderr


def test_committed_schema_matches_the_models_and_validates_the_example():
    import jsonschema
    import yaml

    from earshot.config import json_schema

    root = Path(__file__).resolve().parents[2]
    committed = json.loads((root / "config" / "schema.json").read_text(encoding="utf-8"))
    assert committed == json_schema(), "config/schema.json is stale: run `earshot config schema -o config/schema.json`"
    jsonschema.validate(yaml.safe_load((root / "config" / "example.yaml").read_text(encoding="utf-8")), committed)


def test_a_search_export_re_imports_as_is(cli, tmp_path):
    """`search --json` output is valid `ingest` input: derived fields are recomputed, not kept as raw metadata."""
    cli("ingest", str(_jsonl(tmp_path, ROWS)), "--no-sentiment")
    exported = tmp_path / "export.jsonl"
    exported.write_text(cli("search", "--json").stdout, encoding="utf-8")
    res = cli("ingest", str(exported), "--no-sentiment")
    assert res.exit_code == 0 and "accepted 4, rejected 0; stored 4 (new 0, unchanged 4)" in res.stdout
