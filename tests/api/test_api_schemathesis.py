"""Schemathesis over every operation of the OpenAPI document, against a seeded SQLite store.

Checks: no 5xx, status codes, content types, headers and bodies conform to the
schema, auth is not ignored. Bounded (a few dozen examples per operation) so it
runs in CI in well under a minute.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from api.app import create_app
from api.reporting import ReportSource
from api.security import new_api_key
from earshot.settings import Settings
from store import open_store
from store.base import MentionStore
from store.memory import MemoryStore
from tests.api.seed import seed_config, seed_store, write_survey

MAX_EXAMPLES = 15


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MentionStore, dict[str, str]]]:
    path = tmp_path_factory.mktemp("schemathesis") / "api.db"
    store = open_store(f"sqlite:///{path}")
    store.open()
    keys = seed_store(store)
    store.save_api_key(ADMIN_RECORD)
    survey = write_survey(path.parent)
    yield store, keys, ReportSource(survey, None)
    store.close()


# The schema is loaded at collection time from an app whose store is swapped for the
# seeded SQLite one before each test (routes read the store from app.state per request).
APP = create_app(Settings(env="test"), store=MemoryStore(), config=seed_config())
# A schema-valid request may still be refused with 400 for what a schema cannot say:
# a listening query's grammar, since after until, a foreign cursor, an unknown brand,
# too many buckets. Everything else schema-valid must be accepted.
# The key exists before collection so Schemathesis knows the credentials (and can also
# send requests without them); the seeded store receives its record.
ADMIN_KEY, ADMIN_RECORD = new_api_key("schemathesis", ["admin"])
CONFIG = SchemathesisConfig.from_dict(
    {
        "auth": {"openapi": {"ApiKey": {"bearer": ADMIN_KEY}}},
        "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "404", "409"]}},
    }
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG)


@pytest.fixture(autouse=True)
def _use_seeded_store(seeded):
    previous = APP.state.store, APP.state.report_source
    APP.state.store, _, APP.state.report_source = seeded
    yield
    APP.state.store, APP.state.report_source = previous




@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms(case):
    # HTML and PDF reports take seconds each to render (covered by test_api_reports.py); ask for JSON/XLSX.
    fmt = (case.query or {}).get("format")
    if case.operation.path.startswith("/api/v1/reports") and fmt in ("html", "pdf"):
        case.query = {**case.query, "format": "json" if fmt == "html" else "xlsx"}
    case.call_and_validate()
