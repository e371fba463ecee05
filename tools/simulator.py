"""Province simulator: `python -m tools.simulator [--people N] [--seed S]` (what `make run` ends with).

Plays the provincial systems, in phases that each wait for the platform's answers:
  1. registry (regions' wallet switch, hospitals, pharmacies), enrolments, account credits, with the
     mistakes real integrations make (resends, malformed messages, unknown types);
  2. families bind relatives across provinces, with refused cases (not a close relative, identity
     mismatch, pooling-only provider, suspended recipient, unknown person, duplicates, Tianjin's cap);
  3. recipients consent; second providers try Shandong's one-provider rule;
  4. relationships end: by a party, and by enrolment changes (death, suspension).
Then a summary: answers per type and reason with latencies, relationships by outcome, DLQ records,
events, and the wallet's books check. Requests of later releases are answered NOT_SUPPORTED_YET.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
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
    "440300": ("Shenzhen", True), "610100": ("Xi'an", True), "110100": ("Beijing", True),
    "310100": ("Shanghai", True), "510100": ("Chengdu", True), "430100": ("Changsha", True),
    "370100": ("Jinan", True), "120100": ("Tianjin", True), "450100": ("Nanning", True),
    "620100": ("Lanzhou", False),
}  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["秀英", "桂英", "建国", "伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明"]
KINSHIPS = ["spouse", "parent", "child", "sibling", "grandparent", "maternal_grandparent", "grandchild"]
SERVICES_SCRIPT = Path(__file__).resolve().parent.parent / "deploy" / "local" / "services.sh"
Plan = list[tuple[str, dict[str, Any] | bytes, str, str]]
"""(topic, value, key, expected answer: 'completed', 'accepted', 'rejected' or 'rejected CODE')."""


@dataclass
class Person:
    psn_no: str
    certno: str
    name: str
    region: str
    insutype: str
    account: bool
    status: str

    @property
    def may_provide(self) -> bool:
        return self.insutype == "310" and self.account and self.status == "1"

    @property
    def may_receive(self) -> bool:
        return self.insutype in ("310", "390") and self.status == "1"


@dataclass
class Sent:
    type: str
    topic: str
    at: float
    expect: str


@dataclass
class Run:
    sent: dict[str, Sent] = field(default_factory=dict)
    results: dict[str, list[tuple[float, dict[str, Any]]]] = field(default_factory=lambda: defaultdict(list))
    notifications: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    dlq: list[dict[str, Any]] = field(default_factory=list)
    events: Counter[str] = field(default_factory=Counter)
    credit_msgids: dict[str, tuple[str, Decimal]] = field(default_factory=dict)


class Simulator:
    def __init__(self, settings: PlatformSettings, people: int, seed: int, night: bool = False) -> None:
        self.night = night
        self.settings = settings
        self.people_wanted = people
        self.rng = random.Random(seed)
        self.run = Run()
        self.people: list[Person] = []
        self._seq = self.rng.randrange(10**6)
        self._bad_msgid = f"4403{self.rng.randrange(10**20):020d}"
        self.transfer_rate = ""
        self.transfers: list[tuple[Person, Person, str]] = []
        self.with_wallet: set[str] = set()

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

    def new_person(self, region: str, insutype: str, account: bool, status: str = "1") -> Person:
        birth = f"{self.rng.randrange(1950, 2005)}{self.rng.randrange(1, 13):02d}{self.rng.randrange(1, 29):02d}"
        county = f"{region[:4]}{self.rng.randrange(1, 30):02d}"
        person = Person(
            psn_no=f"{region}{self.rng.randrange(10**14):014d}",
            certno=f"{county}{birth}{self.rng.randrange(1000):03d}{self.rng.choice('0123456789X')}",
            name=self.rng.choice(SURNAMES) + self.rng.choice(GIVEN),
            region=region,
            insutype=insutype,
            account=account,
            status=status,
        )
        self.people.append(person)
        return person

    def enrolment(self, p: Person, change: str = "enrol", effective: str = "2026-01-01") -> dict[str, Any]:
        return self.envelope(
            "enrollment.changed",
            {
                "psn_no": p.psn_no,
                "psn_name": p.name,
                "psn_cert_type": "01",
                "certno": p.certno,
                "insutype": p.insutype,
                "psn_insu_stas": p.status,
                "insuplc_admdvs": p.region,
                "has_personal_account": p.account,
                "change_reason": change,
                "effective_at": f"{effective}T00:00:00+08:00",
            },
            p.region,
        )

    def bind(self, provider: Person, recipient: Person, kinship: str, *, name: str | None = None) -> dict[str, Any]:
        return self.envelope(
            "relationship.bind-requested",
            {
                "provider_psn_no": provider.psn_no,
                "recipient_psn_no": recipient.psn_no,
                "kinship": kinship,
                "recipient_certno": recipient.certno,
                "recipient_name": name or recipient.name,
            },
            provider.region,
        )

    # -- phase 1: what provinces publish today ---------------------------------------------------

    def phase_registry_and_people(self) -> Plan:
        out: Plan = []
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
        for i in range(self.people_wanted):
            region = self.rng.choice(list(REGIONS))
            roll = self.rng.random()
            if roll < 0.6:
                insutype, account = "310", True
            elif roll < 0.7:
                insutype, account = "310", False  # pooling only (单建统筹): never a provider
            else:
                insutype, account = "390", False
            status = "2" if i % 25 == 24 else "1"
            p = self.new_person(region, insutype, account, status)
            out.append(
                (
                    "ingress.enrollment.v1",
                    self.enrolment(p, "enrol" if status == "1" else "suspend"),
                    p.psn_no,
                    "completed",
                )
            )
        # Families the policy scenarios need: a Tianjin provider with five close relatives, a Shandong mother.
        self.tianjin = self.new_person("120100", "310", True)
        self.tianjin_family = [self.new_person("120100", "390", False) for _ in range(5)]
        self.jinan_mother = self.new_person("370100", "390", False)
        self.jinan_children = [self.new_person("370100", "310", True) for _ in range(2)]
        for p in [self.tianjin, *self.tianjin_family, self.jinan_mother, *self.jinan_children]:
            out.append(("ingress.enrollment.v1", self.enrolment(p), p.psn_no, "completed"))
        for p in self.people:
            if not p.account:
                continue
            for period in ("202610", "202611"):
                amount = Decimal(self.rng.randrange(15000, 60000)) / 100
                msg = self.envelope(
                    "account.credited",
                    {"psn_no": p.psn_no, "amount": f"{amount:.2f}", "period": period, "kind": "contribution"},
                    p.region,
                )
                self.run.credit_msgids[msg["msgid"]] = (p.psn_no, amount)
                out.append(("ingress.enrollment.v1", msg, p.psn_no, "completed"))
        # Real integrations resend after a time-out: the same msgid must get the same answer, once booked.
        for topic, value, key, expect in self.rng.sample([o for o in out if o[0] == "ingress.enrollment.v1"], 5):
            out.append((topic, value, key, expect))
        # ... and make mistakes.
        bad = json.dumps(
            {
                "msgid": self._bad_msgid,
                "sender": "440300",
                "type": "account.credited",
                "body": {"psn_no": "1", "amount": 12.5},
            }
        ).encode()
        out.append(("ingress.enrollment.v1", bad, "1", "rejected INVALID_MESSAGE"))
        out.append(("ingress.registry.v1", b"\x00\x01 garbage that is not JSON", "x", "dlq only"))
        out.append(
            (
                "ingress.registry.v1",
                self.envelope("region.renamed", {"admdvs": "440300"}, "440300"),
                "440300",
                "rejected INVALID_MESSAGE",
            )
        )
        # Requests of later releases: answered, not processed yet.
        someone = self.people[0]
        out.append(
            (
                "ingress.settlement.v1",
                self.envelope(
                    "settlement.cancel-requested",
                    {"setl_id": "S0", "mdtrt_id": "M0", "psn_no": someone.psn_no},
                    someone.region,
                ),
                someone.psn_no,
                "rejected NOT_SUPPORTED_YET",
            )
        )
        out.append(
            (
                "ingress.clearing.v1",
                self.envelope("clearing.close-requested", {"period": "202610"}, "110100"),
                "202610",
                "rejected NOT_SUPPORTED_YET",
            )
        )
        return out

    # -- phase 2: families bind relatives across provinces -------------------------------------

    def phase_bind(self) -> Plan:
        crowd = self.people[: self.people_wanted]  # the scripted policy families stay out of the random ones
        providers = [p for p in crowd if p.may_provide and p.region != "120100"][: max(4, len(crowd) // 5)]
        taken = {p.psn_no for p in providers}
        receivers = [p for p in crowd if p.may_receive and p.psn_no not in taken]
        self.rng.shuffle(receivers)
        out: Plan = []
        self.families: list[tuple[Person, Person, str]] = []
        for provider in providers:
            # Each recipient once, in another province: no regional rule (one provider per recipient) is hit.
            recipient = next((r for r in receivers if r.region != provider.region), None)
            if recipient is None:
                break
            receivers.remove(recipient)
            kinship = self.rng.choice(KINSHIPS)
            msg = self.bind(provider, recipient, kinship)
            self.families.append((provider, recipient, msg["msgid"]))
            out.append(("ingress.relationship.v1", msg, provider.psn_no, "accepted"))
        # Recipients open wallets (most of them; a Lanzhou one where the wallet function is off is refused).
        self.with_wallet = set()
        for _, recipient, _ in self.families[: len(self.families) * 9 // 10]:
            enabled = REGIONS[recipient.region][1]
            out.append(
                (
                    "ingress.wallet.v1",
                    self.envelope(
                        "wallet.open-requested",
                        {"psn_no": recipient.psn_no, "usage_admdvs": recipient.region, "phone": "13800000000"},
                        recipient.region,
                    ),
                    recipient.psn_no,
                    "completed" if enabled else "rejected REGION_NOT_ENABLED",
                )
            )
            if enabled:
                self.with_wallet.add(recipient.psn_no)
        p0, r0, _ = self.families[0]
        # Refused: each with its reason.
        pooling_only = next(p for p in self.people if p.insutype == "310" and not p.account and p.status == "1")
        suspended = next(p for p in self.people if p.status != "1")
        stranger = Person("99" + "0" * 18, "0", "无名", "440300", "390", False, "1")
        for msg, key, expect in (
            (self.bind(p0, r0, "friend"), p0.psn_no, "rejected NOT_CLOSE_RELATIVE"),
            (self.bind(p0, r0, "parent", name="别人"), p0.psn_no, "rejected IDENTITY_MISMATCH"),
            (self.bind(pooling_only, r0, "sibling"), pooling_only.psn_no, "rejected NOT_ELIGIBLE_PROVIDER"),
            (self.bind(p0, suspended, "spouse"), p0.psn_no, "rejected NOT_ELIGIBLE_RECIPIENT"),
            (self.bind(p0, stranger, "child"), p0.psn_no, "rejected UNKNOWN_PERSON"),
            (self.bind(p0, r0, "child"), p0.psn_no, "rejected RELATIONSHIP_EXISTS"),
        ):
            out.append(("ingress.relationship.v1", msg, key, expect))
        # Tianjin: at most four spouse/parents/children per provider (same provider, same partition: in order).
        for i, relative in enumerate(self.tianjin_family):
            msg = self.bind(self.tianjin, relative, "child")
            expect = "accepted" if i < 4 else "rejected POLICY_LIMIT"
            out.append(("ingress.relationship.v1", msg, self.tianjin.psn_no, expect))
        # Shandong: the mother's first provider.
        first = self.bind(self.jinan_children[0], self.jinan_mother, "parent")
        self.jinan_first = first["msgid"]
        out.append(("ingress.relationship.v1", first, self.jinan_children[0].psn_no, "accepted"))
        return out

    def relationship_id(self, msgid: str) -> str | None:
        answers = self.run.results.get(msgid)
        return answers[0][1].get("relationship_id") if answers else None

    # -- phase 3: recipients consent; Shandong's one-provider rule ------------------------------

    def phase_consent(self) -> Plan:
        out: Plan = []
        consenting = self.families[: max(1, len(self.families) * 4 // 5)]  # the rest stay pending
        for _, recipient, msgid in consenting:
            rid = self.relationship_id(msgid)
            if rid:
                out.append(
                    (
                        "ingress.relationship.v1",
                        self.envelope(
                            "relationship.bind-confirmed",
                            {"relationship_id": rid, "recipient_psn_no": recipient.psn_no},
                            recipient.region,
                        ),
                        recipient.psn_no,
                        "completed",
                    )
                )
        rid = self.relationship_id(self.jinan_first)
        if rid:
            out.append(
                (
                    "ingress.relationship.v1",
                    self.envelope(
                        "relationship.bind-confirmed",
                        {"relationship_id": rid, "recipient_psn_no": self.jinan_mother.psn_no},
                        self.jinan_mother.region,
                    ),
                    self.jinan_mother.psn_no,
                    "completed",
                )
            )
        self.established = [f for f in consenting if self.relationship_id(f[2])]
        return out

    def phase_second_providers(self) -> Plan:
        second = self.bind(self.jinan_children[1], self.jinan_mother, "parent")
        return [("ingress.relationship.v1", second, self.jinan_children[1].psn_no, "rejected POLICY_LIMIT")]

    # -- phase 4: quota moves into wallets ------------------------------------------------------------

    def transfer(self, provider: Person, recipient: Person, amount: str, verified: bool = True) -> dict[str, Any]:
        return self.envelope(
            "transfer.requested",
            {
                "from_psn_no": provider.psn_no,
                "to_psn_no": recipient.psn_no,
                "to_certno": recipient.certno,
                "to_name": recipient.name,
                "amount": amount,
                "verification": "face",
                "verified": verified,
            },
            provider.region,
        )

    def phase_transfers(self) -> Plan:
        out: Plan = []
        self.transfers = []
        for provider, recipient, _ in self.established:
            if recipient.psn_no in self.with_wallet and REGIONS[provider.region][1]:
                msg = self.transfer(provider, recipient, "100.00")
                self.transfers.append((provider, recipient, msg["msgid"]))
                out.append(("ingress.wallet.v1", msg, provider.psn_no, "accepted"))
            elif recipient.psn_no not in self.with_wallet:
                out.append(
                    (
                        "ingress.wallet.v1",
                        self.transfer(provider, recipient, "100.00"),
                        provider.psn_no,
                        "rejected WALLET_NOT_OPENED" if REGIONS[provider.region][1] else "rejected",
                    )
                )
        if self.transfers:
            provider, recipient, _ = self.transfers[0]
            for msg, expect in (
                (self.transfer(provider, recipient, "2500.00"), "rejected AMOUNT_OUT_OF_RANGE"),
                (self.transfer(provider, recipient, "50.00", verified=False), "rejected VERIFICATION_FAILED"),
                (self.transfer(provider, recipient, "50.00"), "rejected PENDING_TRANSFER_EXISTS"),
            ):
                out.append(("ingress.wallet.v1", msg, provider.psn_no, expect))
        return out

    def phase_answers(self) -> Plan:
        out: Plan = []
        for i, (_, recipient, msgid) in enumerate(self.transfers):
            answers = self.run.results.get(msgid)
            tid = answers[0][1].get("transfer_id") if answers else None
            if not tid or i % 5 == 4:
                continue  # left waiting: it would go back at 06:00 tomorrow
            kind = "declined" if i % 5 == 3 else "accepted"
            out.append(
                (
                    "ingress.wallet.v1",
                    self.envelope(
                        f"transfer.{kind}", {"transfer_id": tid, "psn_no": recipient.psn_no}, recipient.region
                    ),
                    recipient.psn_no,
                    "completed",
                )
            )
        return out

    # -- phase 5: relationships end ---------------------------------------------------------------

    def phase_endings(self) -> Plan:
        out: Plan = []
        if len(self.established) >= 3:
            provider, recipient, msgid = self.established[0]
            out.append(
                (
                    "ingress.relationship.v1",
                    self.envelope(
                        "relationship.terminate-requested",
                        {"relationship_id": self.relationship_id(msgid), "requested_by_psn_no": recipient.psn_no},
                        recipient.region,
                    ),
                    recipient.psn_no,
                    "completed",
                )
            )
            provider, _, _ = self.established[1]
            provider.status = "4"
            out.append(
                ("ingress.enrollment.v1", self.enrolment(provider, "death", "2026-11-01"), provider.psn_no, "completed")
            )
            _, recipient, _ = self.established[2]
            recipient.status = "2"
            out.append(
                (
                    "ingress.enrollment.v1",
                    self.enrolment(recipient, "suspend", "2026-11-01"),
                    recipient.psn_no,
                    "completed",
                )
            )
        return out

    # -- run --------------------------------------------------------------------------------------

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
                    elif r.topic.startswith("province."):
                        self.run.notifications[value["type"]].append(value["body"])
                    else:
                        self.run.events[value.get("type", "?")] += 1

    async def publish_and_wait(self, producer: AIOKafkaProducer, plan: Plan, deadline: float) -> bool:
        expected_dlq = len(self.run.dlq) + sum(
            1
            for _, v, _, e in plan
            if "INVALID" in e or e == "dlq only" or (isinstance(v, dict) and v["type"] not in INGRESS)
        )
        msgids = []
        for topic, value, key, expect in plan:
            raw = value if isinstance(value, bytes) else json.dumps(value, ensure_ascii=False).encode()
            msgid = value["msgid"] if isinstance(value, dict) else (self._bad_msgid if expect != "dlq only" else None)
            if msgid:
                type_ = value["type"] if isinstance(value, dict) else "account.credited"
                self.run.sent.setdefault(msgid, Sent(type_, topic, time.monotonic(), expect))
                msgids.append(msgid)
            await producer.send(topic, raw, key=key.encode())
        await producer.flush()
        while time.monotonic() < deadline:
            if all(m in self.run.results for m in msgids) and len(self.run.dlq) >= expected_dlq:
                return True
            await asyncio.sleep(0.05)
        return False

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
        deadline = time.monotonic() + wait_seconds
        complete = True
        try:
            for name, phase in (
                ("registry, enrolments, credits", self.phase_registry_and_people),
                ("bind requests", self.phase_bind),
                ("consents", self.phase_consent),
                ("second providers", self.phase_second_providers),
                ("transfers", self.phase_transfers),
                ("answers", self.phase_answers),
                ("endings", self.phase_endings),
            ):
                await asyncio.sleep(
                    1.0
                )  # other services learn of the last phase from events; provinces are not that fast
                started = time.monotonic()
                plan = phase()
                done = await self.publish_and_wait(producer, plan, deadline)
                if name == "answers" and plan:
                    elapsed = time.monotonic() - started
                    self.transfer_rate = (
                        f"{len(plan)} recipient answers settled in {elapsed:.2f} s ({len(plan) / elapsed:.0f}/s)"
                    )
                print(
                    f"  {name}: {len(plan)} messages answered in {time.monotonic() - started:.1f} s"
                    f"{'' if done else ' (NOT ALL ANSWERED IN TIME)'}",
                    file=sys.stderr,
                )
                complete = complete and done
            if self.night:
                await self.pass_the_night(deadline)
            await asyncio.sleep(1.0)  # late duplicates and notifications would show up here
        finally:
            stop.set()
            await watcher
            await producer.stop()
            await consumer.stop()
        return complete

    async def pass_the_night(self, deadline: float) -> None:
        """Local stack only: restart the wallet at 05:59:58 the next business morning, so the sweep returns
        what nobody accepted by 06:00 (the business clock is read once at start: MEDAID_CLOCK_START)."""
        waiting = [
            b["transfer_id"]
            for a in self.run.results.values()
            for _, b in a[:1]
            if b["otype"] == "transfer.requested"
            and b["status"] == "accepted"
            and b["transfer_id"] not in {n["transfer_id"] for n in self.run.notifications["transfer.completed"]}
            and b["transfer_id"] not in {n["transfer_id"] for n in self.run.notifications["transfer.returned"]}
        ]
        start = self.settings.clock_start or datetime.now(BUSINESS_TZ)
        morning = (start + timedelta(days=1)).replace(hour=5, minute=59, second=58, microsecond=0)
        env = {**os.environ, "MEDAID_CLOCK_START": morning.isoformat()}
        print(f"  the night passes: wallet restarted at {morning.isoformat()} business time", file=sys.stderr)
        for action in ("stop", "start"):
            proc = await asyncio.create_subprocess_exec(
                str(SERVICES_SCRIPT),
                action,
                "wallet",
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            if await proc.wait() != 0:
                raise RuntimeError(f"services.sh {action} wallet failed")
        while time.monotonic() < deadline:
            back = {n["transfer_id"] for n in self.run.notifications["transfer.returned"] if n["reason"] == "expired"}
            if set(waiting) <= back:
                break
            await asyncio.sleep(0.1)

    # -- summary ----------------------------------------------------------------------------------

    async def summary(self, complete: bool) -> bool:
        run = self.run
        rows: dict[str, Counter[str]] = defaultdict(Counter)
        latencies: dict[str, list[float]] = defaultdict(list)
        unexpected: list[str] = []
        for msgid, sent in run.sent.items():
            answers = run.results.get(msgid, [])
            if not answers:
                rows[sent.type]["(no answer)"] += 1
                unexpected.append(f"{sent.type} {msgid}: no answer")
                continue
            first_at, body = answers[0]
            label = body["status"] if body["status"] != "rejected" else f"rejected {body['reason_code']}"
            rows[sent.type][label] += 1
            latencies[sent.type].append((first_at - sent.at) * 1000)
            if label != sent.expect and not (sent.expect == "rejected" and body["status"] == "rejected"):
                unexpected.append(f"{sent.type} {msgid}: {label}, expected {sent.expect}")
        resent = {m: a for m, a in run.results.items() if len(a) > 1}
        same_answer = all(len({json.dumps(b, sort_keys=True) for _, b in a}) == 1 for a in resent.values())

        print("\n== What the platform answered (request.result, one per ingress message) ==")
        print(f"{'type':34} {'answers':<62} {'p50 ms':>7} {'p95 ms':>7}")
        for type_, counter in sorted(rows.items()):
            answered = ", ".join(f"{n} {label}" for label, n in counter.most_common())
            lat = sorted(latencies[type_]) or [0.0]
            p95 = lat[min(len(lat) - 1, int(len(lat) * 0.95))]
            print(f"{type_:34} {answered:<62} {statistics.median(lat):7.0f} {p95:7.0f}")
        print(
            f"\nresends (same msgid again): {len(resent)} answered again, "
            f"{'all with the original answer' if same_answer else 'SOME WITH A DIFFERENT ANSWER'}"
        )
        for line in unexpected[:10]:
            print(f"  UNEXPECTED {line}")

        established = {n["relationship_id"] for n in run.notifications["relationship.established"]}
        ended: dict[str, str] = {n["relationship_id"]: n["reason"] for n in run.notifications["relationship.ended"]}
        accepted = {
            body["relationship_id"]
            for answers in run.results.values()
            for _, body in answers[:1]
            if body["otype"] == "relationship.bind-requested" and body["status"] == "accepted"
        }
        print("\n== Families ==")
        print(
            f"bind requests accepted: {len(accepted)}; waiting for consent: {len(accepted - established - set(ended))}"
        )
        print(
            f"relationships established: {len(established)} (both provinces told: "
            f"{len(run.notifications['relationship.established'])} notifications)"
        )
        for reason, n in Counter(ended.values()).most_common():
            print(f"relationships ended, {reason}: {n}")
        if ended:
            example = (
                next(n for n in run.notifications["relationship.ended"] if n["reason"] == "insurance_changed")
                if "insurance_changed" in ended.values()
                else None
            )
            if example:
                print(f"  e.g. {example['relationship_id']}: {example.get('detail')}")

        requested = [
            b
            for a in run.results.values()
            for _, b in a[:1]
            if b["otype"] == "transfer.requested" and b["status"] == "accepted"
        ]
        mine = {b["transfer_id"] for b in requested}  # other runs' transfers may come back too
        completed = {n["transfer_id"]: n for n in run.notifications["transfer.completed"] if n["transfer_id"] in mine}
        returned = {n["transfer_id"]: n for n in run.notifications["transfer.returned"] if n["transfer_id"] in mine}
        moved = sum((Decimal(n["amount"]) for n in completed.values()), Decimal("0.00"))
        print("\n== Transfers (quota into wallets) ==")
        print(f"transfers requested and held: {len(requested)}; completed: {len(completed)} ({moved:.2f} yuan moved)")
        went_back = {t: n for t, n in returned.items() if t not in completed}
        quota_back = {t: n for t, n in returned.items() if t in completed}
        for reason, n in Counter(n["reason"] for n in went_back.values()).most_common():
            print(f"returned before acceptance, {reason}: {n}")
        back = sum((Decimal(n["amount"]) for n in quota_back.values()), Decimal("0.00"))
        print(f"unspent quota returned to providers when relationships ended: {len(quota_back)} lots, {back:.2f} yuan")
        print(
            f"still waiting for the recipient (back at 06:00 the next morning): "
            f"{len(requested) - len(completed) - len(went_back)}"
        )
        if self.transfer_rate:
            print(f"saga throughput here: {self.transfer_rate}")

        print(f"\ndead-letter records: {len(run.dlq)}")
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
        ok = complete and not unexpected and same_answer and books_ok
        print(
            f"\n{'OK' if ok else 'PROBLEMS'}: {len(run.sent)} requests, {len(unexpected)} answered other than "
            f"expected, books {'balance' if books_ok else 'DO NOT BALANCE'}"
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
                """SELECT credit_account, sum(amount) AS credited FROM transfers
                   WHERE code LIKE 'credit.%' AND credit_account = ANY($1::text[]) GROUP BY credit_account""",
                [f"personal:{p}" for p in expected],
            )
            actual = {r["credit_account"].removeprefix("personal:"): r["credited"] for r in rows}
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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=200, help="people to enrol (default 200)")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="random seed (default: the time)")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for all answers")
    parser.add_argument(
        "--night",
        action="store_true",
        help="local stack only: afterwards restart the wallet at 05:59:58 the next morning, "
        "so transfers nobody accepted go back (make run does this)",
    )
    args = parser.parse_args()
    sim = Simulator(PlatformSettings(), args.people, args.seed, args.night)
    print(f"province simulator: {args.people} people, seed {args.seed}", file=sys.stderr)

    async def go() -> bool:
        complete = await sim.execute(args.timeout)
        return await sim.summary(complete)

    return 0 if asyncio.run(go()) else 1


if __name__ == "__main__":
    sys.exit(main())
