"""`earshot ingest` then `earshot search`/`stats` round-trip on Elasticsearch, through the real CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from earshot.cli import app
from store.elasticsearch import ElasticsearchStore
from tests.fixtures.es import es_store_kwargs

pytestmark = pytest.mark.es

ROWS = [
    {
        "source": "reddit",
        "source_id": "t3_a",
        "text": "Nordlys refund never arrived, terrible",
        "published_at": "2026-03-01T10:00:00Z",
        "url": "https://www.reddit.com/r/energy/a",
        "author": "kari",
    },
    {"source": "review", "text": "Great service from #Nordlys", "published_at": "2026-03-02T23:59:00Z", "rating": 5},
    {"source": "hn", "source_id": 42, "text": "Solvik raises prices again", "published_at": "2026-03-03T00:00:00Z"},
]


@pytest.fixture
def cli(es_url: str, es_index_prefix: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    from earshot.settings import get_settings

    monkeypatch.setenv("EARSHOT_ES_INDEX_PREFIX", es_index_prefix)
    monkeypatch.setenv("EARSHOT_LOG_LEVEL", "WARNING")
    for name, value in es_store_kwargs().items():
        if name in ("username", "password"):
            monkeypatch.setenv(f"EARSHOT_ES_{name.upper()}", str(value))
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str) -> object:
        return runner.invoke(app, ["--store", es_url, *args], catch_exceptions=False)

    yield invoke
    get_settings.cache_clear()
    with ElasticsearchStore(es_url, index_prefix=es_index_prefix, **es_store_kwargs()) as store:  # type: ignore[arg-type]
        store.drop()


def test_ingest_search_stats_round_trip_on_elasticsearch(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n{not json\n", encoding="utf-8")
    res = cli("ingest", str(path), "--no-sentiment")
    assert res.exit_code == 2, res.output  # the bad line is reported; good rows are kept
    assert "accepted 3, rejected 1; stored 3 (new 3" in res.stdout
    again = cli("ingest", str(path), "--no-sentiment")
    assert "stored 3 (new 0, unchanged 3)" in again.stdout

    res = cli("search", "nordlys", "--json")
    assert res.exit_code == 0, res.output
    found = [json.loads(line) for line in res.stdout.splitlines()]
    assert [m["source"] for m in found] == ["review", "reddit"]  # newest first; #Nordlys matches its word
    assert found[1]["site"] == "reddit.com" and found[1]["author"] == "kari"

    res = cli("search", "nordlys", "--since", "2026-03-02", "--until", "2026-03-02", "--json")
    assert [json.loads(x)["source"] for x in res.stdout.splitlines()] == ["review"]

    res = cli("stats", "--json")
    figures = json.loads(res.stdout)
    assert figures["total"] == 3 and figures["by_source"] == {"reddit": 1, "review": 1, "hn": 1}


def test_unreachable_elasticsearch_is_one_line_and_exit_2() -> None:
    res = CliRunner().invoke(app, ["--store", "http://127.0.0.1:9", "search", "acme"])
    assert res.exit_code == 2
    assert "cannot reach Elasticsearch at http://127.0.0.1:9" in res.output
    assert "Traceback" not in res.output
