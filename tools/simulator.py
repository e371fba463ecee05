"""Province simulator: `python -m tools.simulator [--people N] [--seed S] [--night] [--month-end]` (`make run`).

Plays the provincial systems, in phases that each wait for the platform's answers:
  1. registry (regions' wallet switch, hospitals, pharmacies), enrolments, account credits, with the
     mistakes real integrations make (resends, malformed messages, unknown types);
  2. families bind relatives across provinces, with refused cases (not a close relative, identity
     mismatch, pooling-only provider, suspended recipient, unknown person, duplicates, Tianjin's cap);
  3. recipients consent; second providers try Shandong's one-provider rule;
  4. quota moves into wallets; relationships end: by a party, and by enrolment changes (death, suspension);
  5. patients pay at hospitals and pharmacies of ten regions: with wallet quota, their own account, a bound
     provider's account (also across provinces), or cash; some refused on purpose (med type, wallet outside
     the insured region or at an institution without it, no relationship, unknown institution, wrong sender);
  6. about one in ten is cancelled (one twice), reversals (of a paid settlement, of one not yet arrived, of a
     contribution, of a transfer), contributions (390 from the own wallet, 410 from a provider's account);
  7. interface v1.1 throughout: registry listings, a wallet frozen and unfrozen, and at the end every member
     with money asks for the month's statement (each must add up to its balances, to the fen);
  --daytime: first, outside 06:00-21:00 business time, the platform's clock moves on to the next 10:00;
  --night: the platform's clock moves on to 05:59:58 the next morning (unaccepted transfers go back at 06:00);
  --month-end: the platform's clock moves on to 00:30 on the next month's first day, the month is closed,
     regions confirm or dispute their statements, and one more settlement is cancelled (it nets next month).
The provinces keep the platform's business time (MEDAID_CLOCK_OFFSET_SECONDS, the same as the services'); the
three moves are for the local stack only, and move every service at once, forward (tools/clock.py).
Then a summary: answers per type and reason with latencies, relationships, transfers, payments, the month's
statements, DLQ records, events, the wallet's books check and the platform's books across services.
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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.clearing.adapters.clearing_repository import ClearingRepository
from services.clearing.domain.clearing import first_open_month, month_of, next_month
from services.wallet.adapters.books import check_books
from shared.clock import BUSINESS_TZ, BusinessClock
from shared.contracts.province import INGRESS
from shared.contracts.topics import EVENT_TOPICS, INGRESS_TOPICS, PROVINCE_TOPICS, PROVINCES, dlq_topic, province_of
from shared.db.pool import connect
from shared.messaging.security import SIMULATOR, kafka_client
from shared.settings import PlatformSettings, signing_keys_path
from shared.signing import SigningKeys
from tools import clock as stack_clock
from tools.books import PlatformBooks, platform_books
from tools.keys import LOCAL_NATIONAL_OPERATOR

STDOUT = Console(width=160, highlight=False)
"""The summary's tables (rich), as wide as they need on a terminal or in a log."""
STDERR = Console(stderr=True, width=160, highlight=False)
"""Progress through the phases, on a terminal (rich renders nothing animated into a log)."""

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
# Cities where whole households are insured, the employee providing for a spouse and a child (intra-province).
HOUSEHOLD_REGIONS = ("440300", "610100", "430100", "510100", "450100", "370100", "120100")
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HOW = ("wallet", "own account", "provider's account", "cash only")
Plan = list[tuple[str, dict[str, Any] | bytes, str, str]]
"""(topic, value, key, expected answer: 'completed', 'accepted', 'rejected' or 'rejected CODE')."""


def region_name(admdvs: str) -> str:
    return f"{admdvs} {REGIONS[admdvs][0]}" if admdvs in REGIONS else admdvs


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


@dataclass(frozen=True)
class Institution:
    code: str
    name: str
    region: str
    kind: str  # "1" hospital (medical institution), "2" retail pharmacy
    wallet: bool  # takes wallet payment


@dataclass
class Visit:
    """A settlement.requested the simulator sent (or holds back), and how the patient meant to pay."""

    msg: dict[str, Any]
    patient: Person
    institution: Institution
    how: str  # "wallet", "own account", "provider's account", "cash only"
    provider: Person | None = None

    @property
    def msgid(self) -> str:
        return str(self.msg["msgid"])


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
    event_bodies: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))


