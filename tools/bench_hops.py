"""Where a credit's latency goes: `python -m tools.bench_hops --messages N --rate R`.

Sends `account.credited` at a steady rate, as tools.bench does, and splits each answer's latency into hops by
wall-clock stamps on this machine: sent by the province -> the wallet's batch transaction began (`inbox.received_at`)
-> the relay's transaction that published the answer began (`outbox.published_at`) -> the answer produced (its
record's CreateTime) -> the province's consumer received it. Prints p50, p95, p99 and the maximum of each hop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from datetime import datetime

import asyncpg
from aiokafka import AIOKafkaProducer

from shared.clock import BUSINESS_TZ
from shared.contracts.topics import INGRESS_ENROLLMENT, province_topic
from shared.messaging.security import SIMULATOR, kafka_client
from shared.settings import PlatformSettings, signing_keys_path
from shared.signing import SigningKeys
from tools.bench import SENDER, credit, enrol, percentile, watch_from_now
from tools.bench_costs import admin_dsn


async def measure(n: int, rate: float) -> None:
    settings = PlatformSettings()
    consumer = await watch_from_now(settings, province_topic(SENDER))
    producer = AIOKafkaProducer(**kafka_client(settings, SIMULATOR), enable_idempotence=True, acks="all")
    await producer.start()
    keys = SigningKeys.load(signing_keys_path(settings))
    run = f"{random.randrange(10**6):06d}"
    stamp = f"{datetime.now(BUSINESS_TZ):%Y%m%d%H%M%S}"
    people = 200
    await enrol(producer, consumer, keys, [f"{SENDER}99{run}{i:06d}" for i in range(people)], stamp)
    sent: dict[str, float] = {}
    got: dict[str, float] = {}
    created: dict[str, float] = {}

    async def collect() -> None:
        while len(got) < n:
            for recs in (await consumer.getmany(timeout_ms=100)).values():
                now = time.time()
                for r in recs:
                    o = json.loads(r.value)["body"].get("omsgid")
                    if o in sent and o not in got:
                        got[o] = now
                        created[o] = r.timestamp / 1000

    task = asyncio.create_task(collect())
    t0 = time.monotonic()
    for i in range(n):
        psn_no = f"{SENDER}99{run}{i % people:06d}"
        msgid = f"{SENDER}{stamp}{run}{i:04d}"[:30]
        raw = credit(psn_no, msgid)
        sent[msgid] = time.time()
        await producer.send(INGRESS_ENROLLMENT, raw, key=psn_no.encode(), headers=keys.record_headers(raw))
        await asyncio.sleep(max(0.0, t0 + (i + 1) / rate - time.monotonic()))
    await asyncio.wait_for(task, 120)
    await producer.stop()
    await consumer.stop()
    conn = await asyncpg.connect(admin_dsn(settings))
    rows = await conn.fetch(
        """SELECT i.msgid, extract(epoch FROM i.received_at) AS rec, extract(epoch FROM o.published_at) AS pub
           FROM wallet.inbox i JOIN wallet.outbox o
             ON o.topic = $3 AND convert_from(o.value, 'UTF8')::jsonb -> 'body' ->> 'omsgid' = i.msgid
           WHERE i.sender = $1 AND i.msgid = ANY($2::text[])""",
        SENDER,
        list(sent),
        province_topic(SENDER),
    )
    await conn.close()
    hops: dict[str, list[float]] = {
        k: []
        for k in (
            "1 sent -> wallet's transaction began",
            "2 transaction began -> relay's transaction began",
            "3 relay's transaction began -> answer produced",
            "4 answer produced -> client received",
            "total",
        )
    }
    for r in rows:
        m = r["msgid"]
        if m not in got:
            continue
        vals = [
            float(r["rec"]) - sent[m],
            float(r["pub"]) - float(r["rec"]),
            created[m] - float(r["pub"]),
            got[m] - created[m],
            got[m] - sent[m],
        ]
        for k, seconds in zip(hops, vals, strict=True):
            hops[k].append(seconds * 1000)
    print(f"{len(rows)} credits at {rate}/s")
    for k, ms in hops.items():
        ms.sort()
        p50, p95, p99 = (percentile(ms, q) for q in (0.5, 0.95, 0.99))
        print(f"  {k:<52} p50 {p50:7.1f}  p95 {p95:7.1f}  p99 {p99:7.1f}  max {ms[-1]:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0, help="credits per second")
    args = parser.parse_args()
    asyncio.run(measure(args.messages, args.rate))


if __name__ == "__main__":
    main()
