"""Operators and clearing: `python -m services.clearing.entrypoints.clearing_cli months|close|statement|books`

  months                      every month with obligations: items, open or closed, statements and answers
  close YYYYMM                close an ended month now (as clearing.close-requested would; the running
                              service's relay publishes the statements)
  statement YYYYMM ADMDVS     one region's statement with its lines by counterpart
  books                       the clearing service's books check
Connects as the clearing service (MEDAID_* settings; on the clearing service's business clock as it recorded it).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from rich.console import Console
from rich.table import Table

from services.clearing.adapters.books import check_books
from services.clearing.adapters.clearing_repository import ClearingRepository
from services.clearing.domain import commands
from services.clearing.entrypoints.unit_of_work import postgres_context
from services.clearing.service_layer.close_month import close_month_now
from shared.caller import Caller
from shared.db.books import print_books
from shared.db.business_clock import clock_of_service
from shared.db.pool import connect
from shared.messaging.outbox import Outbox
from shared.settings import PlatformSettings

CONSOLE = Console(width=140, highlight=False)


async def months(settings: PlatformSettings) -> int:
    conn = await connect(settings.dsn("clearing"))
    try:
        rows = await ClearingRepository(conn).months()
    finally:
        await conn.close()
    table = Table("month", "items", "gross", "state", "statements", title="Clearing months", title_justify="left")
    for r in rows:
        state = f"closed {r['closed_at']:%Y-%m-%d %H:%M} by {r['closed_by']}" if r["closed_at"] else "open"
        answers = f"{r['statements']} ({r['confirmed']} confirmed, {r['disputed']} disputed)"
        table.add_row(r["period"], str(r["items"]), str(r["gross"]), state, answers if r["closed_at"] else "")
    CONSOLE.print(table)
    return 0


async def close(settings: PlatformSettings, period: str) -> int:
    conn = await connect(settings.dsn("clearing"))
    try:
        clock = await clock_of_service(conn, settings.clock_offset_seconds)
        async with conn.transaction():
            decision = await close_month_now(
                commands.CloseMonthNow(period, "operator"), postgres_context(conn, Caller(clock))
            )
            await Outbox("clearing", "clearing", clock).enqueue(conn, decision.messages)
    finally:
        await conn.close()
    style = "green" if decision.status == "completed" else "red"
    reason = f" {decision.reason_code}: {decision.reason}" if decision.reason else ""
    CONSOLE.print(f"{period}: [{style}]{decision.status}[/]{reason}")
    return 0 if decision.status == "completed" else 1


async def statement(settings: PlatformSettings, period: str, admdvs: str) -> int:
    conn = await connect(settings.dsn("clearing"))
    try:
        s = await ClearingRepository(conn).statement(period, admdvs)
    finally:
        await conn.close()
    if s is None:
        print(f"no statement for {admdvs} in {period}")
        return 1
    print(f"{s.statement_id}: owes {s.owes} owed {s.owed} net {s.net} ({s.answer.value})")
    for line in s.lines:
        print(f"  {line.counterpart}  owes {line.owes:>14}  owed {line.owed:>14}  net {line.net:>14}")
    return 0


async def books(settings: PlatformSettings) -> int:
    return await print_books(settings.dsn("clearing"), check_books)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("months")
    closing = sub.add_parser("close")
    closing.add_argument("period")
    showing = sub.add_parser("statement")
    showing.add_argument("period")
    showing.add_argument("admdvs")
    sub.add_parser("books")
    args = parser.parse_args()
    settings = PlatformSettings()
    if args.command == "months":
        return asyncio.run(months(settings))
    if args.command == "close":
        return asyncio.run(close(settings, args.period))
    if args.command == "statement":
        return asyncio.run(statement(settings, args.period, args.admdvs))
    return asyncio.run(books(settings))


if __name__ == "__main__":
    sys.exit(main())
