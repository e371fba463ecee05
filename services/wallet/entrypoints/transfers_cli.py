"""Operators look at transfers: `python -m services.wallet.entrypoints.transfers_cli list|show|books`

  list [--state pending|completed|returned] [--older-than MINUTES] [--limit N]   newest first, with age and deadline
  show TRANSFER_ID                                                              one transfer and its step history
  books                                                                         the wallet's books check
Connects as the wallet service (MEDAID_* settings).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from services.wallet.adapters.books import check_books
from services.wallet.adapters.transfer_views import transfer_counts, transfer_history, transfer_listing
from shared.db.books import print_books
from shared.db.business_clock import clock_of_service
from shared.db.pool import connect
from shared.settings import PlatformSettings


async def list_transfers(settings: PlatformSettings, state: str | None, older_than: float | None, limit: int) -> None:
    conn = await connect(settings.dsn("wallet"))
    try:
        now = (await clock_of_service(conn, settings.clock_offset_seconds)).now()  # ages in business time
        rows = await transfer_listing(conn, state, older_than, limit, now)
        counts = await transfer_counts(conn)
    finally:
        await conn.close()
    print("  ".join(f"{r['state']}: {r['n']} ({r['amount']} yuan)" for r in counts) or "no transfers")
    for r in rows:
        age = str(r["age"]).split(".")[0]
        state_text = r["state"] + (f" ({r['return_reason']})" if r["return_reason"] else "")
        print(
            f"{r['transfer_id']}  {state_text:30} {r['amount']:>9}  {r['from_psn_no']} -> {r['to_psn_no']}  "
            f"age {age}  deadline {r['deadline'].isoformat()}"
        )


async def show(settings: PlatformSettings, transfer_id: str) -> int:
    conn = await connect(settings.dsn("wallet"))
    try:
        saga, steps = await transfer_history(conn, transfer_id)
    finally:
        await conn.close()
    if saga is None:
        print(f"no transfer {transfer_id}", file=sys.stderr)
        return 1
    for key, value in saga.items():
        print(f"{key:16} {value}")
    for s in steps:
        print(f"  {s['seq']:>2}. {s['at'].isoformat()}  {s['step']:12} {s['detail'] or ''}")
    return 0


async def books(settings: PlatformSettings) -> int:
    return await print_books(settings.dsn("wallet"), check_books)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_list = sub.add_parser("list")
    p_list.add_argument("--state", choices=["pending", "completed", "returned"])
    p_list.add_argument("--older-than", type=float, metavar="MINUTES")
    p_list.add_argument("--limit", type=int, default=50)
    p_show = sub.add_parser("show")
    p_show.add_argument("transfer_id")
    sub.add_parser("books")
    args = parser.parse_args(argv)
    settings = PlatformSettings()
    if args.command == "list":
        asyncio.run(list_transfers(settings, args.state, args.older_than, args.limit))
        return 0
    if args.command == "show":
        return asyncio.run(show(settings, args.transfer_id))
    return asyncio.run(books(settings))


if __name__ == "__main__":
    sys.exit(main())
