"""The paying saga's use cases on the payment side, without servers: the service layer on the in-memory ports
(services/payment/adapters/memory.py). The black-box suites prove the same through Kafka and PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from services.payment.adapters.memory import MemoryPayment
from services.payment.domain import commands
from services.payment.domain.contributions import Standard
from services.payment.domain.institutions import Institution
from services.payment.domain.settlements import (
    Debited,
    Portion,
    Purpose,
    Settlement,
    SettlementStateError,
    State,
    UndoKind,
)
from services.payment.service_layer.cancel_settlement import cancel_settlement
from services.payment.service_layer.context import PaymentContext
from services.payment.service_layer.give_up_on_wallet_answer import give_up_on_wallet_answer
from services.payment.service_layer.record_debit import record_debit
from services.payment.service_layer.record_refund import record_refund
from services.payment.service_layer.record_refusal import record_refusal
from services.payment.service_layer.register_institution import register_institution
from services.payment.service_layer.request_payment import request_contribution, request_settlement
from services.payment.service_layer.reverse import reverse
from shared.caller import Caller
from shared.clock import BUSINESS_TZ
from shared.contracts import province as p
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import PAYMENT_EVENTS, province_topic
from shared.messaging.messages import Decision, Outgoing

NOON = datetime(2030, 3, 14, 12, 0, tzinfo=BUSINESS_TZ)
SHAANXI, GUANGDONG = "610100", "440300"
HOSPITAL = Institution("H61010300012", "Xi'an No. 1", "1", SHAANXI, wallet_enabled=True)
PATIENT = "R610100000000000001"


class Clock:
    def __init__(self) -> None:
        self.at = NOON

    def now(self) -> datetime:
        return self.at


@dataclass
class World:
    db: MemoryPayment
    clock: Clock

    def as_(self, sender: str, msgid: str = "") -> PaymentContext:
        return self.db.context(Caller(self.clock, sender, msgid))

    @property
    def platform(self) -> PaymentContext:
        return self.db.context(Caller(self.clock))

    async def ask(
        self, use_case: Callable[[Any, PaymentContext], Awaitable[Decision]], cmd: Any, sender: str, msgid: str,
        type_: str,
    ) -> Decision:  # fmt: skip
        """As the consumer does: the use case decides; a deferred request waits in the inbox for its answer."""
        decision = await use_case(cmd, self.as_(sender, msgid))
        if decision.status == "deferred":
            self.db.defer(sender, msgid, type_, PATIENT)
        else:
            self.db.inbox.answered[(sender, msgid)] = decision
        return decision


async def world() -> World:
    w = World(MemoryPayment(), Clock())
    ok = await register_institution(commands.UpsertInstitution(HOSPITAL), w.as_(SHAANXI))
    assert ok.status == "completed"
    await w.platform.people.record(PATIENT, SHAANXI, 1)
    await w.platform.standards.set(Standard("000000", "390", 2025, Decimal("400.00"), "test"))
    return w


def settlement(amount: str = "80.00", **kw: Any) -> p.SettlementRequested:
    fields: dict[str, Any] = {
        "mdtrt_id": "m1", "psn_no": PATIENT, "fixmedins_code": HOSPITAL.fixmedins_code, "mdtrtarea_admvs": SHAANXI,
        "med_type": "11", "medfee_sumamt": Decimal("100.00") + Decimal(amount) - Decimal("80.00"),
        "fund_pay_sumamt": Decimal("20.00"), "psn_part_amt": Decimal(amount), "acct_used_flag": "1",
        "use_wallet": True, "setl_time": NOON - timedelta(minutes=5),
    }  # fmt: skip
    return p.SettlementRequested(**{**fields, **kw})


def debited(wallet: str = "30.00", acct: str = "50.00") -> Debited:
    portions = (
        Portion(1, "wallet", "P440300000000000001", "lot-1", GUANGDONG, SHAANXI, Decimal(wallet)),
        Portion(2, "own_account", PATIENT, None, SHAANXI, SHAANXI, Decimal(acct)),
    )
    return Debited(Decimal(acct), Decimal("0.00"), Decimal(wallet), Decimal("10.00"), Decimal("5.00"), portions)


def kinds(messages: list[Outgoing]) -> list[tuple[str, str]]:
    return [(m.topic, m.type) for m in messages]


def result(messages: list[Outgoing]) -> dict[str, Any]:
    [body] = [m.body for m in messages if m.type == "request.result"]
    return body


async def settled(w: World, msgid: str = "H-1") -> str:
    setl_id = f"setl-{msgid}"
    decision = await w.ask(
        request_settlement, commands.RequestSettlement(setl_id, settlement()), SHAANXI, msgid, "settlement.requested"
    )
    assert decision.status == "deferred"
    return setl_id


# -- requesting -----------------------------------------------------------------------------------------------------


async def test_a_settlement_waits_for_the_wallet() -> None:
    w = await world()
    setl_id = await settled(w)
    s = w.db.settlements[setl_id]
    assert (s.state, s.institution_admdvs, s.psn_part_amt) == (State.DEBITING, SHAANXI, Decimal("80.00"))
    assert await settled(w, "H-2")  # another msgid, another settlement


@pytest.mark.parametrize(
    ("change", "sender", "code"),
    [
        ({"fixmedins_code": "H00000000000"}, SHAANXI, ReasonCode.UNKNOWN_INSTITUTION),
        ({"med_type": "41"}, SHAANXI, ReasonCode.PURPOSE_NOT_ALLOWED),
        ({"psn_part_amt": Decimal("81.00")}, SHAANXI, ReasonCode.INVALID_MESSAGE),
        ({"setl_time": NOON + timedelta(hours=2)}, SHAANXI, ReasonCode.INVALID_MESSAGE),
        ({}, GUANGDONG, ReasonCode.NOT_A_PARTY),
    ],
)
async def test_a_refused_settlement_is_answered_and_recorded(change: dict[str, Any], sender: str, code: str) -> None:
    w = await world()
    decision = await request_settlement(commands.RequestSettlement("s", settlement(**change)), w.as_(sender, "H-9"))
    assert (decision.status, decision.reason_code) == ("rejected", code)
    assert kinds(decision.messages) == [(PAYMENT_EVENTS, "payment.payment-refused")]
    assert not w.db.settlements


async def test_a_contribution_is_for_resident_or_care_insurance_only() -> None:
    w = await world()
    ask = p.ContributionRequested(payer_psn_no=PATIENT, insured_psn_no=PATIENT, insutype="310", amount=Decimal("1"),
                                  year=2030)  # fmt: skip
    refused = await request_contribution(commands.RequestContribution("c", ask), w.as_(SHAANXI, "C-1"))
    assert refused.reason_code == ReasonCode.PURPOSE_NOT_ALLOWED
    ok = await request_contribution(
        commands.RequestContribution("c", ask.model_copy(update={"insutype": "390"})), w.as_(SHAANXI, "C-2")
    )
    assert ok.status == "deferred"
    assert w.db.settlements["c"].use_wallet


# -- the wallet's answers -------------------------------------------------------------------------------------------


async def test_the_wallets_debit_completes_the_settlement_and_answers_once() -> None:
    w = await world()
    setl_id = await settled(w)
    out = await record_debit(commands.RecordDebit(setl_id, debited()), w.platform)
    assert kinds(out) == [
        (province_topic(SHAANXI), "request.result"),
        (PAYMENT_EVENTS, "payment.payment-completed"),
        (province_topic(SHAANXI), "settlement.completed"),
        (province_topic(GUANGDONG), "settlement.completed"),
    ]
    assert (result(out)["status"], result(out)["setl_id"]) == ("completed", setl_id)
    s = w.db.settlements[setl_id]
    assert (s.state, s.acct_pay, s.wallet_pay, s.psn_cash_pay) == (
        State.COMPLETED, Decimal("50.00"), Decimal("30.00"), Decimal("0.00"),
    )  # fmt: skip
    assert len(w.db.portions[setl_id]) == 2
    assert await record_debit(commands.RecordDebit(setl_id, debited()), w.platform) == []  # a repeat


async def test_the_wallets_refusal_is_the_answer() -> None:
    w = await world()
    setl_id = await settled(w)
    out = await record_refusal(commands.RecordRefusal(setl_id, "WALLET_FROZEN", "frozen"), w.platform)
    assert (result(out)["status"], result(out)["reason_code"]) == ("rejected", "WALLET_FROZEN")
    assert w.db.settlements[setl_id].state is State.REFUSED
    assert await record_refusal(commands.RecordRefusal(setl_id, "WALLET_FROZEN", "frozen"), w.platform) == []


async def test_an_answer_the_platform_could_not_apply_refuses_and_asks_the_money_back() -> None:
    """Was tests/integration/test_paying_failures.py: a database, a hand-inserted inbox row, for one branch."""
    w = await world()
    setl_id = await settled(w)
    out = await give_up_on_wallet_answer(commands.GiveUpOnWalletAnswer(setl_id, money_taken=True), w.platform)
    assert (province_topic(SHAANXI), "request.result") in kinds(out)
    assert (PAYMENT_EVENTS, "payment.refund-requested") in kinds(out)
    assert (result(out)["status"], result(out)["reason_code"]) == ("rejected", "PROCESSING_FAILED")
    again = await give_up_on_wallet_answer(commands.GiveUpOnWalletAnswer(setl_id, money_taken=True), w.platform)
    assert again == [], "answered once"
    assert w.db.settlements[setl_id].state is State.REFUSED
    assert w.db.inbox.answered[(SHAANXI, "H-1")].reason_code == "PROCESSING_FAILED"


# -- undoing --------------------------------------------------------------------------------------------------------


async def test_a_cancellation_asks_the_refund_and_is_answered_when_it_comes() -> None:
    w = await world()
    setl_id = await settled(w)
    await record_debit(commands.RecordDebit(setl_id, debited()), w.platform)
    cancel = commands.CancelSettlement(p.SettlementCancelRequested(setl_id=setl_id, mdtrt_id="m1", psn_no=PATIENT))
    assert (await cancel_settlement(cancel, w.as_(GUANGDONG, "X-1"))).reason_code == ReasonCode.NOT_A_PARTY
    decision = await w.ask(cancel_settlement, cancel, SHAANXI, "X-2", "settlement.cancel-requested")
    assert kinds(decision.messages) == [(PAYMENT_EVENTS, "payment.refund-requested")]
    again = await cancel_settlement(cancel, w.as_(SHAANXI, "X-3"))
    assert (again.reason_code, again.reason) == (
        ReasonCode.ALREADY_CANCELLED,
        "the settlement was cancelled (cancellation)",
    )
    out = await record_refund(commands.RecordRefund(setl_id), w.platform)
    assert result(out)["omsgid"] == "X-2"
    assert (PAYMENT_EVENTS, "payment.payment-cancelled") in kinds(out)
    assert w.db.settlements[setl_id].state is State.CANCELLED


async def test_a_reversal_while_the_wallet_works_undoes_the_settlement_when_it_answers() -> None:
    w = await world()
    setl_id = await settled(w)
    back = commands.Reverse(p.ReversalRequested(omsgid="H-1", otype="settlement.requested"))
    decision = await w.ask(reverse, back, SHAANXI, "V-1", "reversal.requested")
    assert decision.status == "deferred"
    assert w.db.settlements[setl_id].undo_kind is UndoKind.REVERSAL
    out = await record_debit(commands.RecordDebit(setl_id, debited()), w.platform)
    assert kinds(out)[-1] == (PAYMENT_EVENTS, "payment.refund-requested")
    repeat = await reverse(back, w.as_(SHAANXI, "V-2"))
    assert (repeat.status, repeat.ids) == ("accepted", {"setl_id": setl_id})  # still at the wallet
    out = await record_refund(commands.RecordRefund(setl_id), w.platform)
    assert result(out)["omsgid"] == "V-1"
    assert (await reverse(back, w.as_(SHAANXI, "V-3"))).status == "completed"


async def test_a_reversal_before_its_original_blocks_it() -> None:
    w = await world()
    back = commands.Reverse(p.ReversalRequested(omsgid="H-7", otype="settlement.requested"))
    assert (await w.ask(reverse, back, SHAANXI, "V-1", "reversal.requested")).status == "completed"
    late = await request_settlement(commands.RequestSettlement("s-7", settlement()), w.as_(SHAANXI, "H-7"))
    assert late.reason_code == ReasonCode.REVERSED
    wrong = commands.Reverse(p.ReversalRequested(omsgid="H-8", otype="transfer.requested"))
    assert (await reverse(wrong, w.as_(SHAANXI, "V-2"))).reason_code == ReasonCode.NOT_REVERSIBLE


async def test_an_institution_is_its_provinces_to_register() -> None:
    w = await world()
    moved = Institution(HOSPITAL.fixmedins_code, "x", "1", GUANGDONG, True)
    assert (await register_institution(commands.UpsertInstitution(moved), w.as_(GUANGDONG))).reason_code == (
        ReasonCode.SENDER_NOT_ALLOWED
    )
    same = await register_institution(commands.UpsertInstitution(HOSPITAL), w.as_(SHAANXI))
    assert same.messages == []


def test_a_settlement_moves_only_forward() -> None:
    s = Settlement("s", Purpose.SETTLEMENT, SHAANXI, "m", PATIENT, None, SHAANXI, Decimal("80"), "1", True, NOON, NOON)
    with pytest.raises(SettlementStateError):
        s.start_refund(NOON)
    s.refuse(ReasonCode.WALLET_FROZEN)
    with pytest.raises(SettlementStateError):
        s.complete(debited(), NOON)
