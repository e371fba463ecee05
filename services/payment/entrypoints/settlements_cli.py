"""Operators look at settlements: `python -m services.payment.entrypoints.settlements_cli list|show|books`

  list [--state debiting|completed|refused|cancelling|cancelled] [--older-than MINUTES] [--limit N]
  show SETL_ID          one settlement or contribution, what each source paid, and its undoing
  books                 the payment service's books check
Connects as the payment service (MEDAID_* settings).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from services.payment.adapters.books import check_books
from services.payment.adapters.settlement_views import settlement_counts, settlement_details, settlement_listing
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
    args = parser.parse_args()
    settings = PlatformSettings()
    if args.command == "list":
        asyncio.run(list_settlements(settings, args.state, args.older_than, args.limit))
        return 0
    if args.command == "show":
        return asyncio.run(show(settings, args.setl_id))
    return asyncio.run(books(settings))


if __name__ == "__main__":
    sys.exit(main())
