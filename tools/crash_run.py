"""Crashes under load: transfer sagas through the province interface while the stack is broken on purpose.

    python -m tools.crash_run [--families N]      # against a running stack (make crash: make up-daytime first)

It sets up N families as tools.bench_saga does, then sends their N transfer requests and, once answered, their N
accepts. While each phase's records are in flight, it breaks the stack with the project's own scripts:
  * transfer requests: PostgreSQL restarted (deploy/local/postgres.sh stop, start), then the wallet SIGKILLed
    and started again;
  * transfer accepts: the wallet SIGKILLed at once and started again, then the Kafka broker(s) stopped and
    started again.
Each server stays away for OUTAGE_SECONDS.
A service that exited while its server was away is started again, as a supervisor would.

Then it checks, and exits 1 unless all hold:
  * every request and accept got exactly one answer (one answer msgid; a record delivered twice is fine);
  * every transfer is `completed`, in the notifications and in the wallet's own table;
  * the platform's books balance (tools.books: each service's invariants and conservation across them).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from shared.db.pool import connect
from shared.settings import PlatformSettings
from tools.bench_saga import Saga
from tools.books import platform_books

OUTAGE_SECONDS = 2.0  # how long PostgreSQL and Kafka stay away
LOCAL = Path(__file__).resolve().parents[1] / "deploy" / "local"


def script(name: str, *args: str, env: Mapping[str, str] | None = None) -> str:
    """Runs a deploy/local script (in `env`, default this process's); returns the services it says it started
    (services.sh start)."""
    proc = subprocess.run(
        [str(LOCAL / name), *args], capture_output=True, text=True, check=False, env=None if env is None else dict(env)
    )
    if proc.returncode != 0:
        raise SystemExit(f"{name} {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    started = re.findall(r"\] (\S+) started \(pid", proc.stderr)
    return f" ({', '.join(started) or 'none'})" if args[0] == "start" and name == "services.sh" else ""


class CrashRun(Saga):
    def __init__(self, settings: PlatformSettings, n: int) -> None:
        super().__init__(settings, n)
        self.patience = 300.0
        self.log: list[tuple[float, str]] = []

    async def act(self, what: str, name: str, *args: str) -> None:
        started = time.monotonic()
        what += await asyncio.to_thread(script, name, *args)
        self.log.append((time.monotonic() - started, what))
        print(f"  {what}: {time.monotonic() - started:.1f} s", file=sys.stderr)

    async def during(self, phase: str) -> None:
        if phase == "transfer.requested":
            await self.act("PostgreSQL stopped", "postgres.sh", "stop")
            await asyncio.sleep(OUTAGE_SECONDS)
            await self.act("PostgreSQL started", "postgres.sh", "start")
            await self.act("services that exited started again", "services.sh", "start")
            await self.act("wallet SIGKILLed", "services.sh", "kill", "wallet")
            await self.act("wallet started", "services.sh", "start", "wallet")
        elif phase == "transfer.accepted":
            await self.act("wallet SIGKILLed", "services.sh", "kill", "wallet")
            await self.act("wallet started", "services.sh", "start", "wallet")
            await self.act("Kafka stopped", "kafka.sh", "stop")
            await asyncio.sleep(OUTAGE_SECONDS)
            await self.act("Kafka started", "kafka.sh", "start")
            await self.act("services that exited started again", "services.sh", "start")

    async def verdict(self) -> list[str]:
        problems = [
            f"{m}: {len(self.answers.get(m, ()))} answers" for m in self.requests if len(self.answers.get(m, ())) != 1
        ]
        problems += [f"{t}: no transfer.completed" for t in self.transfer_ids if t not in self.completed]
        conn = await connect(self.settings.dsn("wallet"))
        try:
            rows = await conn.fetch(
                "SELECT state, count(*) AS n FROM transfer_sagas WHERE transfer_id = ANY($1::text[]) GROUP BY 1",
                self.transfer_ids,
            )
        finally:
            await conn.close()
        states = {r["state"]: r["n"] for r in rows}
        if states != {"completed": len(self.transfer_ids)}:
            problems.append(f"transfer states in the wallet: {states}")
        books = await platform_books(self.settings)
        problems += [f"{name}: {offenders[:3]}" for name, offenders in books.problems.items() if offenders]
        return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", type=int, default=300)
    args = parser.parse_args()
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # the watcher's reconnect attempts while Kafka is away
    run = CrashRun(PlatformSettings(), args.families)
    r = asyncio.run(run.go())
    problems = asyncio.run(run.verdict())
    print(
        f"crash run x{r['families']:.0f}: {r['completed']:.0f} transfers completed in {r['seconds']:.1f} s through "
        + ", ".join(what for _, what in run.log)
    )
    print(
        "\n".join(f"  PROBLEM {p}" for p in problems)
        or "every request answered once, every transfer completed, the books balance"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
