"""Registry listing benchmark (issue 15): `python -m tools.bench_registry [--institutions N] [--pages P]` against a
running platform (make up).

1. Load: N institutions (default 650,000, a national registry) straight into the payment schema with COPY, spread
   over every region of the 31 provinces (kept: a second run tops up to N and does not load again).
2. Measure, through the real broker: P `registry.query-requested` one after another, each the next page (500
   institutions) of a province's listing by cursor, timed from publish to the `registry.listing` arriving on the
   requester's province topic. Baseline in the same run: the same page's SQL alone on the payment schema.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from datetime import datetime

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.payment.adapters.registry_repository import RegistryRepository
from shared.clock import BUSINESS_TZ
from shared.contracts.topics import INGRESS_REGISTRY, PROVINCES, province_topic
from shared.messaging.security import SIMULATOR, kafka_client
from shared.settings import PlatformSettings, signing_keys_path
from shared.signing import SigningKeys
from tools.bench import percentile
from tools.clock import stack_now

SENDER = "440300"
PROVINCE = "440000"


async def load(settings: PlatformSettings, wanted: int) -> int:
    conn = await asyncpg.connect(settings.dsn("payment"))
    try:
        have = int(await conn.fetchval("SELECT count(*) FROM institutions WHERE fixmedins_name LIKE 'bench %'"))
        if have >= wanted:
            return have
        regions = [f"{p[:2]}{r:02d}00" for p in PROVINCES for r in range(1, 21)]
        rows = [
            (
                f"{'H' if n % 4 else 'P'}{regions[n % len(regions)]}{n // len(regions):05d}",
                f"bench {n}",
                "1" if n % 4 else "2",
                regions[n % len(regions)],
                n % 3 != 0,
            )
            for n in range(have, wanted)
        ]
        await conn.copy_records_to_table(
            "institutions",
            records=rows,
            columns=["fixmedins_code", "fixmedins_name", "fixmedins_type", "admdvs", "wallet_enabled"],
        )
        await conn.execute("ANALYZE institutions")
        return wanted
    finally:
        await conn.close()


async def baseline(settings: PlatformSettings, cursors: list[str | None]) -> list[float]:
    conn = await asyncpg.connect(settings.dsn("payment"))
    try:
        repo = RegistryRepository(conn)
        times = []
        for cursor in cursors:
            after = ("", "") if cursor is None else tuple(cursor.split(":"))
            started = time.perf_counter()
            await repo.institutions(PROVINCE, None, (after[0], after[1]), 501)
            times.append((time.perf_counter() - started) * 1000)
        return sorted(times)
    finally:
        await conn.close()


async def bench(settings: PlatformSettings, pages: int) -> tuple[list[float], list[str | None]]:
    consumer = AIOKafkaConsumer(
        province_topic(SENDER), **kafka_client(settings, SIMULATOR), group_id=None, auto_offset_reset="latest"
    )
    await consumer.start()
    await consumer.getmany(timeout_ms=500)
    for tp in consumer.assignment():
        await consumer.position(tp)
    producer = AIOKafkaProducer(**kafka_client(settings, SIMULATOR), enable_idempotence=True, acks="all")
    await producer.start()
    keys = SigningKeys.load(signing_keys_path(settings))
    run = f"{random.randrange(10**6):06d}"
    latencies, cursors = [], []
    cursor: str | None = None
    try:
        for i in range(pages):
            msgid = f"{SENDER}{datetime.now(BUSINESS_TZ):%H%M%S}{run}{i:05d}{uuid.uuid4().int % 100:02d}"[:30]
            body = {"what": "institutions", "admdvs": PROVINCE, **({"cursor": cursor} if cursor else {})}
            value = {
                "msgid": msgid,
                "type": "registry.query-requested",
                "sender": SENDER,
                "sent_at": stack_now().isoformat(timespec="seconds"),
                "body": body,
            }
            raw = json.dumps(value).encode()
            cursors.append(cursor)
            started = time.perf_counter()
            await producer.send_and_wait(INGRESS_REGISTRY, raw, key=PROVINCE.encode(), headers=keys.record_headers(raw))
            listing = None
            while listing is None:
                for recs in (await consumer.getmany(timeout_ms=100)).values():
                    for r in recs:
                        v = json.loads(r.value)
                        if v.get("type") == "registry.listing" and v["body"].get("omsgid") == msgid:
                            listing = v["body"]
                if time.perf_counter() - started > 60:
                    raise SystemExit(f"no listing for {msgid} after 60 s")
            latencies.append((time.perf_counter() - started) * 1000)
            if len(listing["items"]) != 500:
                raise SystemExit(f"page {i}: {len(listing['items'])} items")
            cursor = listing.get("next_cursor")
    finally:
        await producer.stop()
        await consumer.stop()
    return sorted(latencies), cursors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--institutions", type=int, default=650_000)
    parser.add_argument("--pages", type=int, default=40)
    args = parser.parse_args()
    settings = PlatformSettings()
    started = time.perf_counter()
    loaded = asyncio.run(load(settings, args.institutions))
    print(f"registry: {loaded} institutions loaded ({time.perf_counter() - started:.1f} s)", file=sys.stderr)
    latencies, cursors = asyncio.run(bench(settings, args.pages))
    sql = asyncio.run(baseline(settings, cursors))
    for name, values in (
        ("registry.listing page of 500, publish -> listing", latencies),
        ("the page's SQL alone", sql),
    ):
        print(
            f"{name} x{len(values)}: p50 {percentile(values, 0.5):.1f} ms, p95 {percentile(values, 0.95):.1f} ms, "
            f"max {values[-1]:.1f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
