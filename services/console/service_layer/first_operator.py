"""The console's first operator (ADR 0024): at every start, if the console has no operator at all, `admin` (role
operator) is made from the password file, which is made first if it is missing. So a wiped database gets its
first operator back with the password the file (and `make up`) shows, whatever files survived the wipe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg

from services.console.adapters.passwords import FIRST_OPERATOR, Passwords, first_operator_password
from services.console.adapters.repository import ConsoleRepository
from services.console.domain.model import Role
from shared.logging import get_logger

log = get_logger(__name__)


async def ensure_first_operator(pool: asyncpg.Pool[Any], passwords: Passwords, password_file: Path) -> bool:
    """True if `admin` was made now. A disabled operator counts as one: disabling everyone does not bring admin
    back."""
    async with pool.acquire() as conn:
        if await ConsoleRepository(conn).any_operator():
            return False
    try:
        password = first_operator_password(password_file)
    except (OSError, ValueError) as exc:  # a read-only container, a malformed file: the CLI can still add one
        log.error("console_first_operator_not_made", password_file=str(password_file), error=str(exc))
        return False
    password_hash = await passwords.hash(password)
    async with pool.acquire() as conn, conn.transaction():
        repo = ConsoleRepository(conn)
        made = await repo.add_first_operator(FIRST_OPERATOR, password_hash, Role.OPERATOR.value)
        if made:
            await repo.audit(
                "-", "operator-saved", FIRST_OPERATOR, "ok", {"role": Role.OPERATOR.value, "by": "console start"}
            )
    if made:
        log.info("console_first_operator_made", operator=FIRST_OPERATOR, password_file=str(password_file))
    return made
