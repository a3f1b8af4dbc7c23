"""Fixtures for the API tests: a seeded in-memory store, the app, a client and keys per scope."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from earshot.settings import Settings
from store import open_store
from store.base import MentionStore
from store.memory import MemoryStore
from tests.api.seed import seed_config, seed_store


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[MentionStore]:
    """Each endpoint test runs against the reference in-memory store and the SQLite backend."""
    s = MemoryStore() if request.param == "memory" else open_store(f"sqlite:///{tmp_path / 'api.db'}")
    s.open()
    yield s
    s.close()


@pytest.fixture
def keys(store: MemoryStore) -> dict[str, str]:
    return seed_store(store)


@pytest.fixture
def client(store: MemoryStore, keys: dict[str, str]) -> Iterator[TestClient]:
    app = create_app(Settings(env="test"), store=store, config=seed_config())
    with TestClient(app) as c:
        yield c


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def read_headers(keys: dict[str, str]) -> dict[str, str]:
    return auth(keys["read"])


@pytest.fixture
def write_headers(keys: dict[str, str]) -> dict[str, str]:
    return auth(keys["write"])
