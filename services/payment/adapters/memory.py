"""The payment service's ports in memory, for unit tests of its use cases: the same behaviour as the PostgreSQL
adapters (tests/ports/ proves it). Reads hand out copies; only the writes store them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from services.payment.domain.contributions import Standard
from services.payment.domain.institutions import Institution
from services.payment.domain.registry import Region, region_range
from services.payment.domain.settlements import Portion, Purpose, Reversal, Settlement, State
from services.payment.service_layer.context import PaymentContext
from shared.caller import Caller
from shared.contracts.province import RequestResult
from shared.contracts.topics import province_topic
from shared.messaging.messages import Decision, Outgoing

LIVE = frozenset({State.DEBITING, State.COMPLETED, State.CANCELLING})
"""The states in which a contribution holds its (insured person, kind, year): PostgreSQL's partial unique index."""


class UniqueViolationError(Exception):
    """What PostgreSQL's unique constraints would refuse."""


@dataclass
class Inbox:
    """The ingress requests this service deferred: (sender, msgid) -> (type, record key), and their answers."""

    deferred: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    answered: dict[tuple[str, str], Decision] = field(default_factory=dict)


@dataclass
class MemoryPayment:
    settlements: dict[str, Settlement] = field(default_factory=dict)
    portions: dict[str, list[Portion]] = field(default_factory=dict)
    reversals: dict[tuple[str, str], Reversal] = field(default_factory=dict)
    institutions: dict[str, Institution] = field(default_factory=dict)
    regions: dict[str, bool] = field(default_factory=dict)
    people: dict[str, tuple[str, int]] = field(default_factory=dict)  # psn_no -> (insuplc_admdvs, version)
    standards: dict[tuple[str, str, int], Standard] = field(default_factory=dict)
    yearly: set[str] = field(default_factory=set)  # the setl_ids held to once a year (add_contribution)
    inbox: Inbox = field(default_factory=Inbox)

    def context(self, caller: Caller) -> PaymentContext:
        return PaymentContext(
            caller,
            settlements=MemorySettlements(self),
            reversals=MemoryReversals(self),
            institutions=MemoryInstitutions(self),
            answers=MemoryAnswers(self),
            registry=MemoryRegistry(self),
            people=MemoryInsuredPeople(self),
            standards=MemoryContributionStandards(self),
        )

    def defer(self, sender: str, msgid: str, type_: str, key: str) -> None:
        """What the consumer does with a request whose handler deferred it."""
        self.inbox.deferred[(sender, msgid)] = (type_, key)


class MemorySettlements:
    def __init__(self, db: MemoryPayment) -> None:
        self.db = db

    async def add(self, settlement: Settlement) -> None:
        if settlement.setl_id in self.db.settlements or any(
            (s.sender, s.msgid) == (settlement.sender, settlement.msgid) for s in self.db.settlements.values()
        ):
            raise UniqueViolationError(f"settlement {settlement.setl_id} exists")
        self.db.settlements[settlement.setl_id] = replace(settlement, new_portions=[])

    async def add_contribution(self, contribution: Settlement) -> str | None:
        c = contribution
        if c.purpose is not Purpose.CONTRIBUTION or c.insutype is None or c.year is None:
            raise ValueError("once a year is for contributions of a kind and year")  # PostgreSQL's CHECK
        for s in self.db.settlements.values():
            if (
                s.setl_id in self.db.yearly
                and (s.psn_no, s.insutype, s.year) == (contribution.psn_no, contribution.insutype, contribution.year)
                and s.state in LIVE
            ):
                return s.setl_id
        await self.add(contribution)
        self.db.yearly.add(contribution.setl_id)
        return None

    async def get_for_update(self, setl_id: str) -> Settlement | None:
        found = self.db.settlements.get(setl_id)
        return None if found is None else replace(found, new_portions=[])

    async def by_msgid_for_update(self, sender: str, msgid: str) -> Settlement | None:
        for s in self.db.settlements.values():
            if (s.sender, s.msgid) == (sender, msgid):
                return replace(s, new_portions=[])
        return None

    async def save(self, settlement: Settlement) -> None:
        if settlement.setl_id not in self.db.settlements:
            raise KeyError(settlement.setl_id)
        self.db.settlements[settlement.setl_id] = replace(settlement, new_portions=[])
        if settlement.new_portions:
            self.db.portions.setdefault(settlement.setl_id, []).extend(settlement.new_portions)
            settlement.new_portions = []

    async def portions_of(self, setl_id: str) -> list[Portion]:
        return sorted(self.db.portions.get(setl_id, []), key=lambda x: x.seq)


