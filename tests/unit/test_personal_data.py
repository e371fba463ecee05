"""Issue 11, part 4: personal data. The local identity key outside the local environment, names in clear."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from shared.settings import LOCAL_IDENTITY_KEY, PlatformSettings, unsafe_settings


def test_a_service_refuses_the_repositorys_identity_key_unless_the_environment_says_local() -> None:
    def identity_key(environment: str, key: str) -> list[str]:
        settings = PlatformSettings(environment=environment, identity_key=SecretStr(key))
        return [problem for name, problem in unsafe_settings(settings, "wallet") if name == "MEDAID_IDENTITY_KEY"]

    assert "local default" in identity_key("production", LOCAL_IDENTITY_KEY)[0]
    assert identity_key("local", LOCAL_IDENTITY_KEY) == []
    assert "shorter than" in identity_key("staging", "short")[0]
    assert identity_key("staging", "k" * 32) == []


def test_production_is_what_an_unset_environment_means(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDAID_ENVIRONMENT", raising=False)
    assert PlatformSettings().environment == "production"
