"""Issue 29, item 6: a service told it runs in production refuses to start on an unsafe setting, and names it."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.settings import START_REFUSED_EXIT
from shared.signing import b64url, registry_entry
from tests.e2e.conftest import Platform
from tests.support.processes import start_process

pytestmark = pytest.mark.e2e

NOT_BEFORE, NOT_AFTER = (
    datetime.fromisoformat("2026-01-01T00:00:00+08:00"),
    datetime.fromisoformat("2100-01-01T00:00:00+08:00"),
)


def start(env: dict[str, str], module: str = "services.wallet") -> subprocess.CompletedProcess[str]:
    return start_process(module, env)


def named_settings(stderr: str) -> list[str]:
    """The settings a refusal names, one a line ("  MEDAID_X: what is wrong")."""
    return [line.strip().split(":")[0] for line in stderr.splitlines() if line.startswith("  MEDAID_")]


def production(platform: Platform, folder: Path) -> dict[str, str]:
    """The test stack's environment made production's: own passwords, TLS to PostgreSQL, key files of its own, an
    identity key of its own, real time; but Kafka as the test stack has it (SASL_PLAINTEXT)."""
    key = Ed25519PrivateKey.generate()
    registry = folder / "registry.json"
    entry = registry_entry("440000-2026a", "440000", key.public_key(), NOT_BEFORE, NOT_AFTER)
    registry.write_text(json.dumps({"keys": [entry]}))
    platform_key = folder / "platform-signing.json"
    platform_key.write_text(json.dumps({"platform-2026a": {"signs_for": "000000", "seed": b64url(b"p" * 32)}}))
    env = {k: v for k, v in platform.env.items() if k != "MEDAID_CLOCK_OFFSET_SECONDS"}
    return {
        **env,
        "MEDAID_ENVIRONMENT": "production",
        "MEDAID_KAFKA_PASSWORD": "the-wallets-own-kafka-password",
        "MEDAID_PG_PASSWORD": "the-wallets-own-postgres-password",
        "MEDAID_PG_SSLMODE": "verify-full",
        "MEDAID_IDENTITY_KEY": "an-identity-key-of-production-32-bytes-or-more",
        "MEDAID_KEY_REGISTRY_FILE": str(registry),
        "MEDAID_PLATFORM_SIGNING_KEY_FILE": str(platform_key),
        "MEDAID_CLOCK_OFFSET_SECONDS": "0",
        "MEDAID_METRICS_PORT": "0",
    }


def test_a_production_service_on_plaintext_sasl_exits_naming_the_setting(platform: Platform, tmp_path: Path) -> None:
    proc = start(production(platform, tmp_path))
    assert proc.returncode == START_REFUSED_EXIT, proc.stderr[-2000:]
    assert "MEDAID_ENVIRONMENT=production" in proc.stderr
    named = named_settings(proc.stderr)
    assert named == ["MEDAID_KAFKA_SECURITY_PROTOCOL"], proc.stderr
    assert "SASL_PLAINTEXT sends every record" in proc.stderr
    assert "service_started" not in proc.stdout


def test_a_production_service_on_the_local_stacks_settings_names_each_of_them(platform: Platform) -> None:
    """The test stack's own environment with only MEDAID_ENVIRONMENT changed: everything local is named."""
    proc = start({**platform.env, "MEDAID_ENVIRONMENT": "production", "MEDAID_METRICS_PORT": "0"})
    assert proc.returncode == START_REFUSED_EXIT, proc.stderr[-2000:]
    named = set(named_settings(proc.stderr))
    assert {
        "MEDAID_KAFKA_SECURITY_PROTOCOL",
        "MEDAID_IDENTITY_KEY",
        "MEDAID_KAFKA_PASSWORD",
        "MEDAID_PG_PASSWORD",
        "MEDAID_PG_SSLMODE",
        "MEDAID_PLATFORM_SIGNING_KEY_FILE",
    } <= named, proc.stderr


def test_a_production_console_names_the_platforms_unsafe_settings_and_its_own(platform: Platform) -> None:
    """The console joins the platform's checks with its own (services/console/settings.py): Secure cookies, the
    Host allow-list, the first operator's password file; all named in one refusal, before it serves anything."""
    env = {**platform.env, "MEDAID_ENVIRONMENT": "production", "MEDAID_CONSOLE_PORT": "0"}
    proc = start(env, "services.console")
    assert proc.returncode == START_REFUSED_EXIT, proc.stderr[-2000:]
    named = set(named_settings(proc.stderr))
    assert {
        "MEDAID_KAFKA_SECURITY_PROTOCOL",
        "MEDAID_CONSOLE_SECURE_COOKIES",
        "MEDAID_CONSOLE_ALLOWED_HOSTS",
        "MEDAID_CONSOLE_PASSWORD_FILE",
    } <= named, proc.stderr
