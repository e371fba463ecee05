"""Logging in (ADR 0024): throttled by name and by address, the password checked off the event loop, a session
kept by the console, and every refusal audited without the typed name."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.console.adapters.passwords import Passwords, PasswordsBusyError
from services.console.adapters.repository import ConsoleRepository
from services.console.domain.access import BY_ADDRESS, BY_NAME, SESSION_LIFETIME, locked_until, refused_login_subject
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class LoggedIn:
    token: str
    """The cookie's value; the console keeps only its hash."""
    expires_at: datetime


@dataclass(frozen=True)
class Refused:
    busy: bool = False
    """Too many logins were being checked: this one was not tried (answered 503)."""


MAX_NAME = 40
"""An operator's name is at most 40 characters (migration 0001's CHECK)."""


def _locked(by_name: list[datetime], by_address: list[datetime], now: datetime) -> bool:
    return locked_until(by_name, now, BY_NAME) is not None or locked_until(by_address, now, BY_ADDRESS) is not None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def log_in(
    pool: asyncpg.Pool[Any], passwords: Passwords, name: str, password: str, address: str, now: datetime
) -> LoggedIn | Refused:
    """One login at `now` from `address` (the socket's peer). Past the bound of logins at once it is refused before
    anything is read; no database connection is held while the password is checked."""
    try:
        with passwords.slot():
            return await _log_in(pool, passwords, name, password, address, now)
    except PasswordsBusyError:
        log.warning("console_login_refused_busy", address=address)
        return Refused(busy=True)


async def _log_in(
    pool: asyncpg.Pool[Any], passwords: Passwords, name: str, password: str, address: str, now: datetime
) -> LoggedIn | Refused:
    since = now - max(BY_NAME.horizon, BY_ADDRESS.horizon)
    async with pool.acquire() as conn:
        repo = ConsoleRepository(conn)
        row = await repo.operator(name) if len(name) <= MAX_NAME else None  # a longer one is no operator's
        operator: str | None = row["name"] if row else None
        password_hash: str | None = row["password_hash"] if row else None
        by_name, by_address = await repo.login_failures(operator, address, since)
    if _locked(by_name, by_address, now):
        # not tried, not counted, not audited one by one (the lock's start was): a flood cannot fill the audit log
        log.warning("console_login_refused_locked", operator=operator, address=address)
        return Refused()
    ok = await passwords.verify(password_hash, password)  # PasswordsBusyError: refused, nothing recorded
    rehash = False
    async with pool.acquire() as conn, conn.transaction():
        repo = ConsoleRepository(conn)
        if operator is not None:
            await repo.lock_login(operator)  # one login of a name at a time from here on
        # again, after the check: logins tried in parallel were all let past the first look, and a lock their
        # failures started meanwhile refuses even a right password among them
        by_name, by_address = await repo.login_failures(operator, address, since)
        if _locked(by_name, by_address, now):
            log.warning("console_login_refused_locked", operator=operator, address=address)
            return Refused()
        if ok and operator is not None:
            token = secrets.token_urlsafe(32)
            expires_at = now + SESSION_LIFETIME
            await repo.open_session(token_hash(token), operator, secrets.token_urlsafe(24), address, now, expires_at)
            await repo.login_succeeded(operator)
            await repo.audit(operator, "login", "console", "ok", {"address": address})
            rehash = password_hash is not None and Passwords.needs_rehash(password_hash)
        else:
            await repo.login_failed(operator, address, now, forget_before=since)
            outcome = "refused: unknown name" if operator is None else "refused: wrong password"
            failures = (([*by_name, now] if operator else []), BY_NAME), ([*by_address, now], BY_ADDRESS)
            ends = [u for f, throttle in failures if (u := locked_until(f, now, throttle))]
            detail: dict[str, Any] = {"address": address}
            if ends:  # this failure started a lock: audited once, with its end (business time)
                outcome += "; locked"
                detail["locked_until"] = max(ends).isoformat(timespec="seconds")
            await repo.audit(refused_login_subject(operator), "login", "console", outcome, detail)
    if not (ok and operator is not None):
        return Refused()
    if rehash:
        await _rehash(pool, passwords, operator, password)
    return LoggedIn(token, expires_at)


async def _rehash(pool: asyncpg.Pool[Any], passwords: Passwords, operator: str, password: str) -> None:
    try:
        new_hash = await passwords.hash(password)
    except PasswordsBusyError:
        return  # next login
    async with pool.acquire() as conn:
        await ConsoleRepository(conn).update_hash(operator, new_hash)
