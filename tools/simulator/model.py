"""The simulator's vocabulary: the regions it plays, the people and institutions it makes up, a plan of messages,
and the traffic (what it sent, what the platform answered and told)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

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
Step = tuple[str, dict[str, Any] | bytes, str, str]
"""(topic, value, key, expected answer: 'completed', 'accepted', 'rejected' or 'rejected CODE')."""
Plan = list[Step]
"""What a phase publishes, in order."""


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


Family = tuple[Person, Person, str]
"""Two people and a string: (provider, recipient, the bind or transfer request's msgid), or for the households
before they bind, (employee, relative, kinship)."""


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
class Traffic:
    """What the provinces sent, and what they heard back: each request's answers (with when they arrived), the
    provinces' notifications by type, the DLQ records, and the events the services published."""

    sent: dict[str, Sent] = field(default_factory=dict)
    results: dict[str, list[tuple[float, dict[str, Any]]]] = field(default_factory=lambda: defaultdict(list))
    notifications: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    dlq: list[dict[str, Any]] = field(default_factory=list)
    events: Counter[str] = field(default_factory=Counter)
    credit_msgids: dict[str, tuple[str, Decimal]] = field(default_factory=dict)
    event_bodies: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    answer_msgids: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # omsgid -> answers' msgids

    def answer(self, msgid: str) -> dict[str, Any] | None:
        """The first request.result for a message, if any came."""
        answers = self.results.get(msgid)
        return answers[0][1] if answers else None

    def label(self, msgid: str) -> str:
        """How the platform answered first: 'completed', 'accepted', 'rejected CODE' or '(no answer)'."""
        body = self.answer(msgid)
        if body is None:
            return "(no answer)"
        return str(body["status"]) if body["status"] != "rejected" else f"rejected {body['reason_code']}"