class MemoryReversals:
    def __init__(self, db: MemoryPayment) -> None:
        self.db = db

    async def serialize_on(self, sender: str, msgid: str) -> None:
        return None  # one task at a time in memory

    async def of(self, sender: str, omsgid: str) -> Reversal | None:
        return self.db.reversals.get((sender, omsgid))

    async def record(self, sender: str, omsgid: str, reversal: Reversal, at: datetime) -> None:
        if (sender, omsgid) in self.db.reversals:
            raise UniqueViolationError(f"{sender}:{omsgid} was reversed already")
        self.db.reversals[(sender, omsgid)] = reversal

    async def set_outcome(self, sender: str, omsgid: str, outcome: str) -> None:
        found = self.db.reversals.get((sender, omsgid))
        if found is not None:
            self.db.reversals[(sender, omsgid)] = replace(found, outcome=outcome)


class MemoryInstitutions:
    def __init__(self, db: MemoryPayment) -> None:
        self.db = db

    async def get(self, fixmedins_code: str) -> Institution | None:
        return self.db.institutions.get(fixmedins_code)

    async def admdvs_of(self, fixmedins_code: str) -> str | None:
        found = self.db.institutions.get(fixmedins_code)
        return None if found is None else found.admdvs

    async def upsert(self, i: Institution) -> bool:
        if self.db.institutions.get(i.fixmedins_code) == i:
            return False
        self.db.institutions[i.fixmedins_code] = i
        return True


class MemoryAnswers:
    def __init__(self, db: MemoryPayment) -> None:
        self.db = db

    async def answer(self, sender: str, msgid: str, decision: Decision) -> list[Outgoing]:
        if decision.status == "deferred":
            raise ValueError("an answer cannot be deferred again")
        waiting = self.db.inbox.deferred.pop((sender, msgid), None)
        if waiting is None:
            return []
        type_, key = waiting
        self.db.inbox.answered[(sender, msgid)] = decision
        result = RequestResult(
            omsgid=msgid,
            otype=type_,
            status=decision.status,
            reason_code=decision.reason_code,
            reason=decision.reason,
            **decision.ids,
        ).wire()
        return [
            Outgoing(province_topic(sender), key, "request.result", result, correlation_id=msgid),
            *decision.messages,
        ]

    async def was_answered(self, sender: str, msgid: str) -> bool:
        return (sender, msgid) in self.db.inbox.deferred or (sender, msgid) in self.db.inbox.answered


class MemoryRegistry:
    def __init__(self, db: MemoryPayment) -> None:
        self.db = db

    async def record_region(self, admdvs: str, wallet_enabled: bool) -> None:
        self.db.regions[admdvs] = wallet_enabled

    async def regions(self, admdvs: str, after: str, limit: int) -> list[Region]:
        low, high = region_range(admdvs)
        found = sorted(a for a in self.db.regions if low <= a <= high and a > after)
        return [Region(a, self.db.regions[a]) for a in found[:limit]]

    async def institutions(
        self, admdvs: str, fixmedins_type: str | None, after: tuple[str, str], limit: int
    ) -> list[Institution]:
        low, high = region_range(admdvs)
        found = sorted(
            (
                i
                for i in self.db.institutions.values()
                if low <= i.admdvs <= high
                and (i.admdvs, i.fixmedins_code) > after
                and fixmedins_type in (None, i.fixmedins_type)
            ),
            key=lambda i: (i.admdvs, i.fixmedins_code),
        )
        return found[:limit]


class MemoryInsuredPeople:
    def __init__(self, db: MemoryPayment) -> None:
        self.db = db

    async def record(self, psn_no: str, insuplc_admdvs: str, version: int) -> bool:
        known = self.db.people.get(psn_no)
        if known is not None and known[1] >= version:
            return False
        self.db.people[psn_no] = (insuplc_admdvs, version)
        return True

    async def region_of(self, psn_no: str) -> str | None:
        known = self.db.people.get(psn_no)
        return None if known is None else known[0]


class MemoryContributionStandards:
    def __init__(self, db: MemoryPayment) -> None:
        self.db = db

    async def for_region(self, admdvs: tuple[str, ...], insutype: str, year: int) -> list[Standard]:
        found: list[Standard] = []
        for a in sorted(set(admdvs)):
            rows = [s for (r, k, y), s in self.db.standards.items() if (r, k) == (a, insutype) and y <= year]
            if rows:
                found.append(max(rows, key=lambda s: s.year))
        return found

    async def set(self, standard: Standard) -> None:
        self.db.standards[(standard.admdvs, standard.insutype, standard.year)] = standard

    async def listing(self, admdvs: str | None, insutype: str | None) -> list[Standard]:
        return [
            s
            for key, s in sorted(self.db.standards.items())
            if admdvs in (None, s.admdvs) and insutype in (None, s.insutype)
        ]
