"""The deployment files: docker-compose.yml validates and is wired together; the Dockerfile
builds the API the way the README says (CPU torch, non-root, healthcheck on /readyz)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from qa.config import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
_VAR = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


def _defaults(value: Any) -> Any:
    """Compose interpolation with every variable unset: `${X:-default}` -> default."""
    if isinstance(value, str):
        return _VAR.sub(lambda m: m.group(2) or "", value)
    if isinstance(value, list):
        return [_defaults(v) for v in value]
    if isinstance(value, dict):
        return {k: _defaults(v) for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(raw: dict[str, Any]) -> dict[str, Any]:
    return _defaults(raw["services"])


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> named volume (or host path)."""
    return {v.split(":")[1]: v.split(":")[0] for v in service.get("volumes", [])}


def _test_command(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


def test_docker_compose_config_accepts_the_file() -> None:
    """`docker-compose config` rejects unknown keys and bad types (CI installs the binary)."""
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (apt-get install docker-compose)")
    result = subprocess.run(
        [binary, "-f", str(COMPOSE), "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_stack_has_its_services(services: dict[str, Any], raw: dict[str, Any]) -> None:
    assert {"api", "chroma", "llm", "ingest"} <= set(services)
    assert services["api"]["build"] in (".", {"context": "."})
    assert services["chroma"]["image"].startswith("chromadb/chroma:")
    assert "llama.cpp:server" in services["llm"]["image"]
    declared = set(raw.get("volumes") or {})
    for name, service in services.items():
        for source in _mounts(service).values():
            assert source in declared, f"{name} mounts {source!r}, not a declared named volume"


def test_api_waits_for_healthy_dependencies(services: dict[str, Any]) -> None:
    depends = services["api"]["depends_on"]
    assert depends["chroma"]["condition"] == "service_healthy"
    assert depends["llm"]["condition"] == "service_healthy"
    assert depends["ingest"]["condition"] == "service_completed_successfully"
    assert services["ingest"]["depends_on"]["chroma"]["condition"] == "service_healthy"
    for name in ("api", "chroma", "llm"):
        assert services[name]["healthcheck"]["test"], f"{name} has no healthcheck"
    assert "/readyz" in _test_command(services["api"])
    assert "/api/v2/heartbeat" in _test_command(services["chroma"])
    assert "/health" in _test_command(services["llm"])


def test_env_points_the_api_at_chroma_and_the_llm(services: dict[str, Any]) -> None:
    env = _env(services["api"])
    assert env["QA_LLM_BACKEND"] == "openai"
    chroma = urlparse(env["QA_CHROMA_URL"])
    assert (chroma.hostname, chroma.port) == ("chroma", 8000)
    assert "8000" in _test_command(services["chroma"])
    llm = urlparse(env["QA_LLM_BASE_URL"])
    llm_env = _env(services["llm"])
    assert (llm.hostname, llm.port, llm.path) == ("llm", int(llm_env["LLAMA_ARG_PORT"]), "/v1")
    assert llm_env["LLAMA_ARG_HOST"] == "0.0.0.0"
    assert str(llm.port) in _test_command(services["llm"])


def test_the_model_is_named_in_one_variable(raw: dict[str, Any]) -> None:
    api_env = _env(raw["services"]["api"])
    llm_env = _env(raw["services"]["llm"])
    values = {api_env["QA_LLM_MODEL"], llm_env["LLAMA_ARG_HF_REPO"], llm_env["LLAMA_ARG_ALIAS"]}
    assert len(values) == 1, "the API, the server and its alias must name the same model"
    match = _VAR.fullmatch(values.pop())
    assert match and match.group(1) == "LLM_MODEL" and match.group(2)


def test_qa_variables_are_valid_settings(services: dict[str, Any]) -> None:
    """Settings forbids unknown QA_ variables: a typo here would stop the container."""
    for name in ("api", "ingest"):
        env = _env(services[name])
        values = {k.removeprefix("QA_").lower(): v for k, v in env.items() if k.startswith("QA_")}
        unknown = set(values) - set(Settings.model_fields)
        assert not unknown, f"{name}: unknown settings {unknown}"
        settings = Settings.model_validate(values)
        assert settings.chroma_url == "http://chroma:8000"


def test_replicas_and_ingest_share_the_index_state(services: dict[str, Any]) -> None:
    api, ingest = services["api"], services["ingest"]
    env = _env(api)
    assert _env(ingest) == env
    index_dir = env["QA_INDEX_DIR"]
    assert _mounts(api)[index_dir] == _mounts(ingest)[index_dir]
    assert _mounts(api)[env["QA_CORPUS_DIR"]] == _mounts(ingest)[env["QA_CORPUS_DIR"]]
    assert Settings.model_validate({"index_dir": index_dir}).db_url.startswith(
        f"sqlite:///{index_dir}"
    )
    assert env["QA_RECORD_DB_URL"].startswith(f"sqlite:////{index_dir.lstrip('/')}/")
    assert _mounts(services["chroma"])["/data"] == "chroma-data"
    assert _mounts(services["llm"])[_env(services["llm"])["LLAMA_CACHE"]] == "llm-models"


def test_api_publishes_its_port(services: dict[str, Any]) -> None:
    ports = [str(p) for p in services["api"]["ports"]]
    assert any(p.endswith(":8000") for p in ports), ports
    assert "--host" in services["api"]["command"] and "0.0.0.0" in services["api"]["command"]
    assert not services["chroma"].get("ports"), "Chroma stays on the internal network"


def test_dockerfile_builds_a_cpu_non_root_image_with_a_readiness_check() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    assert "download.pytorch.org/whl/cpu" in text and "+cpu" in text
    user = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert user and user[-1] not in {"root", "0"}
    healthcheck = re.search(r"^HEALTHCHECK .*?(?<!\\)\n", text, re.M | re.S)
    assert healthcheck and "/readyz" in healthcheck.group()
    assert re.search(r'^CMD \["qa", "serve", "--host", "0.0.0.0"', text, re.M)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", "index", ".cache"} <= set(ignored)


def test_the_probed_paths_exist_in_the_app() -> None:
    from qa.api import create_app
    from qa.api.errors import flat_routes

    paths = {getattr(route, "path", "") for route in flat_routes(create_app(Settings()).routes)}
    assert {"/readyz", "/healthz"} <= paths
