"""Province simulator: `python -m tools.simulator [--people N] [--seed S]` (what `make run` ends with).

Publishes what provincial systems publish today (registry, enrolments, account credits), with the
mistakes real integrations make (resends, malformed messages, unknown types) and requests that
later releases will process, then waits for every answer and prints a summary: results per type and
reason, latency from publish to answer, DLQ records, events, and the wallet's books check.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.wallet.adapters.books import check_books
from shared.clock import BUSINESS_TZ
from shared.contracts.province import INGRESS
from shared.contracts.topics import EVENT_TOPICS, INGRESS_TOPICS, PROVINCE_TOPICS, PROVINCES, dlq_topic, province_of
from shared.db.pool import connect
from shared.settings import PlatformSettings

# Pooling regions the simulator plays, with whether their wallet function is switched on.
REGIONS: dict[str, tuple[str, bool]] = {
    "440300": ("Shenzhen", True),
    "610100": ("Xi'an", True),
    "110100": ("Beijing", True),
    "310100": ("Shanghai", True),
    "510100": ("Chengdu", True),
    "430100": ("Changsha", True),
    "370100": ("Jinan", True),
    "120100": ("Tianjin", True),
    "450100": ("Nanning", True),
    "620100": ("Lanzhou", False),
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = [
    "秀英",
    "桂英",
    "建国",
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "涛",
    "明",
    "超",
]


@dataclass
class Sent:
    type: str
    topic: str
    at: float
    expect: str  # what a correct platform answers, for the summary's "as expected" column


@dataclass
class Run:
    sent: dict[str, Sent] = field(default_factory=dict)
    results: dict[str, list[tuple[float, dict[str, Any]]]] = field(default_factory=lambda: defaultdict(list))
    dlq: list[dict[str, Any]] = field(default_factory=list)
    events: Counter[str] = field(default_factory=Counter)
    credited: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    credit_msgids: dict[str, tuple[str, Decimal]] = field(default_factory=dict)


class Simulator:
    def __init__(self, settings: PlatformSettings, people: int, seed: int) -> None:
        self.settings = settings
        self.people = people
        self.rng = random.Random(seed)
        self.run = Run()
        self._seq = self.rng.randrange(10**6)

    # -- message factory ------------------------------------------------------------------

    def msgid(self, sender: str) -> str:
        self._seq += 1
        return f"{sender}{datetime.now(BUSINESS_TZ):%Y%m%d%H%M%S}{self._seq % 10**10:010d}"

    def envelope(self, type_: str, body: dict[str, Any], sender: str) -> dict[str, Any]:
        return {
            "msgid": self.msgid(sender),
            "type": type_,
            "sender": sender,
            "sent_at": datetime.now(BUSINESS_TZ).isoformat(timespec="seconds"),
            "body": body,
        }

    def person(self, region: str) -> tuple[str, str, str]:
        psn_no = f"{region}{self.rng.randrange(10**14):014d}"
        birth = f"{self.rng.randrange(1950, 2005)}{self.rng.randrange(1, 13):02d}{self.rng.randrange(1, 29):02d}"
        county = f"{region[:4]}{self.rng.randrange(1, 30):02d}"
        certno = f"{county}{birth}{self.rng.randrange(1000):03d}{self.rng.choice('0123456789X')}"
        name = self.rng.choice(SURNAMES) + self.rng.choice(GIVEN)
        return psn_no, certno, name

    # -- scenario ---------------------------------------------------------------------------

    def scenario(self) -> list[tuple[str, dict[str, Any] | bytes, str, str]]:
        """(topic, value, key, expected answer)."""
        out: list[tuple[str, dict[str, Any] | bytes, str, str]] = []
        for region, (_, enabled) in REGIONS.items():
            out.append(
                (
                    "ingress.registry.v1",
                    self.envelope(
                        "region.wallet-status-changed", {"admdvs": region, "wallet_enabled": enabled}, region
                    ),
                    region,
                    "completed",
                )
            )
            for kind, prefix in (("1", "H"), ("2", "P")):
                for n in range(2):
                    code = f"{prefix}{region}{self.rng.randrange(10**5):05d}"
                    name = f"{REGIONS[region][0]} {'hospital' if kind == '1' else 'pharmacy'} {n + 1}"
                    out.append(
                        (
                            "ingress.registry.v1",
                            self.envelope(
                                "institution.upserted",
                                {
                                    "fixmedins_code": code,
                                    "fixmedins_name": name,
                                    "fixmedins_type": kind,
                                    "admdvs": region,
                                    "wallet_enabled": self.rng.random() < 0.8,
                                },
                                region,
                            ),
                            region,
                            "completed",
                        )
                    )
        employees: list[tuple[str, str]] = []
        for i in range(self.people):
            region = self.rng.choice(list(REGIONS))
            psn_no, certno, name = self.person(region)
            roll = self.rng.random()
            if roll < 0.6:
                insutype, has_account = "310", True
            elif roll < 0.7:
                insutype, has_account = "310", False  # pooling only (单建统筹): never a provider
            else:
                insutype, has_account = "390", False
            status = "2" if i % 25 == 24 else "1"
            out.append(
                (
                    "ingress.enrollment.v1",
                    self.envelope(
                        "enrollment.changed",
                        {
                            "psn_no": psn_no,
                            "psn_name": name,
                            "psn_cert_type": "01",
                            "certno": certno,
                            "insutype": insutype,
                            "psn_insu_stas": status,
                            "insuplc_admdvs": region,
                            "has_personal_account": has_account,
                            "change_reason": "enrol" if status == "1" else "suspend",
                            "effective_at": "2026-01-01T00:00:00+08:00",
                        },
                        region,
                    ),
                    psn_no,
                    "completed",
                )
            )
            if has_account:
                employees.append((psn_no, region))
        for psn_no, region in employees:
            for period, kind in (("202610", "contribution"), ("202611", "contribution")):
                amount = Decimal(self.rng.randrange(15000, 60000)) / 100
                msg = self.envelope(
                    "account.credited",
                    {"psn_no": psn_no, "amount": f"{amount:.2f}", "period": period, "kind": kind},
                    region,
                )
                self.run.credit_msgids[msg["msgid"]] = (psn_no, amount)
                out.append(("ingress.enrollment.v1", msg, psn_no, "completed"))
        # Real integrations resend after a time-out: the same msgid must get the same answer, once booked.
        for topic, value, key, expect in self.rng.sample([o for o in out if o[0] == "ingress.enrollment.v1"], 5):
            out.append((topic, value, key, expect))
        # ... and make mistakes.
        region = "440300"
        out.append(
            (
                "ingress.enrollment.v1",
                b'{"msgid": "4403000000000000000000000099", "sender": "440300", '
                b'"type": "account.credited", "body": {"psn_no": "1", "amount": 12.5}}',
                "1",
                "rejected",
            )
        )
        out.append(("ingress.registry.v1", b"\x00\x01 garbage that is not JSON", "x", "dlq only"))
        out.append(
            ("ingress.registry.v1", self.envelope("region.renamed", {"admdvs": region}, region), region, "rejected")
        )
        # Requests of later releases (binding, transfers, settlements, clearing): answered, not yet processed.
        if len(employees) >= 2:
            (a, ra), (b, _) = employees[0], employees[1]
            out.append(
                (
                    "ingress.relationship.v1",
                    self.envelope(
                        "relationship.bind-requested",
                        {
                            "provider_psn_no": a,
                            "recipient_psn_no": b,
                            "kinship": "parent",
                            "recipient_certno": "0",
                            "recipient_name": "x",
                        },
                        ra,
                    ),
                    a,
                    "rejected",
                )
            )
            out.append(
                (
                    "ingress.wallet.v1",
                    self.envelope(
                        "wallet.open-requested", {"psn_no": b, "usage_admdvs": ra, "phone": "13800000000"}, ra
                    ),
                    b,
                    "rejected",
                )
            )
        out.append(
            (
                "ingress.clearing.v1",
                self.envelope("clearing.close-requested", {"period": "202610"}, "110100"),
                "202610",
                "rejected",
            )
        )
        return out

    # -- run --------------------------------------------------------------------------------

    async def watch(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for recs in (await consumer.getmany(timeout_ms=200)).values():
                now = time.monotonic()
                for r in recs:
                    try:
                        value = json.loads(r.value)
                    except ValueError:
                        continue
                    if r.topic.endswith(".dlq"):
                        self.run.dlq.append(value["body"])
                    elif value.get("type") == "request.result":
                        self.run.results[value["body"]["omsgid"]].append((now, value["body"]))
                    else:
                        self.run.events[value.get("type", "?")] += 1

    async def execute(self, wait_seconds: float) -> bool:
        outputs = [*PROVINCE_TOPICS, *EVENT_TOPICS.values(), *(dlq_topic(t) for t in INGRESS_TOPICS)]
        consumer = AIOKafkaConsumer(
            *outputs, bootstrap_servers=self.settings.kafka_bootstrap, group_id=None, auto_offset_reset="latest"
        )
        await consumer.start()
        await consumer.getmany(timeout_ms=500)  # join the topics' ends before publishing
        for tp in consumer.assignment():
            await consumer.position(tp)
        stop = asyncio.Event()
        watcher = asyncio.create_task(self.watch(consumer, stop))
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap, enable_idempotence=True, acks="all"
        )
        await producer.start()
        plan = self.scenario()
        started = time.monotonic()
        try:
            for topic, value, key, expect in plan:
                raw = value if isinstance(value, bytes) else json.dumps(value, ensure_ascii=False).encode()
                if isinstance(value, dict):
                    self.run.sent.setdefault(value["msgid"], Sent(value["type"], topic, time.monotonic(), expect))
                elif expect != "dlq only":
                    self.run.sent.setdefault(
                        "4403000000000000000000000099", Sent("account.credited", topic, time.monotonic(), expect)
                    )
                await producer.send(topic, raw, key=key.encode())
            await producer.flush()
            published = time.monotonic()
            print(
                f"published {len(plan)} messages to {len({p[0] for p in plan})} ingress topics "
                f"in {published - started:.2f} s; waiting for the answers ...",
                file=sys.stderr,
            )
            deadline = time.monotonic() + wait_seconds
            expected_dlq = sum(
                1
                for p in plan
                if p[3] != "completed"
                and p[3] != "accepted"
                and (isinstance(p[1], bytes) or p[1]["type"] not in INGRESS)
            )
            while time.monotonic() < deadline:
                if all(m in self.run.results for m in self.run.sent) and len(self.run.dlq) >= expected_dlq:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)  # late duplicates would show up here
        finally:
            stop.set()
            await watcher
            await producer.stop()
            await consumer.stop()
        return all(m in self.run.results for m in self.run.sent)

    # -- summary ----------------------------------------------------------------------------

    async def summary(self, complete: bool) -> bool:
        run = self.run
        rows: dict[str, Counter[str]] = defaultdict(Counter)
        latencies: dict[str, list[float]] = defaultdict(list)
        unexpected = 0
        for msgid, sent in run.sent.items():
            answers = run.results.get(msgid, [])
            if not answers:
                rows[sent.type]["(no answer)"] += 1
                unexpected += 1
                continue
            first_at, body = answers[0]
            label = body["status"] if body["status"] != "rejected" else f"rejected {body['reason_code']}"
            rows[sent.type][label] += 1
            latencies[sent.type].append((first_at - sent.at) * 1000)
            if body["status"] != sent.expect:
                unexpected += 1
        resent = {m: a for m, a in run.results.items() if len(a) > 1}
        same_answer = all(len({json.dumps(b, sort_keys=True) for _, b in a}) == 1 for a in resent.values())

        print("\n== What the platform answered (request.result, one per ingress message) ==")
        print(f"{'type':34} {'answers':<48} {'p50 ms':>8} {'p95 ms':>8}")
        for type_, counter in sorted(rows.items()):
            answered = ", ".join(f"{n} {label}" for label, n in counter.most_common())
            lat = sorted(latencies[type_]) or [0.0]
            p95 = lat[min(len(lat) - 1, int(len(lat) * 0.95))]
            print(f"{type_:34} {answered:<48} {statistics.median(lat):8.0f} {p95:8.0f}")
        print(
            f"\nresends (same msgid again): {len(resent)} answered again, "
            f"{'all with the original answer' if same_answer else 'SOME WITH A DIFFERENT ANSWER'}"
        )
        print(f"dead-letter records: {len(run.dlq)}")
        for record in run.dlq:
            print(
                f"  {record['source']['topic']}@{record['source']['offset']}: {record['reason_code']} "
                f"({record['reason'][:70]}) sender={record['sender']} msgid={record['msgid']}"
            )
        print("events published: " + ", ".join(f"{n} {t}" for t, n in sorted(run.events.items())))
        provinces = {province_of(s) for s in REGIONS}
        print(
            f"provinces involved: {len(provinces)} of {len(PROVINCES)} "
            f"({', '.join(sorted(PROVINCES[p] for p in provinces))})"
        )

        books_ok = await self.books()
        ok = complete and unexpected == 0 and same_answer and books_ok
        print(
            f"\n{'OK' if ok else 'PROBLEMS'}: {len(run.sent)} requests, {unexpected} answered other than expected, "
            f"books {'balance' if books_ok else 'DO NOT BALANCE'}"
        )
        return ok

    async def books(self) -> bool:
        conn = await connect(self.settings.dsn("wallet"))
        try:
            problems = await check_books(conn)
            expected: dict[str, Decimal] = defaultdict(Decimal)
            for msgid, (psn_no, amount) in self.run.credit_msgids.items():
                answers = self.run.results.get(msgid)
                if answers and answers[0][1]["status"] == "completed":
                    expected[psn_no] += amount
            rows = await conn.fetch(
                "SELECT id, credits_posted - debits_posted - debits_pending AS balance FROM accounts "
                "WHERE id = ANY($1::text[])",
                [f"personal:{p}" for p in expected],
            )
            actual = {r["id"].removeprefix("personal:"): r["balance"] for r in rows}
        finally:
            await conn.close()
        mismatched = [p for p, amount in expected.items() if actual.get(p) != amount]
        total = sum(expected.values(), Decimal("0.00"))
        print("\n== Books check (wallet ledger) ==")
        for name, bad in problems.items():
            print(f"  {name:32} {'ok' if not bad else 'FAILED: ' + ', '.join(bad[:5])}")
        verdict = "ok" if not mismatched else f"FAILED for {len(mismatched)} accounts"
        print(f"  {'credits booked once each':32} {verdict} ({len(expected)} accounts, {total:.2f} yuan credited)")
        return not mismatched and not any(problems.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=200, help="people to enrol (default 200)")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="random seed (default: the time)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for all answers")
    args = parser.parse_args()
    sim = Simulator(PlatformSettings(), args.people, args.seed)

    async def go() -> bool:
        complete = await sim.execute(args.timeout)
        return await sim.summary(complete)

    return 0 if asyncio.run(go()) else 1


if __name__ == "__main__":
    sys.exit(main())
