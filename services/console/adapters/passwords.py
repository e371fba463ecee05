"""Passwords: argon2id hashes computed off the event loop, with a bound, and the first operator's password file.

An argon2id verification takes tens of milliseconds of CPU. On the event loop, a flood of logins would stall the
projector and every page; here they run on a pool of their own (argon2-cffi releases the GIL), and past a bound
of hashes running or waiting a login is turned away at once instead of queueing (ADR 0024).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHER = PasswordHasher()
FIRST_OPERATOR = "admin"
MIN_PASSWORD = 12
T = TypeVar("T")


class PasswordsBusyError(Exception):
    """More logins are being checked than the bound allows: this one is not tried."""


class Passwords:
    def __init__(self, workers: int = 2, waiting: int = 8) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self._bound = workers + waiting
        self._in_flight = 0
        self._logins = 0
        self._dummy: str | None = None

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """One login, from its first database read to its last write: past the bound it is turned away before it
        takes a database connection, so a flood does not queue on the pool the pages share."""
        if self._logins >= self._bound:
            raise PasswordsBusyError
        self._logins += 1
        try:
            yield
        finally:
            self._logins -= 1

    async def _run(self, fn: Callable[..., T], *args: str) -> T:
        if self._in_flight >= self._bound:
            raise PasswordsBusyError
        self._in_flight += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        finally:
            self._in_flight -= 1

    async def hash(self, password: str) -> str:
        return await self._run(HASHER.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` is the one hashed; with no hash (an unknown name) a dummy one is checked, so an
        unknown name costs what a wrong password costs. Raises PasswordsBusyError past the bound."""
        if self._dummy is None:
            self._dummy = await self.hash(secrets.token_urlsafe(16))
        return await self._run(_verify, password_hash or self._dummy, password) and password_hash is not None

    @staticmethod
    def needs_rehash(password_hash: str) -> bool:
        return HASHER.check_needs_rehash(password_hash)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def first_operator_password(path: Path) -> str:
    """The first operator's password from the password file (JSON {"admin": password}); a missing file is made
    with a random password, readable by its owner only. Two processes starting at once read the same one."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({FIRST_OPERATOR: secrets.token_urlsafe(18)}, f)
            f.write("\n")
        try:
            os.link(draft, path)  # whole or not at all, and never over a file another process made meanwhile
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    password = json.loads(path.read_text()).get(FIRST_OPERATOR)
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValueError(f"{path}: no {FIRST_OPERATOR!r} password of at least {MIN_PASSWORD} characters")
    return password
