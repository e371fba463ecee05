"""How long a poisoned partition takes to resume: `python -m tools.bench_poison [--pairs N] [--rate R]`.

Against a running platform (make up). Each pair is one hostile record on ingress.enrollment.v1 (deep nesting,
a lone surrogate, invalid UTF-8, a number that overflows, NUL bytes, a body that is not an object, a record of
900 KB: in turn) and, right after it with the same key (so on the same partition, behind it), an ordinary
`account.credited` (of a person nobody enrolled: refused SENDER_NOT_ALLOWED, a full pass through the wallet's
consumer, judged and answered, without the ledger). The figure is the ordinary record's publish -> answer time.
In the same run, as many ordinary records are sent alone (no poison ahead of them), at the same rate: the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from datetime import datetime

from aiokafka import AIOKafkaProducer

from shared.clock import BUSINESS_TZ
from shared.contracts.topics import INGRESS_ENROLLMENT, province_topic
from shared.messaging.security import SIMULATOR, kafka_client
from shared.settings import PlatformSettings, signing_keys_path
from shared.signing import SigningKeys
from tools.bench import percentile, watch_from_now
from tools.clock import stack_now

SENDER = "440300"


def poison(i: int, msgid: str) -> bytes:
    """The i-th hostile record (its sender is readable where the record allows it, so it is also answered)."""
    head = f'{{"msgid": "{msgid}", "type": "account.credited", "sender": "{SENDER}", '
    kinds = [
        (head + '"body": ' + "[" * 5000 + "]" * 5000 + "}").encode(),
        (head + '"body": {"psn_no": "\\ud800", "amount": "1.00", "period": "202611"}}').encode(),
        b'{"msgid": "\xff\xfe", "type": "account.credited"}',
        (head + '"body": {"psn_no": "1", "amount": 1e309, "period": "202611"}}').encode(),
        (head + '"body": {"psn_no": "\u0000\u0000", "amount": "1.00", "period": "202611"}}').encode(),
        b'["not", "an", "object"]',
        (head + '"body": {"psn_no": "' + "9" * 900_000 + '", "amount": "1.00", "period": "202611"}}').encode(),
    ]
    return kinds[i % len(kinds)]


async def run(settings: PlatformSettings, pairs: int, rate: float) -> tuple[list[float], list[float]]:
    consumer = await watch_from_now(settings, province_topic(SENDER))
    producer = AIOKafkaProducer(
        **kafka_client(settings, SIMULATOR), enable_idempotence=True, acks="all", max_request_size=2 << 20
    )
    await producer.start()
    keys = SigningKeys.load(signing_keys_path(settings))
    run_id = f"{random.randrange(10**6):06d}"
    sent: dict[str, tuple[float, bool]] = {}
    answered: dict[str, float] = {}

    async def collect() -> None:
        while len(answered) < len(sent) or len(sent) < 2 * pairs:
            for recs in (await consumer.getmany(timeout_ms=200)).values():
                now = time.monotonic()
                for r in recs:
                    omsgid = json.loads(r.value)["body"].get("omsgid")
                    if omsgid in sent and omsgid not in answered:
                        answered[omsgid] = now

    collector = asyncio.create_task(collect())
    stamp = f"{datetime.now(BUSINESS_TZ):%Y%m%d%H%M%S}"
    for i in range(2 * pairs):
        poisoned = i % 2 == 0
        psn_no = f"{SENDER}98{run_id}{i:06d}"
        msgid = f"{SENDER}{stamp}{run_id}{i:04d}"[:30]
        if poisoned:
            bad = f"{SENDER}{stamp}{run_id}{i:04d}"[:28] + "px"
            await producer.send_and_wait(INGRESS_ENROLLMENT, poison(i // 2, bad), key=psn_no.encode())
        value = {
            "msgid": msgid,
            "type": "account.credited",
            "sender": SENDER,
            "sent_at": stack_now().isoformat(timespec="seconds"),
            "body": {"psn_no": psn_no, "amount": "1.00", "period": "202611", "kind": "contribution"},
        }
        sent[msgid] = (time.monotonic(), poisoned)
        raw = json.dumps(value).encode()
        await producer.send_and_wait(INGRESS_ENROLLMENT, raw, key=psn_no.encode(), headers=keys.record_headers(raw))
        await asyncio.sleep(1 / rate)
    try:
        await asyncio.wait_for(collector, timeout=120.0)
    finally:
        await producer.stop()
        await consumer.stop()
    behind = sorted((answered[m] - t) * 1000 for m, (t, p) in sent.items() if p and m in answered)
    alone = sorted((answered[m] - t) * 1000 for m, (t, p) in sent.items() if not p and m in answered)
    return behind, alone


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=70)
    parser.add_argument("--rate", type=float, default=5.0, help="ordinary records per second")
    args = parser.parse_args()
    behind, alone = asyncio.run(run(PlatformSettings(), args.pairs, args.rate))
    for name, values in (("behind a poisoned record", behind), ("alone (baseline)", alone)):
        print(
            f"account.credited {name}: {len(values)}/{args.pairs} answered; publish -> answer p50 "
            f"{percentile(values, 0.5):.0f} ms, p95 {percentile(values, 0.95):.0f} ms, max {values[-1]:.0f} ms"
        )
    return 0 if len(behind) == len(alone) == args.pairs else 1


if __name__ == "__main__":
    sys.exit(main())
