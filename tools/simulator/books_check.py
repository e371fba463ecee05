"""The books after a run: the platform's (wallet, payment and clearing cross-checked, tools/books.py), waited for
until every service has caught up; and the wallet's ledger, with each credit the simulator saw completed booked
once."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from decimal import Decimal

from services.wallet.adapters.books import check_books
from shared.db.pool import Conn, connect
from tools.books import PlatformBooks, platform_books
from tools.simulator.model import Traffic
from tools.simulator.state import RunState


async def quiet(state: RunState, deadline: float, patience: float = 15.0) -> PlatformBooks:
    """The platform's books once every service has caught up: nothing waits for the wallet and the cross-service
    checks (payment = wallet, clearing = cross-region spending) hold; or as they are after `patience` seconds.
    (A service's own invariants do not change by waiting.)"""
    until = min(deadline, time.monotonic() + patience)
    while True:
        books = await platform_books(state.settings)
        lagging = [k for k, bad in books.problems.items() if bad and (k.startswith("platform:") or "wait" in k)]
        if not lagging or time.monotonic() >= until:
            return books
        await asyncio.sleep(0.3)


async def credits_booked_once(conn: Conn, traffic: Traffic) -> tuple[list[str], int, Decimal]:
    """Each credit the provinces were answered `completed` booked once, to the fen: the accounts whose ledger credits
    differ from those answers, how many accounts were credited, and the total."""
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for msgid, (psn_no, amount) in traffic.credit_msgids.items():
        answer = traffic.answer(msgid)
        if answer and answer["status"] == "completed":
            expected[psn_no] += amount
    rows = await conn.fetch(
        """SELECT credit_account, sum(amount) AS credited FROM transfers
           WHERE code LIKE 'credit.%' AND credit_account = ANY($1::text[]) GROUP BY credit_account""",
        [f"personal:{p}" for p in expected],
    )
    actual = {r["credit_account"].removeprefix("personal:"): r["credited"] for r in rows}
    mismatched = [
        f"{p}: answered {amount} vs booked {actual.get(p)}" for p, amount in expected.items() if actual.get(p) != amount
    ]
    return mismatched, len(expected), sum(expected.values(), Decimal("0.00"))


async def wallet_books(state: RunState) -> bool:
    """Prints the wallet ledger's own checks and whether every completed credit was booked once; True if all hold."""
    conn = await connect(state.settings.dsn("wallet"))
    try:
        problems = await check_books(conn)
        mismatched, accounts, total = await credits_booked_once(conn, state.traffic)
    finally:
        await conn.close()
    print("\n== Books check (wallet ledger) ==")
    for name, bad in problems.items():
        print(f"  {name:32} {'ok' if not bad else 'FAILED: ' + ', '.join(bad[:5])}")
    verdict = "ok" if not mismatched else f"FAILED for {len(mismatched)} accounts"
    print(f"  {'credits booked once each':32} {verdict} ({accounts} accounts, {total:.2f} yuan credited)")
    return not mismatched and not any(problems.values())
