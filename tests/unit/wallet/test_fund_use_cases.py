"""Whose fund holds a personal account's money (ADR 0021), without servers: a move carries the balance to the new
region's fund, a sibling region's credit is carried to the insured region's, and quota or a refund coming back to
an account that changed fund is carried too. After every step each fund holds exactly what it issued."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from decimal import Decimal

from services.wallet.domain import commands
from services.wallet.domain.ledger import FUND_CARRY, ZERO, AccountKind, personal_account_id
from services.wallet.domain.transfers import Party
from services.wallet.service_layer.answer_transfer import answer_transfer
from services.wallet.service_layer.end_relationship import end_relationship
from services.wallet.service_layer.record_person import record_person
from services.wallet.service_layer.refund_payment import refund_payment
from services.wallet.service_layer.request_transfer import request_transfer
from services.wallet.service_layer.take_payment import take_payment
from shared.messaging.messages import Outgoing
from tests.unit.wallet.world import (
    GUANGDONG,
    NOON,
    PROVIDER,
    RECIPIENT,
    RELATIONSHIP,
    SHAANXI,
    World,
    money,
    ok,
    world,
)

GUANGZHOU = "440100"  # a sibling region of the provider's (Shenzhen, Guangdong)
GANSU = "620100"


def carries(messages: list[Outgoing]) -> list[tuple[str, str, Decimal, str]]:
    return [
        (m.body["from_admdvs"], m.body["to_admdvs"], Decimal(m.body["amount"]), m.body["cause"])
        for m in messages
        if m.type == "wallet.fund-balance-carried"
    ]


def attributed(w: World) -> dict[str, tuple[Decimal, Decimal]]:
    """Per region: (what its fund issued: credits and carries in, less carries out; what is attributed to it:
    personal accounts of its fund, lots it funded, payments it funded not given back). Per-fund conservation says
    the two are equal (the SQL check is services/wallet/adapters/books.py funds_hold_what_they_issued)."""
    issued: dict[str, Decimal] = defaultdict(lambda: ZERO)
    held: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for t in w.db.ledger_transfers.values():
        if t["state"] == "posted" and (t["code"].startswith("credit.") or t["code"] == FUND_CARRY):
            issued[t["debit"].removeprefix("fund:")] += t["amount"]
        if t["state"] == "posted" and t["code"] == FUND_CARRY:
            issued[t["credit"].removeprefix("fund:")] -= t["amount"]
    for a in w.db.accounts.values():
        if a.kind is AccountKind.PERSONAL:
            held[a.admdvs] += a.credits_posted - a.debits_posted
    for lot in w.db.lots.values():
        held[lot.funding_admdvs] += lot.remaining
    for debits in w.db.payment_debits.values():
        for d in debits.values():
            if d.refund_transfer_id is None:
                held[d.debit.funding_admdvs] += d.debit.amount
    return {r: (issued[r], held[r]) for r in sorted(set(issued) | set(held)) if issued[r] or held[r]}


def conserved(w: World) -> bool:
    return all(i == h for i, h in attributed(w).values())


async def moved(w: World, person: Party, admdvs: str, version: int = 2) -> list[Outgoing]:
    cmd = commands.RecordPerson(replace(person, insuplc_admdvs=admdvs), NOON, version, f"relationship-event-{version}")
    return await record_person(cmd, w.platform)


async def test_a_move_carries_the_whole_balance_to_the_new_regions_fund_once() -> None:
    w = await world("500.00")
    ok(await request_transfer(w.request("100.00"), w.as_(GUANGDONG)))  # held: still the provider's money
    messages = await moved(w, PROVIDER, SHAANXI)
    assert carries(messages) == [(GUANGDONG, SHAANXI, money("500.00"), "move")]
    assert [m.key for m in messages] == [PROVIDER.psn_no]
    assert w.db.accounts[personal_account_id(PROVIDER.psn_no)].admdvs == SHAANXI
    assert attributed(w) == {SHAANXI: (money("500.00"), money("500.00"))}
    assert await moved(w, PROVIDER, SHAANXI) == []  # the same copy again: nothing more
    assert await moved(w, PROVIDER, GUANGDONG, version=1) == []  # an older copy: nothing
    assert conserved(w)


async def test_a_person_without_an_account_moves_without_a_carry() -> None:
    w = await world()
    assert await moved(w, RECIPIENT, GANSU) == []
    assert personal_account_id(RECIPIENT.psn_no) not in w.db.accounts


async def test_after_a_move_the_account_pays_for_its_new_fund() -> None:
    w = await world("500.00")
    await moved(w, PROVIDER, SHAANXI)
    order = w.order("80.00", psn_no=PROVIDER.psn_no, use_wallet=False, spending_admdvs=GUANGDONG)
    [debited] = await take_payment(order, w.as_(SHAANXI))
    assert [(x["funding_admdvs"], x["spending_admdvs"]) for x in debited.body["portions"]] == [(SHAANXI, GUANGDONG)]
    assert conserved(w)


async def test_a_sibling_regions_credit_is_carried_to_the_insured_regions_fund() -> None:
    w = await world("500.00")
    await w.credited(PROVIDER.psn_no, GUANGZHOU, "70.00")
    account = w.db.accounts[personal_account_id(PROVIDER.psn_no)]
    assert (account.admdvs, account.balance) == (GUANGDONG, money("570.00"))
    assert attributed(w).get(GUANGZHOU) is None  # issued nothing net, holds nothing
    assert attributed(w)[GUANGDONG] == (money("570.00"), money("570.00"))


async def test_quota_returning_to_a_provider_who_moved_is_carried_to_the_providers_new_fund() -> None:
    w = await world("500.00")
    await w.granted("100.00")  # a lot funded by Guangdong
    await moved(w, PROVIDER, GANSU)  # 400.00 carried; the lot stays Guangdong's
    end = commands.EndRelationship(RELATIONSHIP, PROVIDER.psn_no, RECIPIENT.psn_no, True, GANSU, SHAANXI, 3)
    messages = await end_relationship(end, w.platform)
    assert carries(messages) == [(GUANGDONG, GANSU, money("100.00"), "quota_return")]
    assert w.provider_balance == money("500.00")
    assert conserved(w)


async def test_an_accept_after_the_provider_moved_makes_a_lot_of_the_new_fund() -> None:
    w = await world("500.00")
    transfer_id = ok(await request_transfer(w.request("100.00"), w.as_(GUANGDONG))).ids["transfer_id"]
    await moved(w, PROVIDER, GANSU)  # the end of the relationship is still on its way
    answer = commands.AnswerTransfer(transfer_id, RECIPIENT.psn_no, True)
    ok(await answer_transfer(answer, w.as_(SHAANXI)))
    assert w.db.lots[transfer_id].funding_admdvs == GANSU
    assert conserved(w)


async def test_a_refund_to_an_account_that_moved_is_carried_to_its_new_fund() -> None:
    w = await world()
    await w.credited(RECIPIENT.psn_no, SHAANXI, "50.00")
    order = w.order("30.00", use_wallet=False)
    await take_payment(order, w.as_(SHAANXI))  # paid by Shaanxi's fund
    await moved(w, RECIPIENT, GANSU)  # 20.00 carried
    messages = await refund_payment(commands.RefundPayment(order.order.setl_id), w.platform)
    assert carries(messages) == [(SHAANXI, GANSU, money("30.00"), "refund")]
    assert w.balance(personal_account_id(RECIPIENT.psn_no)) == money("50.00")
    assert conserved(w)


async def test_moves_without_versions_back_and_forth_carry_each_time() -> None:
    """Events from before versions, with one effective_at: each move is its own carry (named by its event)."""
    w = await world("500.00")
    w.db.people[PROVIDER.psn_no] = (PROVIDER, NOON, 0)  # the copy from before versions
    there = commands.RecordPerson(replace(PROVIDER, insuplc_admdvs=SHAANXI), NOON, 0, "event-a")
    back = commands.RecordPerson(PROVIDER, NOON, 0, "event-b")
    assert carries(await record_person(there, w.platform)) == [(GUANGDONG, SHAANXI, money("500.00"), "move")]
    assert carries(await record_person(back, w.platform)) == [(SHAANXI, GUANGDONG, money("500.00"), "move")]
    assert conserved(w)
