"""The production-like stack (temporal-compose.yml + Dockerfile) as Docker Compose reads it.

Needs only the docker client with Compose (no engine): `docker compose` (v2) is preferred; Debian's
`docker-compose` (v1.29, a Python program) is the fallback, its YAML turned into JSON by its own
interpreter, which has PyYAML, so that the project needs no YAML library.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from workflows import search_attributes

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "temporal-compose.yml"
ONE_SHOT = {"migrate", "temporal-search-attributes"}
APP_ROLES = ("worker", "relay", "web", "migrate")  # the CloudManager image's services
REQUIRED = {
    "SECRET_KEY": "x" * 40,
    "POSTGRES_PASSWORD": "dummy-password",
    "APP_DB_PASSWORD": "dummy-app-password",
}
# Variables that would change what the file says, taken away so that the test reads the defaults.
OPTIONAL = (
    "CLOUDMANAGER_IMAGE",
    "TEMPORAL_NAMESPACE",
    "TEMPORAL_TASK_QUEUE",
    "WEB_PUBLISH",
    "TEMPORAL_UI_PUBLISH",
    "WORKER_REPLICAS",
)


@cache
def _compose() -> tuple[str, list[str]]:
    """("v2" | "v1", the command line that runs Compose), or skip when there is none."""
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            return "v2", [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy:
        return "v1", [legacy]
    pytest.skip("neither `docker compose` (v2 plugin) nor `docker-compose` is installed")


def _run_compose(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    _, command = _compose()
    clean = {k: v for k, v in os.environ.items() if k not in REQUIRED and k not in OPTIONAL}
    clean.update(env or {})
    # An empty env file: a developer's .env beside the compose file must not fill the blanks.
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    return subprocess.run(
        [*command, "--env-file", str(env_file), "-f", str(COMPOSE_FILE), *args],
        capture_output=True,
        text=True,
        env=clean,
        cwd=ROOT,
        check=False,
        timeout=60,
    )


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    tmp_path = tmp_path_factory.mktemp("compose")
    version, command = _compose()
    if version == "v2":
        result = _run_compose(tmp_path, "config", "--format", "json", env=REQUIRED)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)["services"]
    result = _run_compose(tmp_path, "config", env=REQUIRED)
    assert result.returncode == 0, result.stderr
    with open(command[0], "rb") as script:
        interpreter = script.readline(200).decode(errors="replace").strip().removeprefix("#!")
    if "python" not in interpreter:
        pytest.skip(f"docker-compose v1 at {command[0]} is not a Python script; cannot read it")
    as_json = subprocess.run(
        [
            *interpreter.split(),
            "-c",
            "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)",
        ],
        input=result.stdout,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(as_json.stdout)["services"]


def test_compose_file_is_valid(tmp_path: Path) -> None:
    result = _run_compose(tmp_path, "config", "-q", env=REQUIRED)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_secrets_are_required(tmp_path: Path, missing: str) -> None:
    given = {k: v for k, v in REQUIRED.items() if k != missing}
    result = _run_compose(tmp_path, "config", "-q", env=given)
    assert result.returncode != 0
    assert missing in result.stderr


def test_expected_services(services: dict[str, dict]) -> None:
    assert set(services) == {
        "postgresql",
        "temporal",
        "temporal-search-attributes",
        "temporal-ui",
        "migrate",
        "worker",
        "relay",
        "web",
    }


def test_every_long_running_service_has_a_healthcheck(services: dict[str, dict]) -> None:
    for name, service in services.items():
        if name in ONE_SHOT:
            assert service.get("restart") in (None, "no"), f"{name} is one-shot"
            continue
        healthcheck = service.get("healthcheck") or {}
        assert not healthcheck.get("disable"), f"{name} disables its healthcheck"
        assert healthcheck.get("test"), f"{name} has no healthcheck"


def test_worker_relay_web_and_migrate_share_the_image_built_from_the_dockerfile(
    services: dict[str, dict],
) -> None:
    images = {services[name]["image"] for name in APP_ROLES}
    assert len(images) == 1, images
    for name in APP_ROLES:
        build = services[name]["build"]
        assert Path(build["context"]).resolve() == ROOT
        assert build.get("dockerfile", "Dockerfile") == "Dockerfile"
    assert (ROOT / "Dockerfile").is_file()
    assert services["worker"]["command"] == ["cloudmanager", "worker"]
    assert services["web"]["command"] == ["cloudmanager", "web"]
    assert services["relay"]["command"][:2] == ["cloudmanager", "relay"]
    assert services["migrate"]["command"] == ["cloudmanager", "migrate"]


def test_app_starts_after_migrations_and_search_attributes(services: dict[str, dict]) -> None:
    worker = services["worker"]["depends_on"]
    web = services["web"]["depends_on"]
    for depends_on in (worker, web):
        assert depends_on["migrate"]["condition"] == "service_completed_successfully"
        assert depends_on["temporal"]["condition"] == "service_healthy"
    assert worker["temporal-search-attributes"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgresql"]["condition"] == "service_healthy"


def test_search_attribute_service_registers_exactly_ours(services: dict[str, dict]) -> None:
    service = services["temporal-search-attributes"]
    script = "\n".join([*(service.get("entrypoint") or []), *(service.get("command") or [])])
    registered = re.findall(r"search-attribute create --name (\w+) --type (\w+)", script)
    expected = [(key.name, key.indexed_value_type.name.title()) for key in search_attributes.ALL]
    assert sorted(registered) == sorted(expected)
    assert service["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_web_healthcheck_hits_healthz(services: dict[str, dict]) -> None:
    web = services["web"]
    test = " ".join(web["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/healthz" in test
    # Inside its container the app must listen on every interface to be reachable at all.
    assert web["environment"]["WEB_HOST"] == "0.0.0.0"  # noqa: S104
    assert str(web["environment"]["WEB_PORT"]) == "8000"
    assert any(str(port.get("target")) == "8000" for port in web["ports"])


def test_relay_starts_after_migrations_and_its_healthcheck_reads_its_heartbeat(
    services: dict[str, dict],
) -> None:
    relay = services["relay"]
    assert relay["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    heartbeat = relay["command"][relay["command"].index("--heartbeat") + 1]
    assert heartbeat in " ".join(relay["healthcheck"]["test"])


def test_app_runs_in_production_against_the_stack(services: dict[str, dict]) -> None:
    for name in APP_ROLES:
        env = services[name]["environment"]
        assert env["ENVIRONMENT"] == "production"
        assert env["SECRET_KEY"] == REQUIRED["SECRET_KEY"]
        assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
        assert env["DATABASE_URL"].endswith("@postgresql:5432/cloudmanager")
