"""Operators change regional policies without a deploy:

  python -m services.relationship.entrypoints.policy_cli show [ADMDVS]
  python -m services.relationship.entrypoints.policy_cli set ADMDVS [FIELD=VALUE ...] [--unset FIELD] [--by NAME]

VALUE is JSON (`10`, `true`, `[{"kinships": ["child", "sibling"], "max": 4}]`); for a cap, `null` means "no cap
in this region" (it lifts the province's); `--unset FIELD` removes the field from the row so the region
inherits it again.
Changes are validated (docs/policies.md lists the fields), take effect for the next message, and are
published as `relationship.policy-changed` events. Connects as the relationship service (MEDAID_* settings).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from pydantic import ValidationError

from services.relationship.adapters.policy_repository import PolicyRepository
from services.relationship.domain import commands
from services.relationship.entrypoints.unit_of_work import postgres_context
from services.relationship.service_layer.set_policy import set_policy
from shared.caller import Caller
from shared.contracts.policy import NATIONAL, RegionalPolicy, effective_policy
from shared.db.business_clock import clock_of_service
from shared.db.pool import connect
from shared.messaging.outbox import Outbox
from shared.settings import PlatformSettings


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for pair in pairs:
        field, sep, raw = pair.partition("=")
        if not sep or field not in RegionalPolicy.model_fields:
            raise ValueError(
                f"{pair!r}: expected FIELD=VALUE with FIELD one of {', '.join(RegionalPolicy.model_fields)}"
            )
        try:
            settings[field] = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"{pair!r}: the value must be JSON ({exc})") from exc
    return settings


async def show(settings: PlatformSettings, admdvs: str | None) -> None:
    conn = await connect(settings.dsn("relationship"))
    try:
        rows = await PolicyRepository(conn).listing()
    finally:
        await conn.close()
    if admdvs is None:
        for region, (row, version, by) in rows.items():
            print(f"{region}  v{version} by {by}: {json.dumps(row, ensure_ascii=False) or '{}'}")
        return
    effective = effective_policy(admdvs, {k: v[0] for k, v in rows.items()})
    print(f"effective policy for {admdvs} (national {NATIONAL} <- province {admdvs[:2]}0000 <- region {admdvs}):")
    for field, value in effective.model_dump(mode="json").items():
        source = next(
            (lvl for lvl in (admdvs, admdvs[:2] + "0000", NATIONAL) if field in rows.get(lvl, ({},))[0]), "default"
        )
        if field == "kinship_caps":
            print(f"  {field:38} {len(effective.kinship_caps) or 'none':>20}   ({source})")
            for cap in effective.kinship_caps:  # as the bureau states it, then in the policy's words
                print(f"    {cap.bureau_terms()}  ({cap.english()})")
            continue
        print(f"  {field:38} {json.dumps(value):>20}   ({source})")


async def change(settings: PlatformSettings, cmd: commands.SetPolicy) -> dict[str, Any]:
    conn = await connect(settings.dsn("relationship"))
    try:
        clock = await clock_of_service(conn, settings.clock_offset_seconds)
        async with conn.transaction():
            stored, messages = await set_policy(cmd, postgres_context(conn, Caller(clock)))
            await Outbox("relationship", "relationship", clock).enqueue(conn, messages)
            return stored
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_show = sub.add_parser("show")
    p_show.add_argument("admdvs", nargs="?")
    p_set = sub.add_parser("set")
    p_set.add_argument("admdvs")
    p_set.add_argument("assignments", nargs="*")
    p_set.add_argument("--unset", action="append", default=[], metavar="FIELD", help="inherit this field again")
    p_set.add_argument("--by", default="operator")
    p_set.add_argument("--replace", action="store_true", help="replace the whole row instead of merging into it")
    args = parser.parse_args(argv)
    settings = PlatformSettings()
    if args.command == "show":
        asyncio.run(show(settings, args.admdvs))
        return 0
    if len(args.admdvs) != 6 or not (args.admdvs.isascii() and args.admdvs.isdigit()):
        print(f"{args.admdvs!r} is not a 6-digit region code", file=sys.stderr)
        return 2
    try:
        unknown = [f for f in args.unset if f not in RegionalPolicy.model_fields]
        if unknown or not (args.assignments or args.unset):
            raise ValueError(f"nothing to set, or unknown fields: {unknown}")
        cmd = commands.SetPolicy(
            args.admdvs, parse_assignments(args.assignments), args.by, args.replace, tuple(args.unset)
        )
        row = asyncio.run(change(settings, cmd))
    except (ValueError, ValidationError) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    print(f"{args.admdvs}: {json.dumps(row, ensure_ascii=False)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
