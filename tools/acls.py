"""Principals and ACLs of the Kafka cluster from deploy/acls.toml (see its header).

    python -m tools.acls secrets [--local]   create the secrets file's missing passwords (0600), print its path
    python -m tools.acls apply [--local]     as `admin`: SCRAM credentials of every principal, the ACLs, the quotas
    python -m tools.acls list [--local]      the ACL bindings the manifest gives

`--local` includes the principals marked local_only (the simulator). Idempotent: applying twice changes
nothing; an ACL the manifest no longer lists is deleted, and so is a user quota.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from shared.contracts.topics import PROVINCES
from shared.messaging.security import ADMIN, CONTROLLER, aiokafka_security, secrets_path
from shared.settings import PlatformSettings
from tools.kafka_admin import (
    GROUP,
    LITERAL,
    OPERATIONS,
    PREFIXED,
    READ,
    TOPIC,
    WRITE,
    AclBinding,
    acls,
    create_acls,
    delete_acls,
    set_user_quotas,
    upsert_scram_users,
    user_quotas,
)
from tools.topics import load_manifest

MANIFEST = Path(__file__).resolve().parent.parent / "deploy" / "acls.toml"


@dataclass(frozen=True)
class Principal:
    name: str
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    quotas: tuple[tuple[str, float], ...] = ()
    """Kafka client quotas of the principal (`producer_byte_rate`: bytes a second it may produce, ADR 0023)."""

    @property
    def user(self) -> str:
        return f"User:{self.name}"


def load_principals(path: Path = MANIFEST, *, local: bool = False) -> list[Principal]:
    data = tomllib.loads(path.read_text())
    dlqs = tuple(s.name for s in load_manifest() if s.name.endswith(".dlq"))
    found: list[Principal] = []
    for p in data["principal"]:
        if p.get("local_only") and not local:
            continue
        for province in PROVINCES if "{province}" in p["name"] else (None,):

            def expand(names: list[str], province: str | None = province) -> tuple[str, ...]:
                out: list[str] = []
                for n in names:
                    if n == "{dlqs}":
                        out.extend(dlqs)
                    else:
                        out.append(n.format(province=province) if province else n)
                return tuple(out)

            found.append(
                Principal(
                    p["name"].format(province=province) if province else p["name"],
                    expand(p.get("read", [])),
                    expand(p.get("write", [])),
                    expand(p.get("groups", [])),
                    tuple(sorted((k, float(v)) for k, v in p.get("quotas", {}).items())),
                )
            )
    names = [p.name for p in found]
    if len(set(names)) != len(names) or {ADMIN, CONTROLLER} & set(names):
        raise ValueError(f"{path}: principal names must be unique and not {ADMIN}/{CONTROLLER}")
    return found


def _binding(principal: Principal, resource_type: int, name: str, operation: int) -> AclBinding:
    if name.endswith("*"):
        return AclBinding(principal.user, resource_type, name[:-1], PREFIXED, operation)
    return AclBinding(principal.user, resource_type, name, LITERAL, operation)


def bindings(principals: list[Principal]) -> set[AclBinding]:
    out: set[AclBinding] = set()
    for p in principals:
        out |= {_binding(p, TOPIC, t, READ) for t in p.read}
        out |= {_binding(p, TOPIC, t, WRITE) for t in p.write}
        out |= {_binding(p, GROUP, g, READ) for g in p.groups}
    return out


def ensure_secrets(path: Path, principals: list[Principal]) -> dict[str, str]:
    """The secrets file with a password for admin, the controller and every principal (missing ones made)."""
    existing: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    wanted = [ADMIN, CONTROLLER, *(p.name for p in principals)]
    missing = [n for n in wanted if n not in existing]
    if missing:
        existing = {**existing, **{n: secrets.token_urlsafe(24) for n in missing}}
        write_secret_file(path, existing)
    return existing


def write_secret_file(path: Path, data: object) -> None:
    """JSON, replaced atomically, readable by this user only (its folder too)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    tmp.replace(path)


async def apply(settings: PlatformSettings, principals: list[Principal], passwords: dict[str, str]) -> tuple[int, int]:
    """SCRAM credentials, then the ACLs; returns (ACLs created, ACLs deleted)."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap.split(","),
        client_id="medaid-acls",
        **aiokafka_security(settings, ADMIN),
    )
    await admin.start()
    try:
        await upsert_scram_users(admin, {p.name: passwords[p.name] for p in principals})
        wanted = bindings(principals)
        present = await acls(admin)
        missing = sorted(wanted - present)
        extra = sorted(present - wanted)
        if missing:
            await create_acls(admin, missing)
        if extra:
            await delete_acls(admin, extra)
        await apply_quotas(admin, principals)
        return len(missing), len(extra)
    finally:
        await admin.close()


async def apply_quotas(admin: AIOKafkaAdminClient, principals: list[Principal]) -> None:
    """The cluster's user quotas made the manifest's: set where it gives some, removed where it gives none."""
    wanted = {p.name: dict(p.quotas) for p in principals if p.quotas}
    present = await user_quotas(admin)
    changes: dict[str, dict[str, float | None]] = {}
    for user, values in present.items():
        gone = {key: None for key in values if key not in wanted.get(user, {})}
        if gone:
            changes[user] = dict(gone)
    for user, values in wanted.items():
        if present.get(user) != values:
            changes.setdefault(user, {}).update(values)
    await set_user_quotas(admin, changes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["secrets", "apply", "list"])
    parser.add_argument("--local", action="store_true", help="include the local-only principals (the simulator)")
    args = parser.parse_args()
    principals = load_principals(local=args.local)
    settings = PlatformSettings()
    if args.command == "list":
        names = {TOPIC: "topic", GROUP: "group"}
        ops = {v: k for k, v in OPERATIONS.items()}
        for b in sorted(bindings(principals)):
            star = "*" if b.pattern_type == PREFIXED else ""
            print(f"{b.principal}\t{ops[b.operation]}\t{names[b.resource_type]}:{b.name}{star}")
        return 0
    path = secrets_path(settings)
    passwords = ensure_secrets(path, principals)
    if args.command == "secrets":
        print(path)
        return 0
    created, deleted = asyncio.run(apply(settings, principals, passwords))
    print(
        f"acls: {len(principals)} principals, {len(bindings(principals))} ACLs ({created} created, {deleted} deleted)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
