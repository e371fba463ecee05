"""Issue 11, part 4: personal data. The local identity key outside the local environment, names in clear."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from shared.settings import LOCAL_IDENTITY_KEY, PlatformSettings, refuse_local_secrets


def test_a_service_refuses_the_repositorys_identity_key_unless_the_environment_says_local() -> None:
    with pytest.raises(RuntimeError, match="MEDAID_IDENTITY_KEY"):
        refuse_local_secrets(PlatformSettings(environment="production", identity_key=SecretStr(LOCAL_IDENTITY_KEY)))
    refuse_local_secrets(PlatformSettings(environment="local", identity_key=SecretStr(LOCAL_IDENTITY_KEY)))
    with pytest.raises(RuntimeError, match="shorter than"):
        refuse_local_secrets(PlatformSettings(environment="staging", identity_key=SecretStr("short")))
    refuse_local_secrets(PlatformSettings(environment="staging", identity_key=SecretStr("k" * 32)))


def test_production_is_what_an_unset_environment_means(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDAID_ENVIRONMENT", raising=False)
    assert PlatformSettings().environment == "production"
