"""The console's operators: `python -m services.console.entrypoints.operators add NAME --role viewer|operator`.

  add NAME --role ROLE [--password-file F]   create or reset one (the password: from F, else MEDAID_CONSOLE_PASSWORD,
                                             else asked for); stored as an argon2id hash only; ends its sessions
  role NAME --role ROLE                      give one another role: its open sessions have it at their next request
  disable NAME                               it can no longer log in, and its sessions end at once
  list                                       names and roles
Connects as the console's own role (MEDAID_* settings); applies the console's migrations first.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from pathlib import Path

from argon2 import PasswordHasher

from services.console.adapters.passwords import MIN_PASSWORD
from services.console.adapters.repository import ConsoleRepository
from services.console.app import prepare
from services.console.domain.model import Role
from shared.db.pool import connect
from shared.settings import CONSOLE, PlatformSettings


async def add(settings: PlatformSettings, name: str, role: Role, password: str) -> None:
    await prepare(settings)
    conn = await connect(settings.dsn(CONSOLE))
    try:
        repo = ConsoleRepository(conn)
        await repo.save_operator(name, PasswordHasher().hash(password), role.value)
        await repo.audit("-", "operator-saved", name, "ok", {"role": role.value, "by": "command line"})
    finally:
        await conn.close()


async def change(settings: PlatformSettings, name: str, role: Role | None) -> bool:
    """`role NAME` (role given) or `disable NAME` (None); False if there is no such operator."""
    await prepare(settings)
    conn = await connect(settings.dsn(CONSOLE))
    try:
        repo = ConsoleRepository(conn)
        async with conn.transaction():
            if role is None:
                done = await repo.disable(name)
                if done:
                    await repo.audit("-", "operator-disabled", name, "ok", {"by": "command line"})
            else:
                done = await repo.set_role(name, role.value)
                if done:
                    await repo.audit("-", "operator-role", name, "ok", {"role": role.value, "by": "command line"})
        return done
    finally:
        await conn.close()


async def show(settings: PlatformSettings) -> None:
    await prepare(settings)
    conn = await connect(settings.dsn(CONSOLE))
    try:
        for r in await ConsoleRepository(conn).operators():
            disabled = " (disabled)" if r["disabled_at"] else ""
            print(f"{r['name']:<20} {r['role']:<9} since {r['created_at']:%Y-%m-%d}{disabled}")
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.console.entrypoints.operators", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("add")
    a.add_argument("name")
    a.add_argument("--role", choices=[r.value for r in Role], required=True)
    a.add_argument("--password-file", type=Path)
    r = sub.add_parser("role")
    r.add_argument("name")
    r.add_argument("--role", choices=[r.value for r in Role], required=True)
    d = sub.add_parser("disable")
    d.add_argument("name")
    sub.add_parser("list")
    args = parser.parse_args(argv)
    settings = PlatformSettings()
    if args.command == "list":
        asyncio.run(show(settings))
        return 0
    if args.command in ("role", "disable"):
        role = Role(args.role) if args.command == "role" else None
        if not asyncio.run(change(settings, args.name, role)):
            print(f"no operator {args.name}", file=sys.stderr)
            return 1
        print(f"operator {args.name}: {'disabled' if role is None else role.value}", file=sys.stderr)
        return 0
    if args.password_file:
        password = args.password_file.read_text().strip()
    else:
        password = os.environ.get("MEDAID_CONSOLE_PASSWORD") or getpass.getpass(f"password for {args.name}: ")
    if len(password) < MIN_PASSWORD:
        print(f"a password has at least {MIN_PASSWORD} characters", file=sys.stderr)
        return 2
    asyncio.run(add(settings, args.name, Role(args.role), password))
    print(f"operator {args.name} ({args.role}) saved", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
