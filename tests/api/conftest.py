"""Fixtures for the API tests: a seeded in-memory store, the app, a client and keys per scope."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from earshot.settings import Settings
from store.memory import MemoryStore
from tests.api.seed import seed_config, seed_store


@pytest.fixture
def store() -> Iterator[MemoryStore]:
    s = MemoryStore()
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
