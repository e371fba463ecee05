"""What the services' database sessions wait for: `python -m tools.bench_waits [--seconds N] [-- <command ...>]`.

Samples `pg_stat_activity` every 20 ms (for N seconds, or while the command runs) and prints, per service, how many
of its sessions were on average in each state: working in PostgreSQL (`CPU`), waiting on another transaction's
lock (`Lock:transactionid`, `Lock:tuple`), on the WAL (`IO:WALSync`), or idle inside a transaction while the service
itself computes (`idle in transaction/ClientRead`). Idle sessions outside a transaction are left out. Where the
sessions wait for their service, the service's process is what bounds the throughput; where they wait on locks,
contention is.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections import Counter

import asyncpg

from shared.settings import SERVICES, PlatformSettings
from tools.bench_costs import admin_dsn

ROLES = (*SERVICES, "console")


async def sample(dsn: str, done: asyncio.Event, every: float = 0.02) -> tuple[int, Counter[tuple[str, str]]]:
    conn = await asyncpg.connect(dsn)
    counts: Counter[tuple[str, str]] = Counter()
    samples = 0
    try:
        while not done.is_set():
            rows = await conn.fetch(
                """SELECT usename, state, coalesce(wait_event_type, 'CPU') AS kind, coalesce(wait_event, '') AS event
                   FROM pg_stat_activity
                   WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND usename = ANY($1::text[])
                     AND state <> 'idle'""",
                list(ROLES),
            )
            samples += 1
            for r in rows:
                if r["state"] == "active":
                    what = f"{r['kind']}:{r['event']}" if r["event"] else r["kind"]
                else:
                    what = f"{r['state']}/{r['event']}" if r["event"] else r["state"]
                counts[(r["usename"], what)] += 1
            await asyncio.sleep(every)
    finally:
        await conn.close()
    return samples, counts


async def run(seconds: float, command: list[str]) -> int:
    done = asyncio.Event()
    sampling = asyncio.create_task(sample(admin_dsn(PlatformSettings()), done))
    code = 0
    if command:
        code = await asyncio.to_thread(subprocess.call, command)
    else:
        await asyncio.sleep(seconds)
    done.set()
    samples, counts = await sampling
    print(f"database sessions of the services, {samples} samples: average sessions in each state")
    for (role, what), n in sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[1])):
        if n / samples >= 0.005:
            print(f"  {role:<13} {n / samples:6.2f}  {what}")
    return code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long, when no command is given")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- and the command to sample while it runs")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    started = time.monotonic()
    code = asyncio.run(run(args.seconds, command))
    print(f"sampled for {time.monotonic() - started:.1f} s")
    sys.exit(code)


if __name__ == "__main__":
    main()
