"""docker-compose.yml cannot run on machines without a Docker engine (ours): keep it consistent with
the local scripts and the code by test instead."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from shared.settings import SERVICES, PlatformSettings

REPO = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_runs_the_four_services_with_their_own_commands() -> None:
    for service in SERVICES:
        assert COMPOSE["services"][service]["command"] == ["python", "-m", f"services.{service}"]


def test_compose_settings_are_settings_the_code_reads() -> None:
    known = {f"MEDAID_{name.upper()}" for name in PlatformSettings.model_fields}
    env = COMPOSE["services"]["wallet"]["environment"]
    assert set(env) <= known
    assert env["MEDAID_KAFKA_BOOTSTRAP"] == "kafka:9092"
    for script in ("services.sh", "infra.sh"):
        used = set(re.findall(r"MEDAID_[A-Z_]+", (REPO / "deploy" / "local" / script).read_text()))
        script_only = {"MEDAID_STATE_DIR", "MEDAID_CACHE_DIR", "MEDAID_PYTHON"}
        refused = {"MEDAID_CLOCK_START"}  # the old clock setting: services.sh says it is gone (ADR 0011)
        assert used - script_only - refused <= known, script


def test_compose_uses_the_same_kafka_version_as_the_local_scripts() -> None:
    pom = (REPO / "deploy" / "kafka" / "pom.xml").read_text()
    version = re.search(r"<kafka.version>(.+)</kafka.version>", pom)
    assert version is not None
    assert COMPOSE["services"]["kafka"]["image"] == f"apache/kafka:{version.group(1)}"
    testcontainers = (REPO / "tests" / "support" / "infra.py").read_text()
    assert f'"apache/kafka:{version.group(1)}"' in testcontainers


def test_the_image_holds_what_the_setup_and_services_need() -> None:
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    for needed in ("shared", "services", "tools", "deploy/topics.toml", "deploy/postgres/bootstrap.sql", "uv.lock"):
        assert needed in dockerfile
    assert "tools.dbsetup" in " ".join(COMPOSE["services"]["setup"]["command"])
