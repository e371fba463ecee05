"""Ingress benchmark: `python -m tools.bench [--messages N] [--rate R]` against a running platform (make up).

Enrols the people first (a personal account is credited only by its insured province), then publishes N
`account.credited` messages to ingress.enrollment.v1 (a burst, or R per second), waits
for every `request.result`, and reports throughput (answers per second, first publish to last
answer) and latency percentiles (publish to answer). Each message is a full pass through the
wallet service: tracking record, inbox, ledger transfer, outbox, commit, relay, broker.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.clock import BUSINESS_TZ
from shared.contracts.topics import INGRESS_ENROLLMENT, province_topic
from shared.messaging.security import SIMULATOR, kafka_client
from shared.settings import PlatformSettings, signing_keys_path
from shared.signing import SigningKeys
from tools.clock import stack_now

SENDER = "440300"


async def watch_from_now(settings: PlatformSettings, *topics: str) -> AIOKafkaConsumer:
    """A consumer of the topics (no group) standing at their ends: it sees only what comes after this."""
    consumer = AIOKafkaConsumer(*topics, **kafka_client(settings, SIMULATOR), group_id=None, auto_offset_reset="latest")
    await consumer.start()
    await consumer.getmany(timeout_ms=500)
    for tp in consumer.assignment():
        await consumer.position(tp)
    return consumer


def credit(psn_no: str, msgid: str) -> bytes:
    """A province's `account.credited` of 100.00 to `psn_no`, as its record's value."""
    value = {
        "msgid": msgid,
        "type": "account.credited",
        "sender": SENDER,
        "sent_at": stack_now().isoformat(timespec="seconds"),
        "body": {"psn_no": psn_no, "amount": "100.00", "period": "202611", "kind": "contribution"},
    }
    return json.dumps(value).encode()


def percentile(sorted_values: list[float], p: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


async def enrol(
    producer: AIOKafkaProducer, consumer: AIOKafkaConsumer, keys: SigningKeys, people: list[str], stamp: str
) -> None:
    """Before the measure: the people credited are enrolled in SENDER (only their insured province credits them)."""
    waiting: set[str] = set()
    for n, psn_no in enumerate(people):
        msgid = f"E{stamp}{psn_no[-12:]}"[:30]
        value = {
            "msgid": msgid,
            "type": "enrollment.changed",
            "sender": SENDER,
            "sent_at": stack_now().isoformat(timespec="seconds"),
            "body": {
                "psn_no": psn_no,
                "psn_name": "王芳",
                "psn_cert_type": "01",
                "certno": f"{SENDER}19700101{n % 10000:04d}",
                "insutype": "310",
                "psn_insu_stas": "1",
                "insuplc_admdvs": SENDER,
                "has_personal_account": True,
                "change_reason": "enrol",
                "effective_at": "2026-01-01T00:00:00+08:00",
            },
        }
        waiting.add(msgid)
        raw = json.dumps(value).encode()
        await producer.send(INGRESS_ENROLLMENT, raw, key=psn_no.encode(), headers=keys.record_headers(raw))
    await producer.flush()
    deadline = time.monotonic() + max(60.0, len(people) / 10)
    while waiting and time.monotonic() < deadline:
        for recs in (await consumer.getmany(timeout_ms=200)).values():
            for r in recs:
                waiting.discard(json.loads(r.value)["body"].get("omsgid"))
    if waiting:
        raise SystemExit(f"{len(waiting)} of {len(people)} enrolments were not answered")


async def bench(
    settings: PlatformSettings,
    messages: int,
    rate: float | None,
    people: int,
    measuring: Callable[[], Awaitable[None]] | None = None,
) -> dict[str, float]:
    """`measuring`, if given, is awaited once the people are enrolled, before the first credit (tools.bench_costs)."""
    consumer = await watch_from_now(settings, province_topic(SENDER))
    producer = AIOKafkaProducer(**kafka_client(settings, SIMULATOR), enable_idempotence=True, acks="all")
    await producer.start()
    keys = SigningKeys.load(signing_keys_path(settings))  # as each province signs what it sends
    run = f"{random.randrange(10**6):06d}"
    sent: dict[str, float] = {}
    answered: dict[str, float] = {}

    async def collect() -> None:
        while len(answered) < messages:
            for recs in (await consumer.getmany(timeout_ms=200)).values():
                now = time.monotonic()
                for r in recs:
                    body = json.loads(r.value)["body"]
                    if body.get("omsgid") in sent and body["omsgid"] not in answered:
                        answered[body["omsgid"]] = now

    stamp = f"{datetime.now(BUSINESS_TZ):%Y%m%d%H%M%S}"
    await enrol(producer, consumer, keys, [f"{SENDER}99{run}{i:06d}" for i in range(min(people, messages))], stamp)
    if measuring is not None:
        await measuring()
    collector = asyncio.create_task(collect())
    started = time.monotonic()
    for i in range(messages):
        psn_no = f"{SENDER}99{run}{i % people:06d}"
        msgid = f"{SENDER}{stamp}{run}{i:04d}"[:30]
        raw = credit(psn_no, msgid)
        sent[msgid] = time.monotonic()
        await producer.send(INGRESS_ENROLLMENT, raw, key=psn_no.encode(), headers=keys.record_headers(raw))
        if rate:
            await asyncio.sleep(max(0.0, started + (i + 1) / rate - time.monotonic()))
    await producer.flush()
    try:
        await asyncio.wait_for(collector, timeout=max(120.0, messages / 20))
    finally:
        await producer.stop()
        await consumer.stop()
    latencies = sorted((answered[m] - sent[m]) * 1000 for m in answered)
    elapsed = max(answered.values()) - started
    return {
        "messages": messages,
        "answered": len(answered),
        "seconds": elapsed,
        "per_second": len(answered) / elapsed,
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": latencies[-1],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=None, help="messages per second (default: one burst)")
    parser.add_argument("--people", type=int, default=500, help="distinct accounts credited")
    args = parser.parse_args()
    r = asyncio.run(bench(PlatformSettings(), args.messages, args.rate, args.people))
    mode = f"{args.rate:.0f}/s offered" if args.rate else "burst"
    print(
        f"account.credited x{r['messages']:.0f} ({mode}): {r['answered']:.0f} answered in {r['seconds']:.1f} s = "
        f"{r['per_second']:.0f}/s; latency p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms, "
        f"p99 {r['p99_ms']:.0f} ms, max {r['max_ms']:.0f} ms"
    )
    return 0 if r["answered"] == r["messages"] else 1


if __name__ == "__main__":
    sys.exit(main())
