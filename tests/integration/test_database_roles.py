"""Issue 11, part 4: each PostgreSQL role has its own password, and the local socket trusts nobody."""

from __future__ import annotations

import json
import os
from pathlib import Path

import asyncpg
import pytest

from shared.settings import SERVICES, PlatformSettings, pg_secrets_path
from tests.support.infra import Infra

pytestmark = pytest.mark.integration


async def test_a_role_opens_only_with_its_own_password(settings: PlatformSettings) -> None:
    passwords: dict[str, str] = json.loads(pg_secrets_path(settings).read_text())
    assert len({passwords[s] for s in SERVICES}) == len(SERVICES), "four roles, four passwords"
    conn = await asyncpg.connect(settings.dsn("wallet"))
    await conn.close()
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(settings.dsn("wallet").replace(passwords["wallet"], passwords["payment"]))


async def test_the_superuser_and_the_local_socket_ask_for_a_password(infra: Infra) -> None:
    """Over TCP on any cluster; on the local scripts' cluster over its socket too (a container has none here)."""
    places = [("127.0.0.1" if infra.pg_host in ("localhost", "127.0.0.1") else infra.pg_host)]
    if infra.source == "local scripts":
        root = os.environ.get("PG_DATA_ROOT", f"/var/tmp/medaid/pg-{infra.pg_port}")  # noqa: S108 - deploy/local/postgres.sh's
        places.append(str(Path(root) / "sock"))
    for host in places:
        with pytest.raises((asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError)):
            await asyncpg.connect(host=host, port=infra.pg_port, user="postgres", database="postgres", password="")
