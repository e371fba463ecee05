"""Contributions as policy data (docs/adr/0022), without servers: the standard per region, kind and year, and once
a year per insured person and kind, on the in-memory ports. tests/ports proves the fakes honest on PostgreSQL,
including two contributions at the same moment; tests/e2e/test_payments.py the same through the broker."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from services.payment.adapters.memory import MemoryPayment
from services.payment.domain import commands
from services.payment.domain.contributions import (
    Standard,
    StandardError,
    applicable,
    lookup_chain,
)
from services.payment.domain.settlements import Debited, State
from services.payment.service_layer.context import PaymentContext
from services.payment.service_layer.give_up_on_wallet_answer import give_up_on_wallet_answer
from services.payment.service_layer.record_debit import record_debit
from services.payment.service_layer.record_insured_person import record_insured_person
from services.payment.service_layer.record_refund import record_refund
from services.payment.service_layer.record_refusal import record_refusal
from services.payment.service_layer.request_payment import request_contribution
from services.payment.service_layer.reverse import reverse
from services.payment.service_layer.set_contribution_standard import set_contribution_standard
from shared.caller import Caller
from shared.clock import BUSINESS_TZ
from shared.contracts import province as p
from shared.contracts.reasons import ReasonCode
from shared.messaging.messages import Decision

NOON = datetime(2026, 10, 14, 12, 0, tzinfo=BUSINESS_TZ)
SHENZHEN, GUANGDONG, XIAN = "440300", "440000", "610100"
INSURED, PAYER = "R440300000000000001", "P440300000000000002"
D = Decimal


class Clock:
    def now(self) -> datetime:
        return NOON


def std(admdvs: str, insutype: str, year: int, amount: str) -> Standard:
    return Standard(admdvs, insutype, year, D(amount), "test")


SEEDS = [
    std("000000", "390", 2024, "380.00"),
    std("000000", "390", 2025, "400.00"),
    std("000000", "410", 2022, "120.00"),
    std(GUANGDONG, "390", 2026, "450.00"),
    std(SHENZHEN, "410", 2024, "60.00"),
]


class Desk:
    """A province asking, the wallet answering, as the consumer and the wallet would."""

    def __init__(self) -> None:
        self.db = MemoryPayment()
        self.n = 0

    def ctx(self, sender: str = SHENZHEN, msgid: str = "") -> PaymentContext:
        return self.db.context(Caller(Clock(), sender, msgid))

    async def contribute(
        self, amount: str, insutype: str = "390", year: int = 2027, insured: str = INSURED, sender: str = SHENZHEN
    ) -> tuple[str, Decision]:
        self.n += 1
        setl_id, msgid = f"c-{self.n}", f"{sender}C{self.n}"
        ask = p.ContributionRequested(
            payer_psn_no=PAYER, insured_psn_no=insured, insutype=insutype, amount=D(amount), year=year
        )
        decision = await request_contribution(commands.RequestContribution(setl_id, ask), self.ctx(sender, msgid))
        if decision.status == "deferred":
            self.db.defer(sender, msgid, "contribution.requested", PAYER)
        return setl_id, decision

    async def debit(self, setl_id: str) -> None:
        amount = self.db.settlements[setl_id].psn_part_amt
        debited = Debited(amount, amount, D("0.00"), D("0.00"), D("0.00"), ())
        assert await record_debit(commands.RecordDebit(setl_id, debited), self.ctx())

    async def reverse(self, setl_id: str) -> Decision:
        s = self.db.settlements[setl_id]
        self.n += 1
        back = commands.Reverse(p.ReversalRequested(omsgid=s.msgid, otype="contribution.requested"))
        return await reverse(back, self.ctx(s.sender, f"{s.sender}V{self.n}"))


async def desk() -> Desk:
    d = Desk()
    for s in SEEDS:
        await d.ctx().standards.set(s)
    await record_insured_person(commands.RecordInsuredPerson(INSURED, SHENZHEN, 1), d.ctx())
    return d


def refused(decision: Decision) -> str | None:
    assert decision.status == "rejected", decision
    return decision.reason_code


# -- the standard -------------------------------------------------------------------------------------------------


def test_a_standard_is_looked_for_in_the_region_then_its_province_then_the_nation() -> None:
    assert lookup_chain(SHENZHEN) == (SHENZHEN, GUANGDONG, "000000")
    assert lookup_chain(GUANGDONG) == (GUANGDONG, "000000")
    assert lookup_chain("000000") == ("000000",)
    pick = applicable
    assert pick(SHENZHEN, "390", 2026, SEEDS) == SEEDS[3], "the province's, above the nation's"
    assert pick(SHENZHEN, "390", 2025, SEEDS) == SEEDS[1], "the province has none that early: the nation's"
    assert pick(XIAN, "390", 2031, SEEDS) == SEEDS[1], "a year without a row: the latest earlier year"
    assert pick(XIAN, "390", 2024, SEEDS) == SEEDS[0]
    assert pick(XIAN, "390", 2023, SEEDS) is None, "before every standard"
    assert pick(SHENZHEN, "410", 2030, SEEDS) == SEEDS[4], "the region's own, even set in an earlier year"
    assert pick(XIAN, "410", 2030, SEEDS) == SEEDS[2]


@pytest.mark.parametrize(
    ("amount", "insutype", "year", "insured_in", "code"),
    [
        ("400.00", "390", 2025, XIAN, None),  # the national standard, exactly
        ("400.01", "390", 2025, XIAN, ReasonCode.CONTRIBUTION_OVER_STANDARD),
        ("450.00", "390", 2027, SHENZHEN, None),  # Guangdong's, from 2026 on
        ("450.01", "390", 2027, SHENZHEN, ReasonCode.CONTRIBUTION_OVER_STANDARD),
        ("60.00", "410", 2027, SHENZHEN, None),  # Shenzhen's own
        ("61.00", "410", 2027, SHENZHEN, ReasonCode.CONTRIBUTION_OVER_STANDARD),
        ("100.00", "410", 2027, XIAN, None),  # the national default
        ("10.00", "390", 2021, XIAN, ReasonCode.CONTRIBUTION_OVER_STANDARD),  # no standard that year
        ("20000.00", "390", 2027, SHENZHEN, ReasonCode.CONTRIBUTION_OVER_STANDARD),  # issue 28's
    ],
)
async def test_a_contribution_above_the_standard_of_its_region_kind_and_year_is_refused(
    amount: str, insutype: str, year: int, insured_in: str, code: ReasonCode | None
) -> None:
    d = await desk()
    await record_insured_person(commands.RecordInsuredPerson(INSURED, insured_in, 2), d.ctx())
    setl_id, decision = await d.contribute(amount, insutype, year, sender=insured_in)
    if code is None:
        assert decision.status == "deferred", decision
        assert d.db.settlements[setl_id].state is State.DEBITING
        return
    assert refused(decision) == code
    assert code.value in decision.messages[0].body["reason_code"], "recorded on payment.events.v1"
    assert not d.db.settlements, "nothing asked of the wallet"


async def test_the_insured_persons_region_decides_not_the_payers() -> None:
    d = await desk()
    await record_insured_person(commands.RecordInsuredPerson(PAYER, XIAN, 1), d.ctx())
    _, ok = await d.contribute("450.00", "390", 2027)  # the insured is in Shenzhen: Guangdong's 450
    assert ok.status == "deferred"


async def test_the_copy_of_where_a_person_is_insured_keeps_the_newest_version() -> None:
    d = await desk()
    await record_insured_person(commands.RecordInsuredPerson(INSURED, XIAN, 3), d.ctx())
    await record_insured_person(commands.RecordInsuredPerson(INSURED, SHENZHEN, 2), d.ctx())  # late
    assert await d.ctx().people.region_of(INSURED) == XIAN
    _, over = await d.contribute("450.00", "390", 2027, sender=XIAN)  # Xi'an: the national 400
    assert refused(over) == ReasonCode.CONTRIBUTION_OVER_STANDARD


async def test_an_unknown_insured_person_or_another_province_is_refused_before_anything_is_held() -> None:
    """A province is told NOT_A_PARTY alike for a person insured elsewhere and for nobody (README, "Who may send
    what"); only a trusted gateway learns that a person was never enrolled."""
    d = await desk()
    _, ghost = await d.contribute("10.00", insured="R999999999999999999")
    assert refused(ghost) == ReasonCode.NOT_A_PARTY
    _, elsewhere = await d.contribute("10.00", sender=XIAN)
    assert refused(elsewhere) == ReasonCode.NOT_A_PARTY
    assert (ghost.reason, elsewhere.reason) == (elsewhere.reason, ghost.reason), "nothing tells them apart"
    ask = p.ContributionRequested(
        payer_psn_no=PAYER, insured_psn_no="R999999999999999999", insutype="390", amount=D("10.00"), year=2027
    )
    gateway = d.db.context(Caller(Clock(), "110000", "G1", frozenset({"110000"})))
    assert refused(await request_contribution(commands.RequestContribution("c-g", ask), gateway)) == (
        ReasonCode.UNKNOWN_PERSON
    )
    assert not d.db.settlements
    _, ok = await d.contribute("10.00")
    assert ok.status == "deferred", "nothing held the year"


async def test_an_operator_sets_a_standard_and_the_next_contribution_is_judged_by_it() -> None:
    d = await desk()
    _, over = await d.contribute("500.00", "390", 2028)
    assert refused(over) == ReasonCode.CONTRIBUTION_OVER_STANDARD
    cmd = commands.SetContributionStandard(SHENZHEN, "390", 2028, D("500"), "a Shenzhen notice")
    assert await set_contribution_standard(cmd, d.ctx()) == Standard(
        SHENZHEN, "390", 2028, D("500.00"), "a Shenzhen notice"
    )
    _, ok = await d.contribute("500.00", "390", 2028)
    assert ok.status == "deferred"
    listed = await d.ctx().standards.listing(SHENZHEN, None)
    assert [(s.insutype, s.year) for s in listed] == [("390", 2028), ("410", 2024)], "by region, kind and year"


@pytest.mark.parametrize(
    ("admdvs", "insutype", "year", "amount", "source"),
    [
        ("4403", "390", 2028, "1", "x"),
        (SHENZHEN, "310", 2028, "1", "x"),
        (SHENZHEN, "390", 1999, "1", "x"),
        (SHENZHEN, "390", 2028, "0", "x"),
        (SHENZHEN, "390", 2028, "1.001", "x"),
        (SHENZHEN, "390", 2028, "1", " "),
    ],
)
async def test_a_standard_that_cannot_be_is_not_set(
    admdvs: str, insutype: str, year: int, amount: str, source: str
) -> None:
    d = await desk()
    with pytest.raises(StandardError):
        await set_contribution_standard(
            commands.SetContributionStandard(admdvs, insutype, year, D(amount), source), d.ctx()
        )
    assert len(d.db.standards) == len(SEEDS)


# -- once a year --------------------------------------------------------------------------------------------------


async def test_a_second_contribution_for_the_same_person_kind_and_year_is_refused() -> None:
    d = await desk()
    first, ok = await d.contribute("380.00")
    assert ok.status == "deferred"
    _, waiting = await d.contribute("10.00")  # the first still at the wallet
    assert refused(waiting) == ReasonCode.CONTRIBUTION_ALREADY_PAID
    assert first in (waiting.reason or "")
    await d.debit(first)
    _, paid = await d.contribute("10.00")
    assert refused(paid) == ReasonCode.CONTRIBUTION_ALREADY_PAID
    # another kind, another year, another person: each its own
    for kind, year, person in (("410", 2027, INSURED), ("390", 2028, INSURED), ("390", 2027, PAYER)):
        await record_insured_person(commands.RecordInsuredPerson(person, SHENZHEN, 1), d.ctx())
        _, other = await d.contribute("10.00", kind, year, insured=person)
        assert other.status == "deferred", (kind, year, person)


async def test_a_contribution_the_wallet_refused_frees_the_year_for_one_more() -> None:
    d = await desk()
    first, _ = await d.contribute("380.00")
    await record_refusal(commands.RecordRefusal(first, "INSUFFICIENT_BALANCE", "not enough"), d.ctx())
    second, ok = await d.contribute("300.00")
    assert ok.status == "deferred"
    _, third = await d.contribute("300.00")
    assert (refused(third), second in (third.reason or "")) == (ReasonCode.CONTRIBUTION_ALREADY_PAID, True)


async def test_a_contribution_given_up_on_frees_the_year() -> None:
    d = await desk()
    first, _ = await d.contribute("380.00")
    await give_up_on_wallet_answer(commands.GiveUpOnWalletAnswer(first, money_taken=False), d.ctx())
    assert (await d.contribute("380.00"))[1].status == "deferred"


async def test_a_reversed_contribution_frees_the_year_once_the_money_is_back() -> None:
    d = await desk()
    first, _ = await d.contribute("380.00")
    await d.debit(first)
    assert (await d.reverse(first)).status == "deferred"
    _, cancelling = await d.contribute("380.00")
    assert refused(cancelling) == ReasonCode.CONTRIBUTION_ALREADY_PAID, "the money is not back yet"
    await record_refund(commands.RecordRefund(first), d.ctx())
    assert d.db.settlements[first].state is State.CANCELLED
    second, ok = await d.contribute("380.00")
    assert ok.status == "deferred"
    _, third = await d.contribute("380.00")
    assert refused(third) == ReasonCode.CONTRIBUTION_ALREADY_PAID, "freed for exactly one"
    assert second in (third.reason or "")


async def test_a_contribution_reversed_while_the_wallet_works_frees_the_year_when_refunded() -> None:
    d = await desk()
    first, _ = await d.contribute("380.00")
    assert (await d.reverse(first)).status == "deferred"  # still debiting: undone when the wallet answers
    await d.debit(first)
    assert d.db.settlements[first].state is State.CANCELLING
    assert refused((await d.contribute("1.00"))[1]) == ReasonCode.CONTRIBUTION_ALREADY_PAID
    await record_refund(commands.RecordRefund(first), d.ctx())
    assert (await d.contribute("1.00"))[1].status == "deferred"


async def test_a_refused_contribution_holds_nothing() -> None:
    d = await desk()
    _, over = await d.contribute("401.00", year=2025)
    assert refused(over) == ReasonCode.CONTRIBUTION_OVER_STANDARD
    assert (await d.contribute("400.00", year=2025))[1].status == "deferred"
