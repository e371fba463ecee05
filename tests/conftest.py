"""Fixtures shared by the tiers. Unit and contract tests need none of the servers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from shared.messaging.security import ADMIN, secrets_path
from shared.settings import PlatformSettings
from tests.support.infra import SERVICE_PASSWORD, Infra, InfraUnavailableError, acquire_infra
from tools.acls import apply as apply_acls
from tools.acls import ensure_secrets, load_principals
from tools.dbsetup import setup_database
from tools.topics import ensure_topics, load_manifest


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    try:
        found = acquire_infra()
    except InfraUnavailableError as exc:
        pytest.fail(str(exc), pytrace=False)
    # Every Kafka client of the tests finds its password there (tests/support/kafka.py; the services' scripts too).
    os.environ["MEDAID_SECRETS_FILE"] = found.secrets_file
    yield found
    found.stop()


@pytest.fixture(scope="session")
async def topics(infra: Infra) -> None:
    """Every topic and ACL of the manifests exists (the local scripts make them; other servers may not have)."""
    settings = PlatformSettings(kafka_bootstrap=infra.kafka_bootstrap)
    await ensure_topics(infra.kafka_bootstrap, load_manifest(), settings=settings)
    principals = load_principals(local=True)
    await apply_acls(settings, principals, ensure_secrets(secrets_path(settings), principals))


async def new_database(infra: Infra, prefix: str) -> PlatformSettings:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    await setup_database(infra.pg_admin_dsn, name, SERVICE_PASSWORD)
    return PlatformSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        pg_host=infra.pg_host,
        pg_port=infra.pg_port,
        pg_database=name,
        pg_password=SecretStr(SERVICE_PASSWORD),
        log_format="json",
        retry_backoff_seconds=0.05,
        kafka_username=ADMIN,  # the tests' own clients; the services started by scripts are themselves
    )


@pytest.fixture
async def settings(infra: Infra, topics: None) -> PlatformSettings:
    """A fresh database with the four service schemas, for one test."""
    return await new_database(infra, "it")
