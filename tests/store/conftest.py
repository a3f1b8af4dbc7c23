"""The ``store`` fixture: every `MentionStore` backend, opened and empty.

``memory`` and ``sqlite`` always run; ``es`` runs where the Elasticsearch
fixtures (tests/fixtures/es.py) can reach a server and skips otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from store.base import MentionStore
from store.memory import MemoryStore
from store.sqlite import SQLiteStore

BACKENDS = ["memory", "sqlite", pytest.param("es", marks=pytest.mark.es)]


def make_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MentionStore]:
    if kind == "es":
        yield request.getfixturevalue("es_store")
        return
    backend: MentionStore = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "earshot.db")
    with backend:
        yield backend


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MentionStore]:
    yield from make_store(request.param, request, tmp_path)