class Simulator:
    def __init__(
        self,
        settings: PlatformSettings,
        people: int,
        seed: int,
        night: bool = False,
        month_end: bool = False,
        daytime: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.env = dict(os.environ if env is None else env)  # the local stack's: MEDAID_STATE_DIR, ports
        self.night = night
        self.month_end = month_end
        self.daytime = daytime
        self.started = time.monotonic()
        self.settings = settings
        self.keys = SigningKeys.load(signing_keys_path(settings))  # each province signs what it sends
        self.people_wanted = people
        self.rng = random.Random(seed)
        self.run = Run()
        self.people: list[Person] = []
        self._seq = self.rng.randrange(10**6)
        self._bad_msgid = f"4403{self.rng.randrange(10**20):020d}"
        self.transfer_rate = ""
        self.transfers: list[tuple[Person, Person, str]] = []
        self.with_wallet: set[str] = set()
        self.institutions: list[Institution] = []
        self.household_members: list[tuple[Person, Person, str]] = []
        self.households: list[tuple[Person, Person, str]] = []
        self.closed_at_start: set[str] = set()
        self.visits: dict[str, Visit] = {}
        self.held_back: Visit | None = None  # sent only after its reversal
        self.contributing: list[tuple[Person, Person]] = []  # providers paying a 410 contribution
        self.savers: list[Person] = []  # residents keeping their quota for a 390 contribution
        self.cancels: dict[str, str] = {}  # cancel msgid -> the settlement's msgid
        self.late_cancel: Visit | None = None  # cancelled after the month closed
        self.reversals: list[tuple[str, str]] = []  # (what it undoes, reversal msgid)
        self.contributions: dict[str, dict[str, Any]] = {}  # msgid -> the message
        self.period = ""
        self.close_msgid = ""
        self.close_clock = ""
        self.answers: dict[str, str] = {}  # statement answer msgid -> statement_id
        self.platform: PlatformBooks | None = None

    def business_now(self) -> datetime:
        """The provinces' business time: the platform's one clock."""
        return BusinessClock(self.settings.clock_offset_seconds).now()

    async def same_clock_as_the_services(self) -> list[str]:
        """Each running service's recorded offset, where it is not the simulator's: the platform has one clock."""
        records = await stack_clock.recorded_clocks(self.settings)
        wrong = stack_clock.on_another_clock(records, self.settings.clock_offset_seconds)
        return [
            f"{s} runs at real time {row['offset_seconds']:+.0f} s"
            for s, row in records.items()
            if s in wrong and isinstance(row, dict)
        ]

    async def move_the_clock(self, to: datetime) -> None:
        """Local stack only: the whole platform's business time moves forward to `to` (every service restarted
        on the new offset at once), and the provinces' with it."""
        self.env = await asyncio.to_thread(stack_clock.move_to, to, self.env)
        offset = float(self.env["MEDAID_CLOCK_OFFSET_SECONDS"])
        self.settings = self.settings.model_copy(update={"clock_offset_seconds": offset})

    # -- message factory ------------------------------------------------------------------

    def msgid(self, sender: str) -> str:
        self._seq += 1
        return f"{sender}{self.business_now():%Y%m%d%H%M%S}{self._seq % 10**10:010d}"

    def envelope(self, type_: str, body: dict[str, Any], sender: str) -> dict[str, Any]:
        return {
            "msgid": self.msgid(sender),
            "type": type_,
            "sender": sender,
            "sent_at": self.business_now().isoformat(timespec="seconds"),
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
            # Three hospitals and two pharmacies per region: the first of each takes wallet payment, the last
            # hospital does not, the others as they chose.
            for kind, prefix, switches in (("1", "H", (True, None, False)), ("2", "P", (True, None))):
                for n, switch in enumerate(switches):
                    wallet = self.rng.random() < 0.6 if switch is None else switch
                    inst = Institution(
                        f"{prefix}{region}{self.rng.randrange(10**5):05d}",
                        f"{REGIONS[region][0]} {'hospital' if kind == '1' else 'pharmacy'} {n + 1}",
                        region,
                        kind,
                        wallet,
                    )
                    self.institutions.append(inst)
                    out.append(
                        (
                            "ingress.registry.v1",
                            self.envelope(
                                "institution.upserted",
                                {
                                    "fixmedins_code": inst.code,
                                    "fixmedins_name": inst.name,
                                    "fixmedins_type": kind,
                                    "admdvs": region,
                                    "wallet_enabled": wallet,
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
        # Households in one city: an employee provides for a spouse and a child insured as residents.
        self.household_members = []
        for region in HOUSEHOLD_REGIONS:
            head = self.new_person(region, "310", True)
            self.household_members += [(head, self.new_person(region, "390", False), k) for k in ("spouse", "child")]
        scripted = [self.tianjin, *self.tianjin_family, self.jinan_mother, *self.jinan_children]
        scripted += list({p.psn_no: p for pair in self.household_members for p in pair[:2]}.values())
        for p in scripted:
            out.append(("ingress.enrollment.v1", self.enrolment(p), p.psn_no, "completed"))
        # Real integrations resend after a time-out: the same msgid must get the same answer, once booked.
        for topic, value, key, expect in self.rng.sample([o for o in out if o[0] == "ingress.enrollment.v1"], 3):
            out.append((topic, value, key, expect))
        return out

    def phase_credits(self) -> Plan:
        """Once they are enrolled, their insured regions credit the personal accounts (only they may)."""
        out: Plan = []
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
        for topic, value, key, expect in self.rng.sample(out, 3):  # resent after a time-out
            out.append((topic, value, key, expect))
        # Where the wallet works (interface v1.1): a member's app asks, through its province.
        for what, admdvs in (("regions", "440000"), ("institutions", "610100")):
            query = self.envelope("registry.query-requested", {"what": what, "admdvs": admdvs}, "440300")
            out.append(("ingress.registry.v1", query, admdvs, "completed"))
        # ... and make mistakes: another province credits someone, and a malformed credit.
        someone = next(p for p in self.people if p.account)
        elsewhere = next(r for r in REGIONS if r[:2] != someone.region[:2])
        wrong = self.envelope(
            "account.credited",
            {"psn_no": someone.psn_no, "amount": "100.00", "period": "202611", "kind": "contribution"},
            elsewhere,
        )
        out.append(("ingress.enrollment.v1", wrong, someone.psn_no, "rejected SENDER_NOT_ALLOWED"))
        bad = json.dumps(
            {
                "msgid": self._bad_msgid,
                "sender": "440300",
                "type": "account.credited",
                "sent_at": self.business_now().isoformat(timespec="seconds"),  # signed, as everything a province sends
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
        # A cancellation of a settlement nobody made, and a close of the month still running.
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
                "rejected UNKNOWN_SETTLEMENT",
            )
        )
        month = month_of(self.business_now())
        out.append(
            (
                "ingress.clearing.v1",
                self.envelope("clearing.close-requested", {"period": month}, LOCAL_NATIONAL_OPERATOR),
                month,
                "rejected PERIOD_CLOSED" if month in self.closed_at_start else "rejected PERIOD_NOT_ENDED",
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
        self.households = []
        for head, relative, kinship in self.household_members:
            msg = self.bind(head, relative, kinship)
            self.households.append((head, relative, msg["msgid"]))
            out.append(("ingress.relationship.v1", msg, head.psn_no, "accepted"))
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
        # Tianjin: at most four children, siblings and grandchildren together (same provider, same partition).
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
        for _, relative, msgid in self.households:
            rid = self.relationship_id(msgid)
            if rid:
                out.append(
                    (
                        "ingress.relationship.v1",
                        self.envelope(
                            "relationship.bind-confirmed",
                            {"relationship_id": rid, "recipient_psn_no": relative.psn_no},
                            relative.region,
                        ),
                        relative.psn_no,
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

    # -- interface v1.1: a wallet frozen for misuse, then unfrozen ----------------------------------

    def frozen_pair(self) -> tuple[Person, Person] | None:
        """The family whose transfer was left waiting (the fifth): freezing its recipient returns it at once."""
        if len(self.transfers) < 5:
            return None
        provider, recipient, _ = self.transfers[4]
        return provider, recipient

    def phase_freeze(self) -> Plan:
        pair = self.frozen_pair()
        if pair is None:
            return []
        _, recipient = pair
        body = {"psn_no": recipient.psn_no, "reason": "cash-out suspected at a pharmacy (case SIM-1)"}
        msg = self.envelope("wallet.freeze-requested", body, recipient.region)
        return [("ingress.wallet.v1", msg, recipient.psn_no, "completed")]

    def phase_while_frozen(self) -> Plan:
        pair = self.frozen_pair()
        if pair is None:
            return []
        provider, recipient = pair
        return [
            (
                "ingress.wallet.v1",
                self.transfer(provider, recipient, "20.00"),
                provider.psn_no,
                "rejected WALLET_FROZEN",
            )
        ]

    def phase_unfreeze(self) -> Plan:
        pair = self.frozen_pair()
        if pair is None:
            return []
        _, recipient = pair
        body = {"psn_no": recipient.psn_no, "reason": "case SIM-1 closed"}
        msg = self.envelope("wallet.unfreeze-requested", body, LOCAL_NATIONAL_OPERATOR)
        return [("ingress.wallet.v1", msg, recipient.psn_no, "completed")]

    # -- interface v1.1: members look at their statements ------------------------------------------

    def phase_statements(self) -> Plan:
        """Every member with money on the platform asks for the month's statement, through their province (and
        one province asks about somebody else's member: refused)."""
        today = self.business_now().date()
        out: Plan = []
        people = [p for p in self.people if p.account or p.may_receive]
        for p in people:
            body = {
                "psn_no": p.psn_no,
                "from_date": (today - timedelta(days=30)).isoformat(),
                "to_date": (today + timedelta(days=1)).isoformat(),
            }
            out.append(
                (
                    "ingress.wallet.v1",
                    self.envelope("wallet.statement-requested", body, p.region),
                    p.psn_no,
                    "completed",
                )
            )
        if people:
            someone = people[0]
            elsewhere = next(r for r in REGIONS if r[:2] != someone.region[:2])
            body = {"psn_no": someone.psn_no, "from_date": today.isoformat(), "to_date": today.isoformat()}
            msg = self.envelope("wallet.statement-requested", body, elsewhere)
            out.append(("ingress.wallet.v1", msg, someone.psn_no, "rejected NOT_A_PARTY"))
        return out

    def statements_summary(self) -> list[str]:
        """Each statement's movements, oldest first, add up to its balances (the month is all the history these
        members have): to the fen, account by account."""
        problems: list[str] = []
        statements = self.run.notifications["wallet.statement"]
        if not statements:
            return problems
        moved = 0
        for s in statements:
            last: dict[str, Decimal] = {}
            for m in s["movements"]:
                before = last.get(m["account"], Decimal("0.00"))
                if Decimal(m["balance_after"]) != before + Decimal(m["amount"]):
                    problems.append(f"statement of {s['psn_no']}: {m} does not follow {before}")
                last[m["account"]] = Decimal(m["balance_after"])
            moved += len(s["movements"])
            if "next_cursor" in s:
                continue
            if last.get("wallet", Decimal("0.00")) != Decimal(s["wallet_balc"]):
                problems.append(f"statement of {s['psn_no']}: wallet movements end at {last.get('wallet')}")
            if last.get("personal", Decimal("0.00")) != Decimal(s.get("acct_balc", "0.00")):
                problems.append(f"statement of {s['psn_no']}: account movements end at {last.get('personal')}")
        kinds = Counter(m["kind"] for s in statements for m in s["movements"])
        print("\n== Statements (wallet.statement, interface v1.1) ==")
        by_kind = ", ".join(f"{n} {k}" for k, n in kinds.most_common())
        print(f"statements: {len(statements)}, {moved} movements ({by_kind})")
        print(
            f"each one's balance_after chain ends at its balances: "
            f"{'yes, to the fen' if not problems else 'NO'}; frozen now: {sum(s['frozen'] for s in statements)}"
        )
        return problems

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

    # -- phase 6: patients pay at hospitals and pharmacies ----------------------------------------

    def place(self, region: str, kind: str | None = None, wallet: bool | None = None) -> Institution:
        """An institution of the region: of a kind ("1" hospital, "2" pharmacy), taking wallet payment or not."""
        fits = [
            i for i in self.institutions if i.region == region and kind in (None, i.kind) and wallet in (None, i.wallet)
        ]
        return self.rng.choice(fits)

    def bill(self, med_type: str) -> tuple[Decimal, Decimal]:
        """Medical fees and the fund's part of them for a kind of care; the rest is the patient's part."""
        low, high, fund_low, fund_high = {
            "41": (15, 160, 0.0, 0.0),
            "11": (50, 400, 0.0, 0.5),
            "14": (150, 900, 0.5, 0.7),
            "2101": (2000, 18000, 0.7, 0.9),
        }.get(med_type, (50, 300, 0.0, 0.3))
        fee = Decimal(self.rng.randrange(low * 100, high * 100)) / 100
        fund = (fee * Decimal(f"{self.rng.uniform(fund_low, fund_high):.2f}")).quantize(CENT)
        return fee, fund

    def visit(
        self,
        patient: Person,
        inst: Institution,
        flag: str,
        *,
        wallet: bool = False,
        provider: Person | None = None,
        med_type: str | None = None,
        sender: str | None = None,
        small: bool = False,
    ) -> Visit:
        """A patient's bill at an institution (like 2207): acct_used_flag 0 cash, 1 own account, 2 a provider's."""
        if med_type is None:
            care = ["11", "11", "14"] if small else ["11", "11", "11", "14", "14", "2101"]
            med_type = "41" if inst.kind == "2" else self.rng.choice(care)
        fee, fund = self.bill(med_type)
        self._seq += 1
        body: dict[str, Any] = {
            "mdtrt_id": f"MD{inst.code}{self.business_now():%Y%m%d}{self._seq % 10**8:08d}",
            "psn_no": patient.psn_no,
            "fixmedins_code": inst.code,
            "mdtrtarea_admvs": inst.region,
            "med_type": med_type,
            "medfee_sumamt": f"{fee:.2f}",
            "fund_pay_sumamt": f"{fund:.2f}",
            "psn_part_amt": f"{fee - fund:.2f}",
            "acct_used_flag": flag,
            "use_wallet": wallet,
            "setl_time": self.business_now().isoformat(timespec="seconds"),
        }
        if flag == "2" and provider is not None:
            body["provider_psn_no"] = provider.psn_no
        how = "wallet" if wallet else {"1": "own account", "2": "provider's account"}.get(flag, "cash only")
        msg = self.envelope("settlement.requested", body, sender or inst.region)
        return Visit(msg, patient, inst, how, provider if flag == "2" else None)

    def settle(self, v: Visit, expect: str = "completed") -> tuple[str, dict[str, Any], str, str]:
        self.visits[v.msgid] = v
        return ("ingress.settlement.v1", v.msg, v.patient.psn_no, expect)

    def cancel(self, v: Visit, expect: str = "completed") -> tuple[str, dict[str, Any], str, str]:
        """The institution's province cancels a settlement (like 2208)."""
        body = {"setl_id": self.setl_id(v.msgid), "mdtrt_id": v.msg["body"]["mdtrt_id"], "psn_no": v.patient.psn_no}
        msg = self.envelope("settlement.cancel-requested", body, v.institution.region)
        self.cancels[msg["msgid"]] = v.msgid
        return ("ingress.settlement.v1", msg, v.patient.psn_no, expect)

    def reversal(
        self, omsgid: str, otype: str, sender: str, what: str, expect: str = "completed"
    ) -> tuple[str, dict[str, Any], str, str]:
        """The original's sender undoes it by its msgid (like 2601), e.g. after a time-out."""
        msg = self.envelope("reversal.requested", {"omsgid": omsgid, "otype": otype}, sender)
        self.reversals.append((what, msg["msgid"]))
        return ("ingress.settlement.v1", msg, omsgid, expect)

    def contribution(
        self, payer: Person, insured: Person, insutype: str, amount: Decimal, expect: str = "completed"
    ) -> tuple[str, dict[str, Any], str, str]:
        body = {
            "payer_psn_no": payer.psn_no,
            "insured_psn_no": insured.psn_no,
            "insutype": insutype,
            "amount": f"{amount:.2f}",
            "year": self.business_now().year + 1,
        }
        msg = self.envelope("contribution.requested", body, insured.region)
        self.contributions[msg["msgid"]] = msg
        return ("ingress.settlement.v1", msg, payer.psn_no, expect)

    def setl_id(self, msgid: str) -> str | None:
        answers = self.run.results.get(msgid)
        if answers and answers[0][1]["status"] == "completed":
            return answers[0][1].get("setl_id")
        return None

    def paid(self) -> dict[str, dict[str, Any]]:
        """settlement.completed by setl_id (each province concerned got one)."""
        return {n["setl_id"]: n for n in self.run.notifications["settlement.completed"]}

    def living_families(self) -> list[tuple[Person, Person]]:
        ended = {n["relationship_id"] for n in self.run.notifications["relationship.ended"]}
        return [
            (provider, recipient)
            for provider, recipient, msgid in self.established
            if self.relationship_id(msgid) not in ended and provider.status == "1" and recipient.status == "1"
        ]

    def quota(self) -> dict[str, Decimal]:
        """The quota recipients accepted into their wallets today."""
        done = {n["transfer_id"]: Decimal(n["amount"]) for n in self.run.notifications["transfer.completed"]}
        out: dict[str, Decimal] = defaultdict(Decimal)
        for _, recipient, msgid in self.transfers:
            answers = self.run.results.get(msgid)
            tid = answers[0][1].get("transfer_id") if answers else None
            if tid in done:
                out[recipient.psn_no] += done[tid]
        return out

    def phase_settlements(self) -> Plan:
        out: Plan = []
        rng = self.rng
        quota = self.quota()
        families = self.living_families()
        self.contributing = families[:2]  # their providers' accounts pay a contribution later, nothing today
        wallet_payers = [r for _, r in families if quota.get(r.psn_no, ZERO) > 0]
        # Two residents keep their quota for next year's contribution (390, from the wallet).
        self.savers = [r for r in wallet_payers if r.insutype == "390"][:2]
        # Recipients spend the quota where they are insured, at a pharmacy and a clinic that take wallet
        # payment; what the quota does not cover comes from their own account if they have one, else cash.
        for r in wallet_payers:
            if r in self.savers:
                continue
            for kind in ("2", "1"):
                inst = self.place(r.region, kind, True)
                out.append(self.settle(self.visit(r, inst, "1" if r.account else "0", wallet=True, small=True)))
        # Relatives bound to a provider in another province pay from the provider's account (some after quota).
        for provider, r in families[2:]:
            use_wallet = r.psn_no in quota and r not in self.savers and rng.random() < 0.5
            inst = self.place(r.region, "1", True if use_wallet else None)
            out.append(self.settle(self.visit(r, inst, "2", wallet=use_wallet, provider=provider)))
        # Households: spouse and child pay from the employee's account in their city; some children study
        # in another province and pay from it there. The first household's account pays a contribution later.
        established = {n["relationship_id"] for n in self.run.notifications["relationship.established"]}
        for i, (head, relative, msgid) in enumerate(self.households):
            if self.relationship_id(msgid) not in established:
                continue
            if i < 2:
                inst = self.place(relative.region, "2")
                out.append(self.settle(self.visit(relative, inst, "2" if i == 0 else "0", provider=head)))
                continue
            for kind in ("2", "1"):
                inst = self.place(relative.region, kind)
                out.append(self.settle(self.visit(relative, inst, "2", provider=head, small=True)))
            if i % 4 == 3:
                away = rng.choice([x for x in REGIONS if x[:2] != relative.region[:2]])
                inst = self.place(away, "1")
                out.append(self.settle(self.visit(relative, inst, "2", provider=head, small=True)))
        # Employees pay from their own account, mostly at home, some treated in another province (异地就医).
        busy = {p.psn_no for pair in families for p in pair} | {p.psn_no for h in self.households for p in h[:2]}
        crowd = self.people[: self.people_wanted]
        employees = [p for p in crowd if p.may_provide and p.psn_no not in busy]
        rng.shuffle(employees)
        for e in employees[2:32]:
            for _ in range(rng.choice((1, 1, 2))):
                region = rng.choice([r for r in REGIONS if r != e.region]) if rng.random() < 0.3 else e.region
                out.append(self.settle(self.visit(e, self.place(region), "1")))
        # Cash only: residents without a personal account, and a few employees keeping theirs.
        residents = [p for p in crowd if p.insutype == "390" and p.status == "1" and p.psn_no not in busy]
        for p in residents[:12] + employees[32:36]:
            out.append(self.settle(self.visit(p, self.place(p.region), "0")))
        # Refused on purpose: each with its reason.
        if len(employees) >= 2:
            e, other = employees[0], employees[1]
            for inst, med_type in ((self.place(e.region, "2"), "11"), (self.place(e.region, "1"), "41")):
                out.append(self.settle(self.visit(e, inst, "1", med_type=med_type), "rejected PURPOSE_NOT_ALLOWED"))
            nowhere = Institution(f"H{e.region}ZZ{rng.randrange(1000):03d}", "unknown", e.region, "1", True)
            out.append(self.settle(self.visit(e, nowhere, "1"), "rejected UNKNOWN_INSTITUTION"))
            inst = self.place(e.region, "1")
            out.append(self.settle(self.visit(e, inst, "2", provider=other), "rejected NO_RELATIONSHIP"))
            foreign = next(r for r in REGIONS if r[:2] != e.region[:2])
            out.append(self.settle(self.visit(e, inst, "1", sender=foreign), "rejected NOT_A_PARTY"))
            # A hospital's system timed out and reversed a settlement it had not sent yet; it arrives later.
            self.held_back = self.visit(other, self.place(other.region, "1"), "1")
            out.append(
                self.reversal(
                    self.held_back.msgid, "settlement.requested", other.region, "a settlement, before it arrived"
                )
            )
        if wallet_payers:
            r = wallet_payers[0]
            elsewhere = next(x for x in REGIONS if x != r.region and REGIONS[x][1])
            for inst, expect in (
                (self.place(elsewhere, "2", True), "rejected OUTSIDE_INSURED_REGION"),
                (self.place(r.region, "1", False), "rejected INSTITUTION_NOT_ENABLED"),
            ):
                out.append(self.settle(self.visit(r, inst, "0", wallet=True), expect))
        rng.shuffle(out)
        return out

    def phase_undo_and_contribute(self) -> Plan:
        out: Plan = []
        paid = self.paid()
        done = [v for v in self.visits.values() if self.setl_id(v.msgid)]
        self.rng.shuffle(done)
        # One paid from the account of another region is kept to be cancelled after the month's close.
        crossing = [
            v
            for v in done
            if v.how == "own account"
            and v.patient.region != v.institution.region
            and Decimal(paid.get(self.setl_id(v.msgid) or "", {}).get("acct_pay", "0")) > 0
        ]
        if crossing and self.month_end:
            self.late_cancel = crossing[0]
            done.remove(crossing[0])
        # About one in ten is cancelled at the counter, one of them paid in cash; one cashier presses twice.
        cash = [v for v in done if v.how == "cash only"][:1]
        done = cash + [v for v in done if v not in cash]
        n = max(1, len(done) // 10)
        cancelled, done = done[:n], done[n:]
        out += [self.cancel(v) for v in cancelled]
        if cancelled:
            out.append(self.cancel(cancelled[0], "rejected ALREADY_CANCELLED"))
        if done:
            v = done.pop()
            out.append(self.reversal(v.msgid, "settlement.requested", v.msg["sender"], "a completed settlement"))
        if self.held_back is not None:
            out.append(self.settle(self.held_back, "rejected REVERSED"))
        # Contributions for next year: residents from the quota in their own wallet (390), relatives'
        # long-term care from a provider's account (410); one not allowed, one more than the wallet holds.
        quota = self.quota()
        left: dict[str, Decimal] = dict(quota)
        for n_ in paid.values():
            if n_.get("wallet_balc") is not None and n_["psn_no"] in left:
                left[n_["psn_no"]] = min(left[n_["psn_no"]], Decimal(n_["wallet_balc"]))
        for r in [r for r in self.savers if left.get(r.psn_no, ZERO) >= 10]:
            out.append(self.contribution(r, r, "390", min(left[r.psn_no], Decimal(60)).to_integral_value(ROUND_DOWN)))
        for provider, r in self.contributing:
            out.append(self.contribution(provider, r, "410", Decimal(self.rng.randrange(50, 121))))
        if self.households:
            head, spouse, _ = self.households[0]
            out.append(self.contribution(head, spouse, "410", Decimal(self.rng.randrange(40, 100))))
            out.append(self.contribution(head, spouse, "310", Decimal(100), "rejected PURPOSE_NOT_ALLOWED"))
        holders = [r for _, r in self.living_families() if r.psn_no in quota]
        if holders:
            out.append(
                self.contribution(holders[-1], holders[-1], "390", Decimal(500), "rejected INSUFFICIENT_BALANCE")
            )
        return out

    def phase_late_reversals(self) -> Plan:
        out: Plan = []
        paid = [
            m
            for m, msg in self.contributions.items()
            if msg["body"]["insutype"] == "410" and self.setl_id(m) is not None
        ]
        if paid:
            msg = self.contributions[paid[0]]
            out.append(self.reversal(msg["msgid"], msg["type"], msg["sender"], "a contribution"))
        if self.transfers:
            provider, _, msgid = self.transfers[0]
            out.append(
                self.reversal(msgid, "transfer.requested", provider.region, "a transfer", "rejected NOT_REVERSIBLE")
            )
        return out

    # -- phase 7: the month ends (local stack: the platform's clock moves on to the next month) -----------------

    async def closed_months(self) -> set[str]:
        conn = await connect(self.settings.dsn("clearing"))
        try:
            return await ClearingRepository(conn).closed_months()
        finally:
            await conn.close()

    async def quiet(self, deadline: float, patience: float = 15.0) -> PlatformBooks:
        """The platform's books once every service has caught up: nothing waits for the wallet and the
        cross-service checks (payment = wallet, clearing = cross-region spending) hold; or as they are after
        `patience` seconds. (A service's own invariants do not change by waiting.)"""
        until = min(deadline, time.monotonic() + patience)
        while True:
            books = await platform_books(self.settings)
            lagging = [k for k, bad in books.problems.items() if bad and (k.startswith("platform:") or "wait" in k)]
            if not lagging or time.monotonic() >= until:
                return books
            await asyncio.sleep(0.3)

    def statements(self) -> list[dict[str, Any]]:
        found = {
            n["statement_id"]: n
            for n in self.run.notifications["clearing.statement-issued"]
            if n["period"] == self.period
        }
        return list(found.values())

    async def end_the_month(self, producer: AIOKafkaProducer, deadline: float) -> bool:
        await self.quiet(deadline)  # the clearing service has every obligation of the month
        self.period = first_open_month(month_of(self.business_now()), await self.closed_months())
        following = next_month(self.period)
        at = datetime(int(following[:4]), int(following[4:]), 1, 0, 30, tzinfo=BUSINESS_TZ)
        self.close_clock = at.isoformat()
        print(f"  the month ends: the platform's clock moves on to {self.close_clock}", file=sys.stderr)
        await self.move_the_clock(at)
        done = await self.run_phase(producer, f"close of {self.period}", self.phase_close, deadline)
        answers = self.run.results.get(self.close_msgid)
        if answers and answers[0][1]["status"] == "completed":
            until = min(deadline, time.monotonic() + 10)
            while time.monotonic() < until:
                closed = [b for b in self.run.event_bodies["clearing.month-closed"] if b["period"] == self.period]
                if closed and len(self.statements()) >= closed[0]["statements"]:
                    break
                await asyncio.sleep(0.05)
        return (
            await self.run_phase(
                producer, "statement answers, a late cancellation", self.phase_answers_after_close, deadline
            )
            and done
        )

    def phase_close(self) -> Plan:
        msg = self.envelope("clearing.close-requested", {"period": self.period}, LOCAL_NATIONAL_OPERATOR)
        self.close_msgid = msg["msgid"]
        return [("ingress.clearing.v1", msg, self.period, "completed")]

    def answer_statement(
        self, s: dict[str, Any], sender: str, reason: str | None = None, expect: str = "completed"
    ) -> tuple[str, dict[str, Any], str, str]:
        body = {"statement_id": s["statement_id"], "admdvs": s["admdvs"]}
        if reason:
            body["reason"] = reason
        msg = self.envelope("statement.disputed" if reason else "statement.confirmed", body, sender)
        self.answers[msg["msgid"]] = s["statement_id"]
        return ("ingress.clearing.v1", msg, s["statement_id"], expect)

    def phase_answers_after_close(self) -> Plan:
        out: Plan = []
        again = self.envelope("clearing.close-requested", {"period": self.period}, LOCAL_NATIONAL_OPERATOR)
        out.append(("ingress.clearing.v1", again, self.period, "rejected PERIOD_CLOSED"))
        by_a_province = self.envelope("clearing.close-requested", {"period": self.period}, "440300")
        out.append(("ingress.clearing.v1", by_a_province, self.period, "rejected SENDER_NOT_ALLOWED"))
        by_net = sorted(self.statements(), key=lambda s: Decimal(s.get("net") or 0))
        confirming = by_net[-2:]
        for s in confirming:
            out.append(self.answer_statement(s, s["admdvs"]))
        if by_net and by_net[0] not in confirming:
            s = by_net[0]
            top = max(s["counterparts"], key=lambda c: Decimal(c["owes"]), default=None)
            reason = f"owes {top['owes']} to {top['admdvs']}: settlements there not yet reconciled" if top else "check"
            out.append(self.answer_statement(s, s["admdvs"], reason))
        if by_net:
            s = by_net[-1]
            other = next(r for r in REGIONS if r[:2] != s["admdvs"][:2])
            out.append(self.answer_statement(s, other, expect="rejected NOT_A_PARTY"))
        if self.late_cancel is not None:
            out.append(self.cancel(self.late_cancel))
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
                        if value.get("type") in ("clearing.month-closed", "clearing.obligation-recorded"):
                            self.run.event_bodies[value["type"]].append(value["body"])

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
            await producer.send(topic, raw, key=key.encode(), headers=self.keys.record_headers(raw))
        await producer.flush()
        while time.monotonic() < deadline:
            if all(m in self.run.results for m in msgids) and len(self.run.dlq) >= expected_dlq:
                return True
            await asyncio.sleep(0.05)
        return False

    async def execute(self, wait_seconds: float) -> bool:
        wrong = await self.same_clock_as_the_services()
        if wrong:
            print(
                f"the services run on another business clock than this simulator "
                f"(real time {self.settings.clock_offset_seconds:+.0f} s): {', '.join(wrong)}; run it with the "
                "platform's MEDAID_CLOCK_OFFSET_SECONDS (make simulate does)",
                file=sys.stderr,
            )
            return False
        if self.daytime and (morning := stack_clock.next_daytime(self.business_now())) is not None:
            print(f"  business time is night: the platform's clock moves on to {morning.isoformat()}", file=sys.stderr)
            await self.move_the_clock(morning)
        print(f"  business time {self.business_now().isoformat(timespec='seconds')}", file=sys.stderr)
        outputs = [*PROVINCE_TOPICS, *EVENT_TOPICS.values(), *(dlq_topic(t) for t in INGRESS_TOPICS)]
        consumer = AIOKafkaConsumer(
            *outputs, **kafka_client(self.settings, SIMULATOR), group_id=None, auto_offset_reset="latest"
        )
        await consumer.start()
        await consumer.getmany(timeout_ms=500)  # join the topics' ends before publishing
        for tp in consumer.assignment():
            await consumer.position(tp)
        stop = asyncio.Event()
        watcher = asyncio.create_task(self.watch(consumer, stop))
        producer = AIOKafkaProducer(**kafka_client(self.settings, SIMULATOR), enable_idempotence=True, acks="all")
        await producer.start()
        deadline = time.monotonic() + wait_seconds
        complete = True
        self.closed_at_start = await self.closed_months()
        try:
            phases = (
                ("registry, enrolments", self.phase_registry_and_people),
                ("credits", self.phase_credits),
                ("bind requests", self.phase_bind),
                ("consents", self.phase_consent),
                ("second providers", self.phase_second_providers),
                ("transfers", self.phase_transfers),
                ("answers", self.phase_answers),
                ("a wallet frozen (v1.1)", self.phase_freeze),
                ("a transfer to it", self.phase_while_frozen),
                ("unfrozen by the national operator", self.phase_unfreeze),
                ("endings", self.phase_endings),
                ("settlements at hospitals and pharmacies", self.phase_settlements),
                ("cancellations, reversals, contributions", self.phase_undo_and_contribute),
                ("late reversals", self.phase_late_reversals),
                ("statements (v1.1)", self.phase_statements),
            )
            with Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=STDERR,
                transient=True,
            ) as progress:
                task = progress.add_task("phases", total=len(phases))
                for name, phase in phases:
                    progress.update(task, description=name)
                    complete = await self.run_phase(producer, name, phase, deadline) and complete
                    progress.advance(task)
            if self.night:
                await self.pass_the_night(deadline)
            if self.month_end:
                complete = await self.end_the_month(producer, deadline) and complete
            await asyncio.sleep(1.0)  # late duplicates and notifications would show up here
            self.platform = await self.quiet(deadline)
        finally:
            stop.set()
            await watcher
            await producer.stop()
            await consumer.stop()
        return complete

    async def run_phase(
        self, producer: AIOKafkaProducer, name: str, phase: Callable[[], Plan], deadline: float
    ) -> bool:
        await asyncio.sleep(1.0)  # other services learn of the last phase from events; provinces are not that fast
        started = time.monotonic()
        plan = phase()
        done = await self.publish_and_wait(producer, plan, deadline)
        if name == "answers" and plan:
            elapsed = time.monotonic() - started
            self.transfer_rate = (
                f"{len(plan)} recipient answers settled in {elapsed:.2f} s ({len(plan) / elapsed:.0f}/s)"
            )
        STDERR.print(
            f"  {name}: {len(plan)} messages answered in {time.monotonic() - started:.1f} s"
            f"{'' if done else ' [bold red](NOT ALL ANSWERED IN TIME)[/]'}",
            highlight=False,
        )
        return done

    async def pass_the_night(self, deadline: float) -> None:
        """Local stack only: the platform's clock moves on to 05:59:58 the next business morning, so the wallet's
        sweep returns what nobody accepted by 06:00."""
        waiting = [
            b["transfer_id"]
            for a in self.run.results.values()
            for _, b in a[:1]
            if b["otype"] == "transfer.requested"
            and b["status"] == "accepted"
            and b["transfer_id"] not in {n["transfer_id"] for n in self.run.notifications["transfer.completed"]}
            and b["transfer_id"] not in {n["transfer_id"] for n in self.run.notifications["transfer.returned"]}
        ]
        morning = (self.business_now() + timedelta(days=1)).replace(hour=5, minute=59, second=58, microsecond=0)
        # The wallet's own deadline, when it told one.
        expiries = [
            datetime.fromisoformat(n["expires_at"])
            for n in self.run.notifications["transfer.pending"]
            if n["transfer_id"] in waiting
        ]
        if expiries:
            morning = (min(expiries) - timedelta(seconds=2)).astimezone(BUSINESS_TZ)
        print(f"  the night passes: the platform's clock moves on to {morning.isoformat()}", file=sys.stderr)
        await self.move_the_clock(max(morning, self.business_now()))
        until = min(deadline, time.monotonic() + 20)
        while time.monotonic() < until:
            back = {n["transfer_id"] for n in self.run.notifications["transfer.returned"] if n["reason"] == "expired"}
            if set(waiting) <= back:
                break
            await asyncio.sleep(0.1)

    # -- summary ----------------------------------------------------------------------------------

    def label(self, msgid: str) -> str:
        answers = self.run.results.get(msgid)
        if not answers:
            return "(no answer)"
        body = answers[0][1]
        return str(body["status"]) if body["status"] != "rejected" else f"rejected {body['reason_code']}"

    def payments_summary(self) -> list[str]:
        """Prints what patients paid, cancelled, reversed and contributed; returns what did not add up."""
        run, problems = self.run, list[str]()
        paid = self.paid()
        cancelled = {n["setl_id"] for n in run.notifications["settlement.cancelled"]}
        visits = [v for v in self.visits.values() if v.msgid in run.sent]
        if not visits:
            return problems
        done = {v.msgid: s for v in visits if (s := self.setl_id(v.msgid))}
        print("\n== Payments at hospitals and pharmacies (settlement.requested) ==")
        kinds = Counter("hospital" if v.institution.kind == "1" else "pharmacy" for v in visits)
        places = {v.institution.code for v in visits}
        regions = {v.institution.region for v in visits}
        print(
            f"settlements requested: {len(visits)} at {len(places)} institutions in {len(regions)} regions "
            f"({kinds['hospital']} at hospitals, {kinds['pharmacy']} at pharmacies)"
        )
        how = Counter(v.how for v in visits if v.msgid in done)
        print(f"  completed {len(done)}, asked to pay by: " + ", ".join(f"{how[h]} {h}" for h in HOW if how[h]))
        refused = [v for v in visits if v.msgid not in done]
        reasons = Counter(self.label(v.msgid).removeprefix("rejected ") for v in refused)
        intended = all(self.label(v.msgid) == run.sent[v.msgid].expect for v in refused)
        print(
            f"  rejected {len(refused)} ({'each on purpose' if intended else 'NOT ALL ON PURPOSE'}): "
            + ", ".join(f"{n} {code}" for code, n in reasons.most_common())
        )
        missing = [s for s in done.values() if s not in paid]
        if missing:
            problems.append(f"{len(missing)} completed settlements without a settlement.completed notification")
        bills = [(v, paid[s]) for v in visits if (s := done.get(v.msgid)) and s in paid]

        def total(field_: str) -> Decimal:
            return sum((Decimal(n[field_]) for _, n in bills), ZERO)

        fees = sum((Decimal(v.msg["body"]["medfee_sumamt"]) for v, _ in bills), ZERO)
        fund = sum((Decimal(v.msg["body"]["fund_pay_sumamt"]) for v, _ in bills), ZERO)
        wallet, acct, mulaid, cash = (total(f) for f in ("wallet_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay"))
        print(f"  medical fees {fees:.2f} yuan: fund {fund:.2f}, personal part {fees - fund:.2f} paid as")
        print(
            f"    wallet_pay {wallet:.2f} + acct_pay {acct:.2f} (acct_mulaid_pay {mulaid:.2f} of it from "
            f"providers' accounts) + cash {cash:.2f}"
        )
        if wallet + acct + cash != fees - fund:
            problems.append("settlement parts do not add up to the personal part")
        used = Counter(v.how for v, n in bills if Decimal(n["wallet_pay"]) + Decimal(n["acct_pay"]) > 0)
        print(
            "  account or quota money was there to take for "
            + ", ".join(f"{used[h]} of {how[h]} {h}" for h in HOW if h != "cash only" and how[h])
        )

        undo = [(m, self.label(m)) for m in self.cancels]
        ok = [self.cancels[m] for m, label in undo if label == "completed"]
        back = sum(
            (Decimal(paid[s]["wallet_pay"]) + Decimal(paid[s]["acct_pay"]) for m in ok if (s := done.get(m)) in paid),
            ZERO,
        )
        others = Counter(label for _, label in undo if label != "completed")
        after = 1 if self.late_cancel is not None and self.label(list(self.cancels)[-1]) == "completed" else 0
        print(
            f"cancellations: {len(ok)} settlements cancelled ({back:.2f} yuan back to accounts and wallets"
            f"{f', {after} of them after the month closed' if after else ''}); "
            + (", ".join(f"{n} {label}" for label, n in others.items()) or "none refused")
            + f"; settlement.cancelled told for {len(cancelled & {done.get(m) for m in ok})} of them"
        )
        for what, msgid in self.reversals:
            line = f"reversal of {what}: {self.label(msgid)}"
            if what.startswith("a settlement, before") and self.held_back is not None:
                line += f"; the original, arriving later: {self.label(self.held_back.msgid)}"
            print(line)
        contributions: dict[str, Counter[str]] = defaultdict(Counter)
        amounts: dict[str, Decimal] = defaultdict(Decimal)
        for m, msg in self.contributions.items():
            b = msg["body"]
            own = b["payer_psn_no"] == b["insured_psn_no"]
            kind = f"insutype {b['insutype']} from {'the own wallet' if own else 'a provider'}"
            contributions[kind][self.label(m)] += 1
            if self.label(m) == "completed":
                amounts[kind] += Decimal(b["amount"])
        print("contributions (contribution.requested):")
        for kind, c in sorted(contributions.items()):
            told = [
                f"{n} {label}" + (f" ({amounts[kind]:.2f} yuan)" if label == "completed" else "")
                for label, n in c.items()
            ]
            print(f"  {kind}: {', '.join(told)}")
        return problems

    def close_summary(self) -> None:
        if not self.period:
            return
        print(f"\n== Month close {self.period} (closed at {self.close_clock} business time) ==")
        statements = self.statements()
        event = next((b for b in self.run.event_bodies["clearing.month-closed"] if b["period"] == self.period), None)
        facts = (
            f"; {event['items']} obligations, {event['pairs']} pairs of regions, gross {event['gross']}"
            if event
            else ""
        )
        print(f"close requested: {self.label(self.close_msgid)}{facts}")
        print(f"statements issued (clearing.statement-issued, one per region): {len(statements)}")
        answered: dict[str, str] = {}
        for m, sid in self.answers.items():
            if self.label(m) == "completed":
                answered[sid] = "confirmed" if self.run.sent[m].type == "statement.confirmed" else "disputed"
        largest = sorted(statements, key=lambda s: max(Decimal(s["owes"] or 0), Decimal(s["owed"] or 0)), reverse=True)
        if largest:
            print(f"  {'region':<16} {'owes':>10} {'owed':>10} {'net':>10}  counterparts  answer")
            for s in largest[:6]:
                print(
                    f"  {region_name(s['admdvs']):<16} {s['owes']:>10} {s['owed']:>10} {s['net']:>10}  "
                    f"{len(s['counterparts']):>12}  {answered.get(s['statement_id'], '-')}"
                )
            top = largest[0]
            print(f"  {region_name(top['admdvs'])}'s counterparts (largest first):")
            for c in sorted(top["counterparts"], key=lambda c: abs(Decimal(c["net"])), reverse=True)[:5]:
                print(f"    {region_name(c['admdvs']):<16} owes {c['owes']:>9}  owed {c['owed']:>9}  net {c['net']:>9}")
        for m, sid in self.answers.items():
            sent = self.run.sent[m]
            if self.label(m) != "completed":
                print(f"  {sent.type} of {sid} by another province: {self.label(m)}")
        late = self.late_cancel
        if late is not None:
            setl = self.setl_id(late.msgid)
            items = [b for b in self.run.event_bodies["clearing.obligation-recorded"] if b["setl_id"] == setl]
            back = [b for b in items if b["direction"] == "reverse"]
            counted = sorted({b["period"] for b in items if b["direction"] == "forward"}) or ["?"]
            months = ", ".join(sorted({b["period"] for b in back})) or "(not recorded yet)"
            print(
                f"cancelled after the close: a settlement counted in {', '.join(counted)} "
                f"({region_name(late.patient.region)}'s account spent in {region_name(late.institution.region)}): "
                f"-{sum((Decimal(b['amount']) for b in back), ZERO):.2f} yuan nets in {months}"
            )

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

        table = Table(
            title="What the platform answered (request.result, one per ingress message)", title_justify="left"
        )
        for column, justify in (("type", "left"), ("answers", "left"), ("p50 ms", "right"), ("p95 ms", "right")):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for type_, counter in sorted(rows.items()):
            answered = ", ".join(f"{n} {label}" for label, n in counter.most_common())
            lat = sorted(latencies[type_]) or [0.0]
            p95 = lat[min(len(lat) - 1, int(len(lat) * 0.95))]
            table.add_row(type_, answered, f"{statistics.median(lat):.0f}", f"{p95:.0f}")
        print()
        STDOUT.print(table)
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

        problems = self.payments_summary() + self.statements_summary()
        self.close_summary()
        for line in problems:
            print(f"  PROBLEM {line}")

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
        platform = self.platform or await platform_books(self.settings)
        print("\n== Platform books (wallet, payment and clearing, each with its own role, cross-checked) ==")
        for line in platform.lines():
            print(f"  {line}")
        books_ok = books_ok and platform.balanced
        ok = complete and not unexpected and same_answer and books_ok and not problems
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
        "--daytime",
        action="store_true",
        help="local stack only: first, outside 06:00-21:00 business time, move the platform's clock on to the "
        "next 10:00, so transfers are not refused for the quiet hours (make run does this)",
    )
    parser.add_argument(
        "--night",
        action="store_true",
        help="local stack only: afterwards move the platform's clock on to 05:59:58 the next morning, "
        "so transfers nobody accepted go back (make run does this)",
    )
    parser.add_argument(
        "--month-end",
        action="store_true",
        help="local stack only: afterwards move the platform's clock on to 00:30 on the first day of the next "
        "month, close the month and let regions answer their statements (make run does this)",
    )
    args = parser.parse_args()
    sim = Simulator(PlatformSettings(), args.people, args.seed, args.night, args.month_end, args.daytime)
    print(f"province simulator: {args.people} people, seed {args.seed}", file=sys.stderr)

    async def go() -> bool:
        complete = await sim.execute(args.timeout)
        return await sim.summary(complete)

    return 0 if asyncio.run(go()) else 1


if __name__ == "__main__":
    sys.exit(main())
