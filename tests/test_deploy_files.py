"""The files a centre deploys Callboard with are valid for the tools that read them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).parents[1]
DEPLOY = ROOT / "deploy"
ROLES = {"ingest", "alerts", "dashboard", "simulator"}


def compose() -> dict:
    return YAML(typ="safe").load((DEPLOY / "compose.yaml").read_text())


def test_compose_file_follows_the_compose_specification():
    checked = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
                              str(DEPLOY / "compose.yaml")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_compose_runs_every_role_after_the_migrations_with_health_checks_and_restarts():
    services = compose()["services"]
    assert set(services) == {"postgres", "migrations"} | ROLES
    assert services["migrations"]["command"] == ["db", "migrate"]
    for name in ROLES - {"simulator"}:
        assert services[name]["depends_on"]["migrations"]["condition"] == "service_completed_successfully", name
    assert services["migrations"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name, service in services.items():
        assert service.get("restart") in ("unless-stopped", "always", "on-failure:3"), name
        if name != "migrations":  # a one-shot: the others wait for it to complete
            assert service["healthcheck"]["test"], name
    assert services["simulator"]["profiles"] == ["demo"]
    assert all("profiles" not in service for name, service in services.items() if name != "simulator")
    assert services["dashboard"]["command"] == ["dashboard", "--workers", "2"]


def test_compose_health_checks_ask_each_role_on_its_own_port():
    services = compose()["services"]
    for name, port in (("ingest", 8051), ("alerts", 8052), ("dashboard", 8050)):
        assert f"http://127.0.0.1:{port}/healthz" in " ".join(services[name]["healthcheck"]["test"]), name


def test_compose_keeps_secrets_in_files_the_settings_read():
    spec = compose()
    for name in ("migrations", "ingest", "alerts", "dashboard"):
        environment = spec["services"][name]["environment"]
        assert "DATABASE_URL" not in environment and environment["DATABASE_URL_FILE"] == "/run/secrets/database_url"
        for variable, value in environment.items():
            if variable.endswith("_FILE"):
                secret = value.removeprefix("/run/secrets/")
                assert secret in spec["services"][name]["secrets"] and "file" in spec["secrets"][secret], variable
    assert spec["services"]["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"


def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze is not installed here (it comes with systemd)")
    callboard = Path(sys.executable).parent / "callboard"
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    assert {unit.name for unit in units} >= {"callboard-ingest.service", "callboard-dashboard.service",
                                             "callboard-alerts.service"}
    for unit in units:  # as installed: the command where this checkout's is, since /opt/callboard is not
        (tmp_path / unit.name).write_text(unit.read_text().replace("/opt/callboard/bin/callboard", str(callboard)))
    verified = subprocess.run([analyze, "verify", *sorted(str(p) for p in tmp_path.glob("*.service"))],
                              capture_output=True, text=True)
    assert (verified.returncode, verified.stderr) == (0, ""), verified.stderr


def container_engine() -> str:
    for engine in ("docker", "podman"):
        path = shutil.which(engine)
        if path and subprocess.run([path, "info"], capture_output=True).returncode == 0:
            return path
    pytest.skip("no container engine runs here (`docker info` and `podman info` fail): the image is not built")


def test_image_builds_runs_as_an_unprivileged_user_and_answers_help():
    engine = container_engine()
    tag = f"callboard-test:{os.getpid()}"
    subprocess.run([engine, "build", "-f", str(DEPLOY / "Dockerfile"), "-t", tag, str(ROOT)], check=True)
    try:
        user = subprocess.run([engine, "run", "--rm", "--entrypoint", "id", tag, "-u"], capture_output=True,
                              text=True, check=True).stdout.strip()
        assert user != "0"
        shown = subprocess.run([engine, "run", "--rm", tag, "dashboard", "--help"], capture_output=True, text=True,
                               check=True).stdout
        assert "--workers" in shown
        size = int(subprocess.run([engine, "image", "inspect", tag, "--format", "{{.Size}}"], capture_output=True,
                                  text=True, check=True).stdout)
        print(f"image size: {size / 2**20:.0f} MiB")
    finally:
        subprocess.run([engine, "rmi", "-f", tag], capture_output=True)
