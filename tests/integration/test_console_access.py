"""Who the console lets in, on PostgreSQL (ADR 0024), on a clock the test gives: the first operator made again
whenever there is none, lockout by name and by address, sessions that end at logout, on a new role or a disabled
operator, and an audit log that never holds the typed text of a refused login."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.console.adapters.passwords import Passwords
from services.console.adapters.repository import ConsoleRepository
from services.console.app import prepare
from services.console.domain.access import BY_ADDRESS, BY_NAME, SESSION_LIFETIME
from services.console.domain.model import Role
from services.console.service_layer.first_operator import ensure_first_operator
from services.console.service_layer.log_in import LoggedIn, Refused, log_in
from services.console.service_layer.sessions import log_out, who
from shared.db.pool import create_pool
from shared.settings import CONSOLE
from tests.conftest import new_database
from tests.support.infra import Infra

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 5, 9, tzinfo=UTC)
HERE, THERE = "10.0.0.1", "10.0.0.2"
PASSWORD = "the-right-password-1234"


@pytest.fixture
async def console(infra: Infra) -> AsyncIterator[tuple[asyncpg.Pool[Any], Passwords]]:
    settings = await new_database(infra, "console")
    await prepare(settings)
    pool = await create_pool(settings.dsn(CONSOLE), max_size=4)
    passwords = Passwords()
    try:
        yield pool, passwords
    finally:
        passwords.close()
        await pool.close()


async def add(pool: asyncpg.Pool[Any], passwords: Passwords, name: str, role: Role = Role.OPERATOR) -> None:
    async with pool.acquire() as conn:
        await ConsoleRepository(conn).save_operator(name, await passwords.hash(PASSWORD), role.value)


async def audit_text(pool: asyncpg.Pool[Any]) -> str:
    async with pool.acquire() as conn:
        return json.dumps([dict(r) for r in await ConsoleRepository(conn).audit_log()], default=str)


async def test_the_first_operator_is_made_again_whenever_there_is_none(
    console: tuple[asyncpg.Pool[Any], Passwords], tmp_path: Path
) -> None:
    pool, passwords = console
    file = tmp_path / "secrets" / "console.json"
    assert await ensure_first_operator(pool, passwords, file), "a new database: admin, and the file made"
    assert file.stat().st_mode & 0o077 == 0
    password = json.loads(file.read_text())["admin"]
    assert isinstance(await log_in(pool, passwords, "admin", password, HERE, T0), LoggedIn)
    assert not await ensure_first_operator(pool, passwords, file), "there is one: nothing made"

    async with pool.acquire() as conn:  # the database wiped, the file kept
        await conn.execute("DELETE FROM operators")
    assert await ensure_first_operator(pool, passwords, file)
    assert json.loads(file.read_text())["admin"] == password, "the surviving file's password"
    done = await log_in(pool, passwords, "admin", password, HERE, T0 + timedelta(minutes=1))
    assert isinstance(done, LoggedIn)

    async with pool.acquire() as conn:  # disabling everyone does not bring admin back
        await ConsoleRepository(conn).disable("admin")
    assert not await ensure_first_operator(pool, passwords, file)


async def test_five_wrong_passwords_lock_a_name_and_the_lock_ends(
    console: tuple[asyncpg.Pool[Any], Passwords],
) -> None:
    pool, passwords = console
    await add(pool, passwords, "ops")
    for i in range(BY_NAME.limit):
        assert await log_in(pool, passwords, "ops", f"wrong-{i}", HERE, T0 + timedelta(minutes=i)) == Refused()
    last = T0 + timedelta(minutes=BY_NAME.limit - 1)
    # locked: even the right password, even from another address
    assert await log_in(pool, passwords, "ops", PASSWORD, THERE, last + timedelta(minutes=1)) == Refused()
    after = last + BY_NAME.lockout
    assert isinstance(await log_in(pool, passwords, "ops", PASSWORD, THERE, after), LoggedIn)
    audit = await audit_text(pool)
    assert audit.count('"refused: wrong password"') == BY_NAME.limit - 1
    assert audit.count('"refused: wrong password; locked"') == 1, "the lock's start is audited once"
    assert "wrong-" not in audit, "no typed password"


async def test_many_failures_from_one_address_lock_that_address_only(
    console: tuple[asyncpg.Pool[Any], Passwords],
) -> None:
    pool, passwords = console
    await add(pool, passwords, "ops")
    for i in range(BY_ADDRESS.limit):
        typed = f"my-secret-password-{i}"  # typed into the name field
        at = T0 + timedelta(seconds=10 * i)
        assert await log_in(pool, passwords, typed, "x", HERE, at) == Refused()
    now = T0 + timedelta(minutes=5)
    assert await log_in(pool, passwords, "ops", PASSWORD, HERE, now) == Refused(), "the address is locked"
    assert isinstance(await log_in(pool, passwords, "ops", PASSWORD, THERE, now), LoggedIn)
    audit = await audit_text(pool)
    assert "my-secret-password" not in audit, "the typed name is never stored"
    assert audit.count('"an unknown name"') == BY_ADDRESS.limit
    async with pool.acquire() as conn:
        stored = json.dumps([dict(r) for r in await conn.fetch("SELECT * FROM login_failures")], default=str)
    assert "my-secret-password" not in stored


async def test_a_session_ends_at_logout_on_a_new_role_or_a_disabled_operator_at_once(
    console: tuple[asyncpg.Pool[Any], Passwords],
) -> None:
    pool, passwords = console
    await add(pool, passwords, "ops")
    first = await log_in(pool, passwords, "ops", PASSWORD, HERE, T0)
    assert isinstance(first, LoggedIn)
    assert (await who(pool, first.token, T0)).role is Role.OPERATOR  # type: ignore[union-attr]
    assert await who(pool, first.token, T0 + SESSION_LIFETIME) is None, "expired"
    assert await who(pool, "a-token-nobody-was-given", T0) is None

    async with pool.acquire() as conn:
        await ConsoleRepository(conn).set_role("ops", Role.VIEWER.value)
    assert (await who(pool, first.token, T0)).role is Role.VIEWER, "demoted at the next request"  # type: ignore[union-attr]

    await log_out(pool, first.token, "ops", HERE)
    assert await who(pool, first.token, T0) is None, "the cookie's value is worth nothing after logout"

    second = await log_in(pool, passwords, "ops", PASSWORD, HERE, T0)
    assert isinstance(second, LoggedIn)
    async with pool.acquire() as conn:
        await ConsoleRepository(conn).disable("ops")
    assert await who(pool, second.token, T0) is None
    assert await log_in(pool, passwords, "ops", PASSWORD, HERE, T0) == Refused()

    await add(pool, passwords, "ops")  # a reset enables it again, and ends any session it had
    third = await log_in(pool, passwords, "ops", PASSWORD, HERE, T0)
    assert isinstance(third, LoggedIn)
    await add(pool, passwords, "ops")
    assert await who(pool, third.token, T0) is None, "a password reset ends the sessions"
