"""What one read-your-writes wait costs (ADR 0012): `python -m tools.bench_catch_up [--waits N]` against a running
platform (make up). Times the wallet's own wait, as its ingress consumer does it before judging a request: the
high watermarks of relationship.events.v1 read after the call began (ListOffsets), then the follower's tracking
records read from the wallet's schema. First N waits one after another (one consumer, one partition), then
--callers at a time (a service's consumers at once share ListOffsets round trips)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Mapping

from shared.contracts.topics import RELATIONSHIP_EVENTS
from shared.db.pool import create_pool
from shared.messaging.catch_up import CatchUp, KafkaEndOffsets, Watermarks
from shared.messaging.security import SIMULATOR, aiokafka_security
from tools.bench import percentile


async def bench(waits: int, callers: int) -> None:
    from shared.settings import PlatformSettings

    settings = PlatformSettings()
    pool = await create_pool(settings.dsn("wallet"), max_size=8)
    fetches = 0
    end_offsets = KafkaEndOffsets(
        settings.kafka_bootstrap, "medaid-bench-catch-up", security=aiokafka_security(settings, SIMULATOR)
    )

    async def counted(topics: tuple[str, ...]) -> Mapping[str, Mapping[int, int]]:
        nonlocal fetches
        fetches += 1
        return await end_offsets(topics)

    gate = CatchUp(pool, "wallet", (RELATIONSHIP_EVENTS,), Watermarks(counted))
    try:
        await gate.wait()  # connections and metadata
        one_by_one = []
        for _ in range(waits):
            started = time.perf_counter()
            await gate.wait()
            one_by_one.append((time.perf_counter() - started) * 1000)
        one_by_one.sort()
        print(
            f"catch-up wait, one after another x{waits}: p50 {percentile(one_by_one, 0.5):.2f} ms, "
            f"p95 {percentile(one_by_one, 0.95):.2f} ms, p99 {percentile(one_by_one, 0.99):.2f} ms "
            f"(follower behind in {gate.waits} of them)"
        )
        fetches = 0

        async def timed() -> float:
            started = time.perf_counter()
            await gate.wait()
            return (time.perf_counter() - started) * 1000

        together: list[float] = []
        rounds = max(1, waits // callers)
        for _ in range(rounds):
            together += await asyncio.gather(*(timed() for _ in range(callers)))
        together.sort()
        print(
            f"catch-up wait, {callers} callers at once x{rounds}: p50 {percentile(together, 0.5):.2f} ms, "
            f"p95 {percentile(together, 0.95):.2f} ms, p99 {percentile(together, 0.99):.2f} ms; "
            f"{fetches / rounds:.1f} ListOffsets round trips per {callers} waits"
        )
    finally:
        await end_offsets.close()
        await pool.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--waits", type=int, default=1000)
    parser.add_argument("--callers", type=int, default=24, help="waits at once (about a service's consumers)")
    args = parser.parse_args()
    asyncio.run(bench(args.waits, args.callers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
