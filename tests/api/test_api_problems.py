"""Every error is RFC 9457 problem+json, without stack traces or exception text."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from earshot.errors import StoreError
from earshot.settings import Settings
from store.memory import MemoryStore
from tests.api.seed import seed_config, seed_store

REQUIRED = {"type", "title", "status"}


def _is_problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert set(body) >= REQUIRED and body["status"] == status
    assert "Traceback" not in resp.text
    return body


def test_http_errors_are_problems(client: TestClient, read_headers, write_headers):
    _is_problem(client.get("/api/v1/nowhere", headers=read_headers), 404)
    body = _is_problem(client.post("/api/v1/mentions", headers=read_headers), 405)
    assert "POST" in body["detail"]
    body = _is_problem(client.get("/api/v1/mentions", params={"limit": "many"}, headers=read_headers), 422)
    assert body["errors"][0]["loc"] == ["query", "limit"] and "limit" in body["detail"]
    body = _is_problem(client.patch("/api/v1/alerts/al0", content=b"{not json",
                                    headers={**write_headers, "Content-Type": "application/json"}), 422)
    assert body["errors"][0]["type"] == "json_invalid"


class BrokenStore(MemoryStore):
    failure: Exception = RuntimeError("secret connection string postgres://admin:hunter2@db")

    def top(self, flt, field, size=10):  # type: ignore[no-untyped-def]
        raise self.failure


def test_store_and_unexpected_errors_leak_nothing(caplog):
    store = BrokenStore()
    keys = seed_store(store, n=5)
    app = create_app(Settings(env="test"), store=store, config=seed_config())
    headers = {"Authorization": f"Bearer {keys['read']}"}
    with TestClient(app, raise_server_exceptions=False) as client:
        resp = client.get("/api/v1/stats/top", headers=headers)
        body = _is_problem(resp, 500)
        assert "hunter2" not in resp.text and "RuntimeError" not in resp.text
        assert body["type"].endswith("/internal")
        assert "hunter2" not in caplog.text and "Traceback" not in caplog.text
        assert "error_type=RuntimeError" in caplog.text

        store.failure = StoreError("cannot reach http://elastic:changeme@es:9200")
        resp = client.get("/api/v1/stats/top", headers=headers)
        _is_problem(resp, 503)
        assert "changeme" not in resp.text and "es:9200" not in resp.text


def test_openapi_documents_problem_responses(client: TestClient):
    spec = client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        for op in item.values():
            for code, response in op["responses"].items():
                if int(code) >= 400:
                    assert list(response["content"]) == ["application/problem+json"], (path, code)
    assert "text/csv" in spec["paths"]["/api/v1/mentions"]["get"]["responses"]["200"]["content"]


def test_docs_page(client: TestClient):
    resp = client.get("/docs")
    assert resp.status_code == 200 and "swagger-ui" in resp.text.lower()


def test_unknown_query_parameters_are_refused(client: TestClient, read_headers):
    body = _is_problem(client.get("/api/v1/mentions", params={"brands": "Acme"}, headers=read_headers), 400)
    assert "'brands'" in body["detail"] and "brand" in body["detail"]
    assert client.get("/healthz", params={"x": "1"}).status_code == 400


def test_openapi_is_documented(client: TestClient):
    """Every operation has a summary and description, every parameter a description,
    every JSON body an example, and the bearer scheme is declared."""
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    schemas = spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary") and op.get("description"), where
            for param in op.get("parameters", []):
                assert param.get("description"), f"{where} ?{param['name']}"
            for code, response in op["responses"].items():
                for content in response.get("content", {}).values():
                    ref = content.get("schema", {}).get("$ref")
                    if ref and "example" not in content:
                        name = ref.rsplit("/", 1)[1]
                        assert "examples" in schemas[name] or "example" in schemas[name], (where, code, name)
