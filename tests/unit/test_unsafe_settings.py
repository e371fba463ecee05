"""Issue 29, item 6: a production process names every unsafe setting it was given, and does not start on any."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from shared.settings import (
    LOCAL_IDENTITY_KEY,
    PlatformSettings,
    UnsafeSettingsError,
    refuse_unsafe_settings,
    state_dir,
    unsafe_settings,
)
from shared.signing import b64url, registry_entry
from tests.unit.test_signing import YEAR


def _key_files(folder: Path, suffix: str = "2026a") -> dict[str, str]:
    """A registry and a platform key file as production would have them: nothing a local stack made."""
    registry = folder / f"registry-{suffix}.json"
    key = Ed25519PrivateKey.generate()
    registry.write_text(json.dumps({"keys": [registry_entry(f"440000-{suffix}", "440000", key.public_key(), *YEAR)]}))
    platform = folder / f"platform-{suffix}.json"
    platform.write_text(json.dumps({f"platform-{suffix}": {"signs_for": "000000", "seed": b64url(b"s" * 32)}}))
    return {"key_registry_file": str(registry), "platform_signing_key_file": str(platform)}


def production(folder: Path, **changes: Any) -> PlatformSettings:
    """Settings a production service may start with, but for `changes`."""
    safe: dict[str, Any] = {
        "environment": "production",
        "kafka_security_protocol": "SASL_SSL",
        "kafka_password": SecretStr("a-kafka-password-of-its-own"),
        "pg_password": SecretStr("a-postgres-password-of-its-own"),
        "pg_sslmode": "verify-full",
        "identity_key": SecretStr("i" * 32),
        "console_signing_keys_file": _key_files(folder, "console")["platform_signing_key_file"],
        "clock_offset_seconds": 0.0,
        "fault_inject": None,
        "catch_up": True,
        "trusted_senders": "",
        "national_operators": "110102",
        **_key_files(folder),
    }
    return PlatformSettings(**{**safe, **changes})


def names(settings: PlatformSettings, process: str = "wallet") -> list[str]:
    return [name for name, _problem in unsafe_settings(settings, process)]


def test_safe_production_settings_start(tmp_path: Path) -> None:
    assert unsafe_settings(production(tmp_path), "wallet") == []
    assert unsafe_settings(production(tmp_path), "console") == []
    refuse_unsafe_settings(production(tmp_path), "payment")


@pytest.mark.parametrize(
    ("changes", "setting", "says"),
    [
        ({"kafka_security_protocol": "SASL_PLAINTEXT"}, "MEDAID_KAFKA_SECURITY_PROTOCOL", "in clear"),
        ({"identity_key": SecretStr(LOCAL_IDENTITY_KEY)}, "MEDAID_IDENTITY_KEY", "local default"),
        ({"identity_key": SecretStr("short")}, "MEDAID_IDENTITY_KEY", "shorter than 32 bytes"),
        ({"kafka_password": None}, "MEDAID_KAFKA_PASSWORD", "every role's password"),
        ({"kafka_password": SecretStr("short")}, "MEDAID_KAFKA_PASSWORD", "shorter than 16"),
        ({"pg_password": None}, "MEDAID_PG_PASSWORD", "every role's password"),
        ({"pg_password": SecretStr("medaid-admin")}, "MEDAID_PG_PASSWORD", "written in this repository"),
        ({"pg_sslmode": None}, "MEDAID_PG_SSLMODE", "unset"),
        ({"pg_sslmode": "require"}, "MEDAID_PG_SSLMODE", "checked certificate"),
        ({"key_registry_file": None}, "MEDAID_KEY_REGISTRY_FILE", "local stack's file is used"),
        ({"platform_signing_key_file": None}, "MEDAID_PLATFORM_SIGNING_KEY_FILE", "local stack's file is used"),
        ({"clock_offset_seconds": 3600.0}, "MEDAID_CLOCK_OFFSET_SECONDS", "real time"),
        ({"fault_inject": "relay_exit_before_publish"}, "MEDAID_FAULT_INJECT", "crash tests"),
        ({"catch_up": False}, "MEDAID_CATCH_UP", "stale copies"),
        ({"signature_window_seconds": 86400.0}, "MEDAID_SIGNATURE_WINDOW_SECONDS", "backdated"),
        ({"key_registry_reload_seconds": 3600.0}, "MEDAID_KEY_REGISTRY_RELOAD_SECONDS", "revocation would wait"),
        ({"kafka_username": "admin"}, "MEDAID_KAFKA_USERNAME", "its own principal"),
        ({"trusted_senders": "110000"}, "MEDAID_TRUSTED_SENDERS", "never a province's"),
        ({"national_operators": "440000"}, "MEDAID_NATIONAL_OPERATORS", "never a province's"),
        ({"trusted_senders": "110102"}, "MEDAID_NATIONAL_OPERATORS", "shares a code"),
    ],
)
def test_each_unsafe_setting_is_named(tmp_path: Path, changes: dict[str, Any], setting: str, says: str) -> None:
    settings = production(tmp_path, **changes)
    found = unsafe_settings(settings, "wallet")
    assert [name for name, _ in found] == [setting], found
    assert says in found[0][1]
    with pytest.raises(UnsafeSettingsError, match=setting) as refused:
        refuse_unsafe_settings(settings, "wallet")
    assert refused.value.unsafe == found
    assert unsafe_settings(settings.model_copy(update={"environment": "local"}), "wallet") == []


def test_every_unsafe_setting_is_named_at_once(tmp_path: Path) -> None:
    settings = production(tmp_path, kafka_security_protocol="SASL_PLAINTEXT", pg_sslmode=None, kafka_password=None)
    assert names(settings) == ["MEDAID_KAFKA_SECURITY_PROTOCOL", "MEDAID_KAFKA_PASSWORD", "MEDAID_PG_SSLMODE"]


def test_a_local_stacks_secrets_and_keys_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever a local stack made: its passwords, its key files (in its state folder), keys tools.keys made."""
    local = tmp_path / "stack"
    monkeypatch.setenv("MEDAID_STATE_DIR", str(local))
    assert state_dir() == local
    (local / "secrets").mkdir(parents=True)
    (local / "secrets" / "kafka.json").write_text(json.dumps({"wallet": "a-local-kafka-password"}))
    (local / "secrets" / "postgres.json").write_text(json.dumps({"wallet": "a-local-pg-password!"}))
    in_stack = _key_files(local / "secrets")
    settings = production(
        tmp_path,
        kafka_password=SecretStr("a-local-kafka-password"),
        pg_password=SecretStr("a-local-pg-password!"),
        **in_stack,
    )
    found = dict(unsafe_settings(settings, "wallet"))
    assert "local stack's password" in found["MEDAID_KAFKA_PASSWORD"]
    assert "local stack's password" in found["MEDAID_PG_PASSWORD"]
    assert "local stack's file" in found["MEDAID_KEY_REGISTRY_FILE"]
    assert "local stack's file" in found["MEDAID_PLATFORM_SIGNING_KEY_FILE"]

    # copied elsewhere, a local stack's keys are still theirs: tools.keys names them <code>-local
    elsewhere = tmp_path / "copied"
    elsewhere.mkdir()
    registry = elsewhere / "registry.json"
    entry = registry_entry("440000-local", "440000", Ed25519PrivateKey.generate().public_key(), *YEAR)
    registry.write_text(json.dumps({"keys": [entry]}))
    platform = elsewhere / "platform.json"
    platform.write_text(json.dumps({"platform-local": {"signs_for": "000000", "seed": b64url(b"s" * 32)}}))
    copied = production(tmp_path, key_registry_file=str(registry), platform_signing_key_file=str(platform))
    found = dict(unsafe_settings(copied, "wallet"))
    assert "440000-local" in found["MEDAID_KEY_REGISTRY_FILE"]
    assert "platform-local" in found["MEDAID_PLATFORM_SIGNING_KEY_FILE"]


def test_the_console_has_its_signing_key_checked_and_joins_its_own_checks(tmp_path: Path) -> None:
    """The console signs a month close with the national operator's key: unset, it would be the local stack's.
    Its own settings (cookies, Host allow-list, operators' passwords) come as more checks."""
    settings = production(tmp_path, console_signing_keys_file=None)
    assert names(settings, "console") == ["MEDAID_CONSOLE_SIGNING_KEYS_FILE"]
    assert names(settings, "wallet") == [], "a service does not hold the console's key"

    def cookies(s: PlatformSettings) -> list[tuple[str, str]]:
        return [] if s.console_secure_cookies else [("MEDAID_CONSOLE_SECURE_COOKIES", "false")]

    joined = unsafe_settings(production(tmp_path), "console", cookies)
    assert joined == [("MEDAID_CONSOLE_SECURE_COOKIES", "false")]
    assert unsafe_settings(production(tmp_path, environment="local"), "console", cookies) == []
