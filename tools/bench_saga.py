"""Transfer-saga benchmark: `python -m tools.bench_saga [--families N]` against a running platform (make up).

Sets up N families through the province interface (regions on, enrolments, credits, bind + consent,
wallets), then measures the saga alone: N `transfer.requested` (checks, hold, `accepted`) and, as the
answers arrive, N `transfer.accepted` (post, lot, `transfer.completed` to both provinces). Reports
completed transfers per second from the first request to the last completion notification, and the
latency percentiles of request -> accepted and accept -> completed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.contracts.topics import PROVINCE_TOPICS
from shared.messaging.security import SIMULATOR, kafka_client
from shared.settings import PlatformSettings, signing_keys_path
from shared.signing import SigningKeys
from tools.bench import percentile, watch_from_now
from tools.bench_monolith import describe, monolith
from tools.clock import stack_now

PROVIDER_REGION, RECIPIENT_REGION = "440300", "510100"


class Saga:
    def __init__(self, settings: PlatformSettings, n: int) -> None:
        self.settings = settings
        self.keys = SigningKeys.load(signing_keys_path(settings))  # each province signs what it sends
        self.n = n
        self.run = f"{random.randrange(10**6):06d}"
        self.seq = 0
        self.results: dict[str, tuple[float, dict[str, Any]]] = {}
        self.answers: dict[str, set[str]] = {}  # request msgid -> the msgids of the answers seen to it
        self.completed: dict[str, float] = {}
        self.patience = 120.0  # seconds each phase may wait for its last answer
        self.transfer_ids: list[str] = []
        self.requests: list[str] = []  # the transfer phase's msgids (requests and accepts)

    def msg(self, type_: str, body: dict[str, Any], sender: str) -> dict[str, Any]:
        self.seq += 1
        return {
            "msgid": f"{sender}{self.run}{self.seq:012d}",
            "type": type_,
            "sender": sender,
            "sent_at": stack_now().isoformat(timespec="seconds"),
            "body": body,
        }

    async def watch(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            for recs in (await consumer.getmany(timeout_ms=100)).values():
                now = time.monotonic()
                for r in recs:
                    v = json.loads(r.value)
                    if v["type"] == "request.result":
                        self.results.setdefault(v["body"]["omsgid"], (now, v["body"]))
                        self.answers.setdefault(v["body"]["omsgid"], set()).add(v["msgid"])
                    elif v["type"] == "transfer.completed":
                        self.completed.setdefault(v["body"]["transfer_id"], now)

    async def send_all(
        self, producer: AIOKafkaProducer, messages: list[tuple[str, dict[str, Any], str]], want: str | None = None
    ) -> dict[str, float]:
        sent = {}
        for topic, m, key in messages:
            sent[m["msgid"]] = time.monotonic()
            raw = json.dumps(m, ensure_ascii=False).encode()
            await producer.send(topic, raw, key=key.encode(), headers=self.keys.record_headers(raw))
        await producer.flush()
        await self.during(messages[0][1]["type"] if messages else "")
        deadline = time.monotonic() + self.patience
        while not all(m in self.results for m in sent) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        bad = [self.results[m][1] for m in sent if m in self.results and want and self.results[m][1]["status"] != want]
        if bad or len([m for m in sent if m in self.results]) < len(sent):
            raise SystemExit(f"setup failed: {bad[:3]} ({len(sent)} sent)")
        return sent

    async def during(self, phase: str) -> None:
        """Called once a phase's messages are all sent, before its answers are awaited (tools.crash_run)."""

    async def go(self) -> dict[str, float]:
        consumer = await watch_from_now(self.settings, *PROVINCE_TOPICS)
        watcher = asyncio.create_task(self.watch(consumer))
        producer = AIOKafkaProducer(**kafka_client(self.settings, SIMULATOR), enable_idempotence=True, acks="all")
        await producer.start()
        try:
            return await self.measure(producer)
        finally:
            watcher.cancel()
            await producer.stop()
            await consumer.stop()

    async def measure(self, producer: AIOKafkaProducer) -> dict[str, float]:
        pr, rr = PROVIDER_REGION, RECIPIENT_REGION
        fams = [(f"{pr}9{self.run}{i:07d}", f"{rr}9{self.run}{i:07d}", f"{rr}19800101{i:04d}") for i in range(self.n)]
        setup = time.monotonic()
        await self.send_all(
            producer,
            [
                (
                    "ingress.registry.v1",
                    self.msg("region.wallet-status-changed", {"admdvs": r, "wallet_enabled": True}, r),
                    r,
                )
                for r in (pr, rr)
            ],
            "completed",
        )
        people: list[tuple[str, dict[str, Any], str]] = []
        for p, r, cert in fams:
            for psn, region, insutype, account, c in (
                (p, pr, "310", True, f"{pr}19700101{p[-4:]}"),
                (r, rr, "390", False, cert),
            ):
                people.append(
                    (
                        "ingress.enrollment.v1",
                        self.msg(
                            "enrollment.changed",
                            {
                                "psn_no": psn,
                                "psn_name": "王芳",
                                "psn_cert_type": "01",
                                "certno": c,
                                "insutype": insutype,
                                "psn_insu_stas": "1",
                                "insuplc_admdvs": region,
                                "has_personal_account": account,
                                "change_reason": "enrol",
                                "effective_at": "2026-01-01T00:00:00+08:00",
                            },
                            region,
                        ),
                        psn,
                    )
                )
        await self.send_all(producer, people, "completed")
        # once enrolled (only the insured province credits an account, ADR 0012: judged on the enrolment)
        credits = [
            (
                "ingress.enrollment.v1",
                self.msg("account.credited", {"psn_no": p, "amount": "3000.00", "period": "202611"}, pr),
                p,
            )
            for p, _, _ in fams
        ]
        await self.send_all(producer, credits, "completed")
        binds = [
            (
                "ingress.relationship.v1",
                self.msg(
                    "relationship.bind-requested",
                    {
                        "provider_psn_no": p,
                        "recipient_psn_no": r,
                        "kinship": "parent",
                        "recipient_certno": cert,
                        "recipient_name": "王芳",
                    },
                    pr,
                ),
                p,
            )
            for p, r, cert in fams
        ]
        await self.send_all(producer, binds, "accepted")
        rids = [self.results[m[1]["msgid"]][1]["relationship_id"] for m in binds]
        await self.send_all(
            producer,
            [
                (
                    "ingress.relationship.v1",
                    self.msg("relationship.bind-confirmed", {"relationship_id": rid, "recipient_psn_no": r}, rr),
                    r,
                )
                for rid, (_, r, _) in zip(rids, fams, strict=True)
            ],
            "completed",
        )
        await self.send_all(
            producer,
            [
                (
                    "ingress.wallet.v1",
                    self.msg("wallet.open-requested", {"psn_no": r, "usage_admdvs": rr, "phone": "13800000000"}, rr),
                    r,
                )
                for _, r, _ in fams
            ],
            "completed",
        )
        await asyncio.sleep(1.5)  # the wallet learns the relationships from events
        print(f"setup of {self.n} families: {time.monotonic() - setup:.1f} s", file=sys.stderr)

        started = time.monotonic()
        requests = [
            (
                "ingress.wallet.v1",
                self.msg(
                    "transfer.requested",
                    {
                        "from_psn_no": p,
                        "to_psn_no": r,
                        "to_certno": cert,
                        "to_name": "王芳",
                        "amount": "100.00",
                        "verification": "face",
                        "verified": True,
                    },
                    pr,
                ),
                p,
            )
            for p, r, cert in fams
        ]
        sent = await self.send_all(producer, requests, "accepted")
        held = {m: self.results[m][0] - sent[m] for m in sent}
        tids = [self.results[m[1]["msgid"]][1]["transfer_id"] for m in requests]
        accepts = [
            ("ingress.wallet.v1", self.msg("transfer.accepted", {"transfer_id": t, "psn_no": r}, rr), r)
            for t, (_, r, _) in zip(tids, fams, strict=True)
        ]
        accept_sent = await self.send_all(producer, accepts, "completed")
        deadline = time.monotonic() + self.patience / 2
        while len([t for t in tids if t in self.completed]) < len(tids) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        done = [self.completed[t] for t in tids if t in self.completed]
        by_accept = sorted(
            self.completed[t] - accept_sent[a[1]["msgid"]]
            for t, a in zip(tids, accepts, strict=True)
            if t in self.completed
        )
        request_lat = sorted(held.values())
        elapsed = max(done) - started
        self.transfer_ids = tids
        self.requests = [m[1]["msgid"] for m in requests] + [m[1]["msgid"] for m in accepts]
        return {
            "families": self.n,
            "completed": len(done),
            "seconds": elapsed,
            "per_second": len(done) / elapsed,
            "request_p50_ms": percentile(request_lat, 0.5) * 1000,
            "request_p95_ms": percentile(request_lat, 0.95) * 1000,
            "accept_p50_ms": percentile(by_accept, 0.5) * 1000,
            "accept_p95_ms": percentile(by_accept, 0.95) * 1000,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", type=int, default=300)
    parser.add_argument(
        "--baseline-connections",
        type=int,
        default=4,
        help="the monolith baseline run after the saga, in the same run (tools.bench_monolith); 0: none",
    )
    args = parser.parse_args()
    settings = PlatformSettings()
    r = asyncio.run(Saga(settings, args.families).go())
    print(
        f"transfer saga x{r['families']:.0f}: {r['completed']:.0f} completed in {r['seconds']:.1f} s = "
        f"{r['per_second']:.0f} transfers/s (request -> hold -> accept -> lot); request -> accepted p50 "
        f"{r['request_p50_ms']:.0f} ms p95 {r['request_p95_ms']:.0f} ms; accept -> completed p50 "
        f"{r['accept_p50_ms']:.0f} ms p95 {r['accept_p95_ms']:.0f} ms"
    )
    if args.baseline_connections:
        base = asyncio.run(monolith(settings, max(10 * args.families, 5000), args.baseline_connections))
        print(describe(base))
        ratio = r["per_second"] / base["per_second"]
        print(f"ratio: the platform's completed transfer sagas are {ratio:.3f}x the monolith's")
    return 0 if r["completed"] == r["families"] else 1


if __name__ == "__main__":
    sys.exit(main())
