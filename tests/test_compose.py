"""The compose deployment stays valid and wired, without Docker.

``docker-compose.yml`` is checked against a subset of the Compose
Specification's JSON schema (``tests/data/compose-spec.json``), before and
after variable interpolation done the way Compose does it, and its wiring is
checked: services, required secrets, healthchecks, start order, loopback-only
ports, the read-only config mount. The Dockerfile and .dockerignore get the
checks a reviewer would make.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
SCHEMA = Path(__file__).parent / "data" / "compose-spec.json"

_VAR = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


class MissingVariable(Exception):
    pass


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose-style interpolation: ``${V}``, ``${V:-d}``, ``${V-d}``, ``${V:?msg}``, ``${V?msg}``, ``$$``."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(m: re.Match[str]) -> str:
        name = m.group("name") or m.group("bare")
        op, arg = m.group("op"), m.group("arg") or ""
        present = name in env
        empty = not env.get(name)
        if op in (":?", "?") and (not present or (op == ":?" and empty)):
            raise MissingVariable(f"{name}: {arg}")
        if op in (":-", "-") and (not present or (op == ":-" and empty)):
            return arg
        return env.get(name, "")

    parts = value.split("$$")
    return "$".join(_VAR.sub(one, p) for p in parts)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


ENV = {"ELASTIC_PASSWORD": "a-long-random-password"}


def _errors(validator: jsonschema.Draft7Validator, doc: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def test_compose_file_matches_the_compose_schema(
    compose: dict[str, Any], validator: jsonschema.Draft7Validator
) -> None:
    assert _errors(validator, compose) == []
    assert _errors(validator, interpolate(compose, ENV)) == []


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        (("services", "api", "depends_on", "elasticsearch", "condition"), "service_ready"),
        (("services", "api", "healthcheck", "interval"), 10),
        (("services", "api", "restart_policy"), "always"),
    ],
)
def test_schema_rejects_broken_files(
    compose: dict[str, Any], validator: jsonschema.Draft7Validator, path: tuple[str, ...], bad: Any
) -> None:
    broken = json.loads(json.dumps(compose))
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = bad
    assert _errors(validator, broken)


def test_services_and_start_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"elasticsearch", "api", "worker"}
    for name in ("api", "worker"):
        assert services[name]["depends_on"] == {"elasticsearch": {"condition": "service_healthy"}}
        assert services[name]["build"]["dockerfile"] == "Dockerfile"
    assert services["api"]["command"][:2] == ["earshot", "serve"]
    assert services["worker"]["command"] == ["earshot", "worker"]


def test_every_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        check = svc.get("healthcheck")
        assert check and check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert check.get("interval") and check.get("retries"), name
    es_check = " ".join(compose["services"]["elasticsearch"]["healthcheck"]["test"])
    assert "_cluster/health" in es_check and "$${ELASTIC_PASSWORD}" in es_check  # expanded in the container
    assert "/readyz" in " ".join(compose["services"]["api"]["healthcheck"]["test"])


def test_elasticsearch_is_secured_single_node_with_volume_and_memory_limit(compose: dict[str, Any]) -> None:
    es = compose["services"]["elasticsearch"]
    env = es["environment"]
    assert es["image"].startswith("docker.elastic.co/elasticsearch/elasticsearch:${ES_VERSION:-8.")
    assert env["discovery.type"] == "single-node"
    assert env["xpack.security.enabled"] == "true"
    assert env["ELASTIC_PASSWORD"].startswith("${ELASTIC_PASSWORD:?")
    volume = es["volumes"][0]
    assert volume["type"] == "volume" and volume["source"] in compose["volumes"]
    assert volume["target"] == "/usr/share/elasticsearch/data"
    assert es["deploy"]["resources"]["limits"]["memory"]
    assert "-Xmx" in env["ES_JAVA_OPTS"]


def test_required_secrets_fail_fast_and_none_is_written_down(compose: dict[str, Any]) -> None:
    with pytest.raises(MissingVariable, match="ELASTIC_PASSWORD"):
        interpolate(compose, {})
    secretish = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY", re.I)
    for name, svc in compose["services"].items():
        for key, value in svc.get("environment", {}).items():
            if secretish.search(key):
                # Only ever an interpolation from the host, or passed through (null).
                assert value is None or re.fullmatch(r"\$\{[A-Z_]+(:\?[^}]*)?\}", value), (name, key, value)
    app_env = interpolate(compose, ENV)["services"]["api"]["environment"]
    assert app_env["EARSHOT_ES_PASSWORD"] == ENV["ELASTIC_PASSWORD"]
    assert app_env["EARSHOT_STORE"] == "http://elasticsearch:9200"
    assert app_env["EARSHOT_ENV"] == "production"
    # Optional credentials are passed through, never set to "" (production refuses empty secrets).
    assert app_env["EARSHOT_REDDIT_CLIENT_SECRET"] is None


def test_ports_listen_on_loopback_only(compose: dict[str, Any]) -> None:
    published = 0
    for name, svc in interpolate(compose, ENV)["services"].items():
        for port in svc.get("ports", []):
            published += 1
            assert isinstance(port, str) and port.startswith("127.0.0.1:"), (name, port)
    assert published == 2  # elasticsearch and api; the worker publishes nothing


def test_config_is_mounted_read_only(compose: dict[str, Any]) -> None:
    for name in ("api", "worker"):
        svc = compose["services"][name]
        mounts = [v for v in svc["volumes"] if isinstance(v, dict) and v["target"] == "/etc/earshot"]
        assert mounts and mounts[0]["read_only"] is True and mounts[0]["type"] == "bind", name
        assert svc["environment"]["EARSHOT_CONFIG"].startswith("/etc/earshot/")


def test_dockerfile_cpu_torch_first_non_root_model_baked_in() -> None:
    text = (ROOT / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert lines[0] == "FROM python:3.11-slim"
    torch = next(i for i, line in enumerate(lines) if "torch==" in line)
    assert "--index-url https://download.pytorch.org/whl/cpu" in lines[torch]
    project = next(i for i, line in enumerate(lines) if re.search(r"pip install .*\.\[", line))
    assert torch < project
    assert any(line.startswith("COPY nlp/") for line in lines)
    assert "test -d nlp/model" in text
    user = [line for line in lines if line.startswith("USER ")]
    assert user and not user[-1].split()[1].startswith(("root", "0"))
    assert "HF_HUB_OFFLINE=1" in text


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    ignored = {
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip() and line[0] != "#"
    }
    assert {".git", ".venv", ".env", "*.db"} <= ignored
    assert not any(p.startswith("nlp/model") for p in ignored)
