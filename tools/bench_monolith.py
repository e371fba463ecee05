"""The monolith baseline: `python -m tools.bench_monolith [--transfers N] [--connections C]`.

What one PostgreSQL statement per transfer does on the same server the platform uses: dedupe the request id,
debit the sender only if the balance covers it, credit the recipient, write the ledger row, commit (one WAL flush
a transfer, `synchronous_commit` as the server has it). No broker, no services, no read-your-writes, no answer
to anyone. `tools.bench_saga` runs it in the same run and prints the platform's ratio to it.

The tables are made in the wallet role's schema under a `bench_monolith_` prefix and dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from decimal import Decimal
from typing import Any

import asyncpg

from shared.settings import PlatformSettings
from tools.bench import percentile

TRANSFER = """
WITH dedupe AS (
    INSERT INTO bench_monolith_requests (id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id
), debit AS (
    UPDATE bench_monolith_accounts SET balance = balance - $4
    WHERE id = $2 AND balance >= $4 AND EXISTS (SELECT 1 FROM dedupe) RETURNING id
), credit AS (
    UPDATE bench_monolith_accounts SET balance = balance + $4
    WHERE id = $3 AND EXISTS (SELECT 1 FROM debit) RETURNING id
)
INSERT INTO bench_monolith_ledger (request_id, debit_account, credit_account, amount)
SELECT $1, $2, $3, $4 FROM credit
"""


async def _setup(conn: asyncpg.Connection[Any], accounts: int) -> None:
    await _drop(conn)
    await conn.execute(
        """CREATE TABLE bench_monolith_accounts (id int PRIMARY KEY, balance numeric(16,2) NOT NULL);
           CREATE TABLE bench_monolith_requests (id uuid PRIMARY KEY);
           CREATE TABLE bench_monolith_ledger (id bigserial PRIMARY KEY, request_id uuid NOT NULL,
               debit_account int NOT NULL, credit_account int NOT NULL, amount numeric(16,2) NOT NULL)"""
    )
    await conn.execute(
        "INSERT INTO bench_monolith_accounts SELECT g, 3000.00 FROM generate_series(0, $1 - 1) g", accounts
    )


async def _drop(conn: asyncpg.Connection[Any]) -> None:
    await conn.execute("DROP TABLE IF EXISTS bench_monolith_accounts, bench_monolith_requests, bench_monolith_ledger")


async def monolith(settings: PlatformSettings, transfers: int, connections: int) -> dict[str, float]:
    """`transfers` one-statement transfers between distinct pairs of accounts over `connections` connections."""
    admin = await asyncpg.connect(settings.dsn("wallet"))
    try:
        await _setup(admin, 2 * transfers)
        conns = [await asyncpg.connect(settings.dsn("wallet")) for _ in range(connections)]
        latencies: list[float] = []
        work = list(range(transfers))

        async def worker(conn: asyncpg.Connection[Any]) -> None:
            stmt = await conn.prepare(TRANSFER)
            while work:
                i = work.pop()
                t = time.perf_counter()
                await stmt.fetch(uuid.uuid4(), 2 * i, 2 * i + 1, Decimal("100.00"))
                latencies.append(time.perf_counter() - t)

        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in conns))
        elapsed = time.perf_counter() - started
        for c in conns:
            await c.close()
        done = await admin.fetchval("SELECT count(*) FROM bench_monolith_ledger")
        await _drop(admin)
    finally:
        await admin.close()
    latencies.sort()
    return {
        "transfers": float(done),
        "connections": float(connections),
        "per_second": done / elapsed,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


def describe(r: dict[str, float]) -> str:
    return (
        f"monolith baseline: {r['transfers']:.0f} one-statement transfers over {r['connections']:.0f} connection(s) "
        f"= {r['per_second']:.0f}/s; p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transfers", type=int, default=10_000)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    for c in args.connections:
        print(describe(asyncio.run(monolith(PlatformSettings(), args.transfers, c))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
