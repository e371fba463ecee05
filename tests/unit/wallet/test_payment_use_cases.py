"""Taking payments and giving them back (the wallet's side of the paying saga), without servers: the service
layer on the in-memory ports. tests/e2e/test_payments.py proves the same through Kafka and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from services.wallet.domain import commands
from services.wallet.domain.ledger import personal_account_id, spending_account_id
from services.wallet.domain.payments import PaymentState, Purpose
from services.wallet.service_layer.change_freeze import change_freeze
from services.wallet.service_layer.end_relationship import end_relationship
from services.wallet.service_layer.refund_payment import refund_payment
from services.wallet.service_layer.refuse_failed_payment import refuse_failed_payment
from services.wallet.service_layer.take_payment import take_payment
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import WALLET_EVENTS, province_topic
from shared.messaging.messages import Outgoing
from tests.unit.wallet.world import GUANGDONG, PROVIDER, RECIPIENT, RELATIONSHIP, SHAANXI, World, money, world


def the(messages: list[Outgoing], type_: str) -> dict[str, Any]:
    [body] = [m.body for m in messages if m.type == type_]
    return body


def portions(body: dict[str, Any]) -> list[tuple[str, str, Decimal]]:
    return [(x["source"], x["payer_psn_no"], Decimal(x["amount"])) for x in body["portions"]]


async def paying_world(quota: str = "100.00", own: str = "50.00") -> tuple[World, str]:
    """The recipient with `quota` from the provider (one lot) and `own` in the personal account."""
    w = await world()
    lot = await w.granted(quota)
    await w.credited(RECIPIENT.psn_no, SHAANXI, own)
    return w, lot


def own_balance(w: World, psn_no: str = RECIPIENT.psn_no) -> Decimal:
    return w.balance(personal_account_id(psn_no))


# -- taking ---------------------------------------------------------------------------------------------------------


async def test_a_settlement_takes_the_wallet_first_then_the_own_account() -> None:
    w, lot = await paying_world()
    cmd = w.order("120.00")
    messages = await take_payment(cmd, w.as_(SHAANXI))
    assert [(m.topic, m.type, m.key) for m in messages] == [(WALLET_EVENTS, "wallet.payment-debited", RECIPIENT.psn_no)]
    body = the(messages, "wallet.payment-debited")
    assert portions(body) == [
        ("wallet", RECIPIENT.psn_no, money("100.00")),
        ("own_account", RECIPIENT.psn_no, money("20.00")),
    ]
    assert [x["funding_admdvs"] for x in body["portions"]] == [GUANGDONG, SHAANXI]
    assert body["portions"][0]["lot_id"] == lot
    assert [Decimal(body[k]) for k in ("wallet_pay", "acct_pay", "acct_mulaid_pay", "balc", "wallet_balc")] == [
        money("100.00"), money("20.00"), money("0.00"), money("30.00"), money("0.00"),
    ]  # fmt: skip
    assert (w.wallet_balance, own_balance(w)) == (money("0.00"), money("30.00"))
    assert w.balance(spending_account_id(SHAANXI)) == money("120.00")
    assert w.db.lots[lot].remaining == money("0.00")
    assert w.db.payments[cmd.order.setl_id].state is PaymentState.DEBITED
    assert await take_payment(cmd, w.as_(SHAANXI)) == []  # asked twice: the first answer stands


async def test_what_the_sources_do_not_cover_is_left_to_cash() -> None:
    w, _ = await paying_world("30.00", "20.00")
    body = the(await take_payment(w.order("80.00"), w.as_(SHAANXI)), "wallet.payment-debited")
    assert (Decimal(body["wallet_pay"]), Decimal(body["acct_pay"])) == (money("30.00"), money("20.00"))
    nothing_from_own = the(
        await take_payment(w.order("10.00", acct_used_flag="0"), w.as_(SHAANXI)), "wallet.payment-debited"
    )
    assert nothing_from_own["portions"] == []


async def test_a_provider_pays_through_the_relationship() -> None:
    w, _ = await paying_world()
    cmd = w.order("70.00", payer_psn_no=PROVIDER.psn_no, acct_used_flag="2", use_wallet=False)
    body = the(await take_payment(cmd, w.as_(SHAANXI)), "wallet.payment-debited")
    assert portions(body) == [("provider_account", PROVIDER.psn_no, money("70.00"))]
    assert body["portions"][0]["funding_admdvs"] == GUANGDONG
    assert (Decimal(body["acct_pay"]), Decimal(body["acct_mulaid_pay"])) == (money("70.00"), money("70.00"))
    assert w.provider_balance == money("330.00")  # 500 less the 100 granted and these 70
    assert own_balance(w) == money("50.00")


async def test_a_contribution_is_paid_in_full_or_refused() -> None:
    w, _ = await paying_world()
    for_recipient = {"purpose": Purpose.CONTRIBUTION, "payer_psn_no": PROVIDER.psn_no}
    body = the(await take_payment(w.order("60.00", **for_recipient), w.as_(SHAANXI)), "wallet.payment-debited")
    assert portions(body) == [("provider_account", PROVIDER.psn_no, money("60.00"))]
    too_much = await take_payment(w.order("1000.00", **for_recipient), w.as_(SHAANXI))
    assert the(too_much, "wallet.payment-refused")["reason_code"] == ReasonCode.INSUFFICIENT_BALANCE
    own_wallet = {"purpose": Purpose.CONTRIBUTION, "payer_psn_no": RECIPIENT.psn_no}
    body = the(await take_payment(w.order("40.00", **own_wallet), w.as_(SHAANXI)), "wallet.payment-debited")
    assert portions(body) == [("wallet", RECIPIENT.psn_no, money("40.00"))]


async def test_a_contribution_is_asked_by_the_insured_persons_province() -> None:
    w, _ = await paying_world()
    cmd = w.order("10.00", purpose=Purpose.CONTRIBUTION, payer_psn_no=PROVIDER.psn_no)
    refused = await take_payment(cmd, w.as_(GUANGDONG))
    assert the(refused, "wallet.payment-refused")["reason_code"] == ReasonCode.NOT_A_PARTY
    gateway = w.as_("100000", trusted=frozenset({"100000"}))
    assert the(
        await take_payment(replace(cmd, order=replace(cmd.order, setl_id="setl-g")), gateway), "wallet.payment-debited"
    )


async def freeze(w: World, psn_no: str) -> None:
    cmd = commands.ChangeFreeze(psn_no=psn_no, frozen=True, reason="misuse", msgid=f"F-{psn_no}")
    region = SHAANXI if psn_no == RECIPIENT.psn_no else GUANGDONG
    assert (await change_freeze(cmd, w.as_(region))).status == "completed"


async def end(w: World) -> list[Outgoing]:
    cmd = commands.EndRelationship(RELATIONSHIP, PROVIDER.psn_no, RECIPIENT.psn_no, True, GUANGDONG, SHAANXI, version=2)
    return await end_relationship(cmd, w.platform)


@pytest.mark.parametrize(
    ("case", "change", "code"),
    [
        ("unknown patient", {"psn_no": "X000000000000000001"}, ReasonCode.UNKNOWN_PERSON),
        ("unknown provider", {"payer_psn_no": "X000000000000000001", "acct_used_flag": "2"}, ReasonCode.UNKNOWN_PERSON),
        ("not related", {"payer_psn_no": RECIPIENT.psn_no, "acct_used_flag": "2"}, ReasonCode.NO_RELATIONSHIP),
        ("relationship ended", {"payer_psn_no": PROVIDER.psn_no, "acct_used_flag": "2"}, ReasonCode.NO_RELATIONSHIP),
        ("elsewhere", {"spending_admdvs": GUANGDONG}, ReasonCode.OUTSIDE_INSURED_REGION),
        ("region off", {}, ReasonCode.REGION_NOT_ENABLED),
        ("no wallet", {}, ReasonCode.WALLET_NOT_OPENED),
        ("wallet frozen", {}, ReasonCode.WALLET_FROZEN),
        ("provider frozen", {"payer_psn_no": PROVIDER.psn_no, "acct_used_flag": "2", "use_wallet": False},
         ReasonCode.WALLET_FROZEN),
        ("not covered", {"purpose": Purpose.CONTRIBUTION, "payer_psn_no": RECIPIENT.psn_no},
         ReasonCode.INSUFFICIENT_BALANCE),
    ],
)  # fmt: skip
async def test_a_refused_payment_takes_nothing(case: str, change: dict[str, Any], code: ReasonCode) -> None:
    w, _ = await paying_world()
    if case == "relationship ended":
        await end(w)
    elif case == "region off":
        w.db.regions[SHAANXI] = False
    elif case == "no wallet":
        del w.db.wallets[RECIPIENT.psn_no]
    elif case == "wallet frozen":
        await freeze(w, RECIPIENT.psn_no)
    elif case == "provider frozen":
        await freeze(w, PROVIDER.psn_no)
    before = {a: x.balance for a, x in w.db.accounts.items()}
    cmd = w.order("150.00", **change)
    messages = await take_payment(cmd, w.as_(SHAANXI))
    assert [(m.topic, m.type) for m in messages] == [(WALLET_EVENTS, "wallet.payment-refused")]
    assert the(messages, "wallet.payment-refused")["reason_code"] == code
    assert {a: x.balance for a, x in w.db.accounts.items() if a in before} == before
    assert w.db.payments[cmd.order.setl_id].state is PaymentState.REFUSED
    assert w.db.payments[cmd.order.setl_id].refusal_code == code
    assert await take_payment(cmd, w.as_(SHAANXI)) == []


async def test_a_payment_the_wallet_could_not_process_is_refused_once() -> None:
    w, _ = await paying_world()
    cmd = commands.RefuseFailedPayment("setl-x", "settlement", RECIPIENT.psn_no)
    messages = await refuse_failed_payment(cmd, w.platform)
    assert the(messages, "wallet.payment-refused")["reason_code"] == ReasonCode.PROCESSING_FAILED
    assert await refuse_failed_payment(cmd, w.platform) == []
    taken = w.order("10.00")
    await take_payment(taken, w.as_(SHAANXI))
    failed_later = commands.RefuseFailedPayment(taken.order.setl_id, "settlement", RECIPIENT.psn_no)
    assert await refuse_failed_payment(failed_later, w.platform) == []  # it had its answer
    assert w.db.payments[taken.order.setl_id].state is PaymentState.DEBITED


# -- giving back ----------------------------------------------------------------------------------------------------


async def test_a_refund_gives_every_source_back_what_it_gave() -> None:
    w, lot = await paying_world()
    cmd = w.order("120.00")
    await take_payment(cmd, w.as_(SHAANXI))
    messages = await refund_payment(commands.RefundPayment(cmd.order.setl_id), w.platform)
    assert [(m.topic, m.type, m.key) for m in messages] == [
        (WALLET_EVENTS, "wallet.payment-refunded", RECIPIENT.psn_no)
    ]
    assert Decimal(the(messages, "wallet.payment-refunded")["amount"]) == money("120.00")
    assert (w.wallet_balance, own_balance(w)) == (money("100.00"), money("50.00"))
    assert w.balance(spending_account_id(SHAANXI)) == money("0.00")
    assert w.db.lots[lot].remaining == money("100.00")
    assert w.db.payments[cmd.order.setl_id].state is PaymentState.REFUNDED
    assert all(d.refund_transfer_id is not None for d in w.db.payment_debits[cmd.order.setl_id].values())
    assert await refund_payment(commands.RefundPayment(cmd.order.setl_id), w.platform) == []  # once


async def test_nothing_is_given_back_for_a_refused_or_unknown_payment() -> None:
    w, _ = await paying_world()
    refused = w.order("10.00", psn_no="X000000000000000001")
    await take_payment(refused, w.as_(SHAANXI))
    assert await refund_payment(commands.RefundPayment(refused.order.setl_id), w.platform) == []
    assert await refund_payment(commands.RefundPayment("setl-none"), w.platform) == []
    assert w.db.payments[refused.order.setl_id].state is PaymentState.REFUSED


async def test_quota_refunded_after_the_relationship_ended_goes_on_to_the_provider() -> None:
    w, lot = await paying_world()
    cmd = w.order("60.00")
    await take_payment(cmd, w.as_(SHAANXI))
    await end(w)  # the 40 left go back now
    assert w.provider_balance == money("440.00")
    messages = await refund_payment(commands.RefundPayment(cmd.order.setl_id), w.platform)
    assert [(m.topic, m.type) for m in messages] == [
        (province_topic(GUANGDONG), "transfer.returned"),
        (province_topic(SHAANXI), "transfer.returned"),
        (WALLET_EVENTS, "wallet.quota-returned"),
        (WALLET_EVENTS, "wallet.payment-refunded"),
    ]
    assert Decimal(the(messages, "wallet.quota-returned")["amount"]) == money("60.00")
    assert (w.provider_balance, w.wallet_balance) == (money("500.00"), money("0.00"))
    assert w.db.lots[lot].remaining == money("0.00")
