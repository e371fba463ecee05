"""Operators look at settlements: `python -m services.payment.entrypoints.settlements_cli list|show|books|standards`

  list [--state debiting|completed|refused|cancelling|cancelled] [--older-than MINUTES] [--limit N]
  show SETL_ID          one settlement or contribution, what each source paid, and its undoing
  books                 the payment service's books check
  standards show [ADMDVS] [--insutype 390|410] [--year YEAR]
                        the yearly personal contribution standards (docs/adr/0022); with a region and a year,
                        the one that applies there and where it comes from (region, province or national)
  standards set ADMDVS INSUTYPE YEAR AMOUNT --source TEXT
                        set one (ADMDVS a region, a province xx0000 or the nation 000000); it applies to the next
                        contribution.requested. Say where the figure comes from (a notice, or [inferred] and why)
Connects as the payment service (MEDAID_* settings).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from decimal import Decimal, InvalidOperation

from services.payment.adapters.books import check_books
from services.payment.adapters.contribution_repository import ContributionStandardRepository
from services.payment.adapters.settlement_views import settlement_counts, settlement_details, settlement_listing
from services.payment.domain import commands
from services.payment.domain.contributions import KINDS, StandardError, applicable, lookup_chain
from services.payment.entrypoints.unit_of_work import postgres_context
from services.payment.service_layer.set_contribution_standard import set_contribution_standard
from shared.caller import Caller
from shared.db.books import print_books
from shared.db.business_clock import clock_of_service
from shared.db.pool import connect
from shared.settings import PlatformSettings


async def list_settlements(settings: PlatformSettings, state: str | None, older_than: float | None, limit: int) -> None:
    conn = await connect(settings.dsn("payment"))
    try:
        now = (await clock_of_service(conn, settings.clock_offset_seconds)).now()  # ages in business time
        counts = await settlement_counts(conn)
        rows = await settlement_listing(conn, state, older_than, limit, now)
    finally:
        await conn.close()
    for c in counts:
        print(f"{c['purpose']:<13} {c['state']:<11} {c['n']:>7}  personal part {c['amount']}")
    for r in rows:
        paid = f"acct {r['acct_pay']} (mulaid {r['acct_mulaid_pay']}) wallet {r['wallet_pay']} cash {r['psn_cash_pay']}"
        print(
            f"{r['setl_id']}  {r['purpose']:<12} {r['state']:<10} {r['psn_no']} {r['fixmedins_code'] or '-'} "
            f"{r['psn_part_amt']}: {paid if r['acct_pay'] is not None else r['refusal_code'] or 'waiting'}"
        )


async def show(settings: PlatformSettings, setl_id: str) -> int:
    conn = await connect(settings.dsn("payment"))
    try:
        s, portions = await settlement_details(conn, setl_id)
    finally:
        await conn.close()
    if s is None:
        print(f"no settlement {setl_id}")
        return 1
    for key, value in s.items():
        if value is not None:
            print(f"{key:<18} {value}")
    for p in portions:
        lot = f" lot {p['lot_id']}" if p["lot_id"] else ""
        print(
            f"  #{p['seq']} {p['source']:<16} {p['amount']:>10} from {p['payer_psn_no']}{lot}, "
            f"funded by {p['funding_admdvs']}, spent in {p['spending_admdvs']}"
        )
    return 0


async def books(settings: PlatformSettings) -> int:
    return await print_books(settings.dsn("payment"), check_books)


async def show_standards(settings: PlatformSettings, admdvs: str | None, insutype: str | None, year: int | None) -> int:
    conn = await connect(settings.dsn("payment"))
    try:
        repo = ContributionStandardRepository(conn)
        if admdvs is not None and year is not None:
            for kind in [insutype] if insutype else sorted(KINDS):
                chain = lookup_chain(admdvs)
                found = applicable(admdvs, kind, year, await repo.for_region(chain, kind, year))
                if found is None:
                    print(f"{admdvs} {kind} {year}: no standard (a contribution is refused CONTRIBUTION_OVER_STANDARD)")
                    continue
                level = "region" if found.admdvs == admdvs else "national" if found.admdvs == "000000" else "province"
                print(
                    f"{admdvs} {kind} {year}: {found.amount}  ({level} {found.admdvs}, set for {found.year}; "
                    f"{found.source})"
                )
            return 0
        rows = [r for r in await repo.listing(None, insutype) if admdvs is None or r.admdvs in lookup_chain(admdvs)]
    finally:
        await conn.close()
    for r in rows:
        print(f"{r.admdvs} {r.insutype} {r.year} {r.amount:>10}  {r.source}")
    return 0


async def set_standard(settings: PlatformSettings, cmd: commands.SetContributionStandard) -> int:
    conn = await connect(settings.dsn("payment"))
    try:
        clock = await clock_of_service(conn, settings.clock_offset_seconds)
        async with conn.transaction():
            stored = await set_contribution_standard(cmd, postgres_context(conn, Caller(clock)))
    except StandardError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    finally:
        await conn.close()
    print(f"{stored.admdvs} {stored.insutype} {stored.year} {stored.amount}  {stored.source}")
    return 0


def standards(settings: PlatformSettings, args: argparse.Namespace) -> int:
    if args.action == "show":
        return asyncio.run(show_standards(settings, args.admdvs, args.insutype, args.year))
    try:
        amount = Decimal(args.amount)
    except InvalidOperation:
        print(f"refused: {args.amount!r} is not an amount", file=sys.stderr)
        return 2
    cmd = commands.SetContributionStandard(args.admdvs, args.insutype, args.year, amount, args.source)
    return asyncio.run(set_standard(settings, cmd))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list")
    listing.add_argument("--state")
    listing.add_argument("--older-than", type=float)
    listing.add_argument("--limit", type=int, default=20)
    showing = sub.add_parser("show")
    showing.add_argument("setl_id")
    sub.add_parser("books")
    std = sub.add_parser("standards").add_subparsers(dest="action", required=True)
    std_show = std.add_parser("show")
    std_show.add_argument("admdvs", nargs="?")
    std_show.add_argument("--insutype", choices=sorted(KINDS))
    std_show.add_argument("--year", type=int)
    std_set = std.add_parser("set")
    std_set.add_argument("admdvs")
    std_set.add_argument("insutype", choices=sorted(KINDS))
    std_set.add_argument("year", type=int)
    std_set.add_argument("amount")
    std_set.add_argument("--source", required=True, help="where the figure comes from")
    args = parser.parse_args()
    settings = PlatformSettings()
    if args.command == "list":
        asyncio.run(list_settlements(settings, args.state, args.older_than, args.limit))
        return 0
    if args.command == "show":
        return asyncio.run(show(settings, args.setl_id))
    if args.command == "standards":
        return standards(settings, args)
    return asyncio.run(books(settings))


if __name__ == "__main__":
    sys.exit(main())
