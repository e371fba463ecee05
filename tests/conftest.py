"""Fixtures shared by the tiers. Unit and contract tests need none of the servers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.messaging.security import ADMIN, secrets_path
from shared.settings import PlatformSettings
from tests.support.infra import Infra, InfraUnavailableError, acquire_infra
from tools.acls import apply as apply_acls
from tools.acls import ensure_secrets, load_principals
from tools.dbsetup import ensure_pg_secrets, setup_database
from tools.keys import LOCAL_NATIONAL_OPERATOR, ensure_keys
from tools.topics import ensure_topics, load_manifest


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    try:
        found = acquire_infra()
    except InfraUnavailableError as exc:
        pytest.fail(str(exc), pytrace=False)
    # Every Kafka client of the tests finds its password there (tests/support/kafka.py; the services' scripts too).
    os.environ["MEDAID_SECRETS_FILE"] = found.secrets_file
    # Signed envelopes (docs/signing.md): the tests sign as the provinces do, the services verify. The local
    # scripts made the keys; on other servers they are made here, next to the passwords.
    secrets_dir = Path(found.secrets_file).parent
    signing, registry = secrets_dir / "signing.json", secrets_dir.parent / "keys" / "registry.json"
    if found.source != "local scripts":
        registry = secrets_dir / "registry.json"
        ensure_keys(signing, registry)
    os.environ["MEDAID_SIGNING_KEYS_FILE"] = str(signing)
    os.environ["MEDAID_PLATFORM_SIGNING_KEY_FILE"] = str(signing.with_name("platform-signing.json"))
    os.environ["MEDAID_KEY_REGISTRY_FILE"] = str(registry)
    # each PostgreSQL role's own password, next to the Kafka passwords (the local scripts made them)
    os.environ["MEDAID_PG_SECRETS_FILE"] = str(secrets_dir / "postgres.json")
    os.environ.pop("MEDAID_PG_PASSWORD", None)
    os.environ["MEDAID_NATIONAL_OPERATORS"] = LOCAL_NATIONAL_OPERATOR  # as on the local stack
    os.environ["MEDAID_ENVIRONMENT"] = "local"  # the local identity key is allowed
    if found.source == "local scripts":
        os.environ["MEDAID_STATE_DIR"] = found.script_env["MEDAID_STATE_DIR"]  # its business clock: tools.clock
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
    passwords = Path(os.environ["MEDAID_PG_SECRETS_FILE"])
    await setup_database(infra.pg_admin_dsn, name, ensure_pg_secrets(passwords))
    return PlatformSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        pg_host=infra.pg_host,
        pg_port=infra.pg_port,
        pg_database=name,
        pg_secrets_file=str(passwords),
        log_format="json",
        retry_backoff_seconds=0.05,
        kafka_username=ADMIN,  # the tests' own clients; the services started by scripts are themselves
    )


@pytest.fixture
async def settings(infra: Infra, topics: None) -> PlatformSettings:
    """A fresh database with the four service schemas, for one test."""
    return await new_database(infra, "it")
