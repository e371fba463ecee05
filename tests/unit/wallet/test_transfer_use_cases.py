"""The transfer saga's use cases, without servers: the service layer on the in-memory ports
(services/wallet/adapters/memory.py). The black-box suites prove the same on Kafka and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.wallet.domain import commands
from services.wallet.domain.ledger import personal_account_id
from services.wallet.domain.transfers import (
    QuotaTransfer,
    RelationshipCopy,
    ReturnReason,
    State,
    TransferNotPendingError,
)
from services.wallet.service_layer.answer_transfer import answer_transfer
from services.wallet.service_layer.change_freeze import change_freeze
from services.wallet.service_layer.end_relationship import end_relationship
from services.wallet.service_layer.expire_transfers import expire_transfers
from services.wallet.service_layer.request_transfer import request_transfer
from shared.caller import Caller
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import WALLET_EVENTS, province_topic
from shared.messaging.messages import Decision, Outgoing
from tests.unit.wallet.world import GUANGDONG, PROVIDER, RECIPIENT, RELATIONSHIP, SHAANXI, World, money, ok, world


def types(messages: list[Outgoing]) -> list[tuple[str, str]]:
    return [(m.topic, m.type) for m in messages]


def accept(w: World, transfer_id: str, accepting: bool = True, sender: str = SHAANXI) -> commands.AnswerTransfer:
    return commands.AnswerTransfer(transfer_id=transfer_id, psn_no=RECIPIENT.psn_no, accepting=accepting)


async def requested(w: World, amount: str = "100.00") -> str:
    decision = ok(await request_transfer(w.request(amount), w.as_(GUANGDONG)))
    assert decision.status == "accepted"
    return decision.ids["transfer_id"]


async def end(w: World, was_established: bool = True) -> list[Outgoing]:
    cmd = commands.EndRelationship(
        RELATIONSHIP, PROVIDER.psn_no, RECIPIENT.psn_no, was_established, GUANGDONG, SHAANXI, version=2
    )
    return await end_relationship(cmd, w.platform)


# -- requesting ---------------------------------------------------------------------------------------------------


async def test_a_request_holds_the_amount_and_tells_the_recipients_province() -> None:
    w = await world()
    decision = ok(await request_transfer(w.request("120.00"), w.as_(GUANGDONG)))
    assert decision.status == "accepted"
    assert types(decision.messages) == [
        (province_topic(SHAANXI), "transfer.pending"),
        (WALLET_EVENTS, "wallet.quota-held"),
    ]
    assert w.provider_balance == money("380.00")
    assert w.wallet_balance == money("0.00")  # promised, not there yet
    transfer = w.db.transfers[decision.ids["transfer_id"]]
    assert transfer.state is State.PENDING
    assert transfer.deadline == w.clock.now().replace(day=15, hour=6, minute=0)
    assert [s[1] for s in w.db.steps[transfer.transfer_id]] == ["requested", "quota_held"]


async def test_only_the_senders_insured_province_requests_a_transfer() -> None:
    w = await world()
    decision = await request_transfer(w.request(), w.as_(SHAANXI))
    assert decision.reason_code == ReasonCode.NOT_A_PARTY
    trusted = await request_transfer(w.request(), w.as_("100000", trusted=frozenset({"100000"})))
    assert trusted.status == "accepted"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"amount": "2000.01"}, ReasonCode.AMOUNT_OUT_OF_RANGE),
        ({"verified": False}, ReasonCode.VERIFICATION_FAILED),
        ({"to_name_hash": "n-someone-else"}, ReasonCode.IDENTITY_MISMATCH),
        ({"to_psn_no": "X000000000000000001"}, ReasonCode.UNKNOWN_PERSON),
        ({"amount": "500.01"}, ReasonCode.AMOUNT_OUT_OF_RANGE),
    ],
)
async def test_a_refused_request_holds_nothing(change: dict[str, object], code: ReasonCode) -> None:
    w = await world()
    amount = str(change.pop("amount", "100.00"))
    decision = await request_transfer(w.request(amount, **change), w.as_(GUANGDONG))
    expected = ReasonCode.INSUFFICIENT_BALANCE if amount == "500.01" else code
    assert (decision.status, decision.reason_code) == ("rejected", expected)
    assert w.provider_balance == money("500.00")
    assert not w.db.transfers


async def test_quiet_hours_and_the_daily_limit() -> None:
    w = await world(at=(await world()).clock.now().replace(hour=22, minute=0))
    assert (await request_transfer(w.request(), w.as_(GUANGDONG))).reason_code == ReasonCode.QUIET_HOURS
    w = await world()
    for _ in range(3):
        transfer_id = await requested(w, "10.00")
        ok(await answer_transfer(accept(w, transfer_id), w.as_(SHAANXI)))
    assert (await request_transfer(w.request("10.00"), w.as_(GUANGDONG))).reason_code == ReasonCode.DAILY_LIMIT_REACHED


async def test_one_waiting_transfer_per_sender_and_recipient_and_an_overdue_one_goes_back_first() -> None:
    w = await world()
    first = await requested(w)
    again = await request_transfer(w.request(), w.as_(GUANGDONG))
    assert again.reason_code == ReasonCode.PENDING_TRANSFER_EXISTS
    w.clock.advance(days=1)  # 12:00 the next day: the first is past its 06:00 deadline, not swept yet
    decision = ok(await request_transfer(w.request(), w.as_(GUANGDONG)))
    assert types(decision.messages)[:3] == [
        (province_topic(GUANGDONG), "transfer.returned"),
        (province_topic(SHAANXI), "transfer.returned"),
        (WALLET_EVENTS, "wallet.quota-released"),
    ]
    assert w.db.transfers[first].return_reason is ReturnReason.EXPIRED
    assert w.provider_balance == money("400.00")


# -- answering ------------------------------------------------------------------------------------------------------


async def test_an_accept_posts_the_hold_into_a_lot_and_tells_both_provinces() -> None:
    w = await world()
    transfer_id = await requested(w, "150.00")
    decision = ok(await answer_transfer(accept(w, transfer_id), w.as_(SHAANXI)))
    assert decision.status == "completed"
    assert types(decision.messages) == [
        (province_topic(GUANGDONG), "transfer.completed"),
        (province_topic(SHAANXI), "transfer.completed"),
        (WALLET_EVENTS, "wallet.quota-granted"),
    ]
    assert (w.provider_balance, w.wallet_balance) == (money("350.00"), money("150.00"))
    assert w.db.lots[transfer_id].remaining == money("150.00")
    assert [m["kind"] for m in w.db.movements if m["transfer_id"] == transfer_id] == ["transfer_out", "transfer_in"]
    repeat = await answer_transfer(accept(w, transfer_id), w.as_(SHAANXI))
    assert (repeat.status, repeat.messages, repeat.ids) == ("completed", [], {"transfer_id": transfer_id})
    late_decline = await answer_transfer(accept(w, transfer_id, accepting=False), w.as_(SHAANXI))
    assert late_decline.reason_code == ReasonCode.TRANSFER_NOT_PENDING


async def test_a_decline_voids_the_hold() -> None:
    w = await world()
    transfer_id = await requested(w)
    decision = ok(await answer_transfer(accept(w, transfer_id, accepting=False), w.as_(SHAANXI)))
    assert decision.status == "completed"
    assert w.db.transfers[transfer_id].return_reason is ReturnReason.DECLINED
    assert (w.provider_balance, w.wallet_balance) == (money("500.00"), money("0.00"))
    again = await answer_transfer(accept(w, transfer_id), w.as_(SHAANXI))
    assert (again.reason_code, again.reason) == (
        ReasonCode.TRANSFER_NOT_PENDING,
        "the transfer was returned (declined)",
    )


async def test_only_the_recipient_through_their_province_answers() -> None:
    w = await world()
    transfer_id = await requested(w)
    unknown = await answer_transfer(accept(w, "no-such-transfer"), w.as_(SHAANXI))
    assert unknown.reason_code == ReasonCode.UNKNOWN_REQUEST
    wrong_person = replace(accept(w, transfer_id), psn_no=PROVIDER.psn_no)
    assert (await answer_transfer(wrong_person, w.as_(SHAANXI))).reason_code == ReasonCode.NOT_A_PARTY
    assert (await answer_transfer(accept(w, transfer_id), w.as_(GUANGDONG))).reason_code == ReasonCode.NOT_A_PARTY
    assert w.db.transfers[transfer_id].state is State.PENDING


async def test_an_answer_after_the_deadline_or_the_relationship_returns_the_transfer() -> None:
    w = await world()
    transfer_id = await requested(w)
    w.clock.advance(hours=18)  # 06:00 the next day
    late = await answer_transfer(accept(w, transfer_id), w.as_(SHAANXI))
    assert (late.reason_code, late.reason) == (ReasonCode.TRANSFER_NOT_PENDING, "the transfer expired")
    assert w.db.transfers[transfer_id].return_reason is ReturnReason.EXPIRED
    w = await world()
    transfer_id = await requested(w)
    await w.db.context(Caller(w.clock)).members.relationship_ended(
        RelationshipCopy(RELATIONSHIP, PROVIDER.psn_no, RECIPIENT.psn_no, GUANGDONG, SHAANXI, 2), w.clock.now()
    )
    ended = await answer_transfer(accept(w, transfer_id), w.as_(SHAANXI))
    assert ended.reason_code == ReasonCode.NO_RELATIONSHIP
    assert w.db.transfers[transfer_id].return_reason is ReturnReason.RELATIONSHIP_ENDED
    assert w.provider_balance == money("500.00")


# -- sweeps and other services' events --------------------------------------------------------------------------


async def test_the_sweep_returns_what_nobody_accepted_by_six() -> None:
    w = await world()
    transfer_id = await requested(w)
    assert await expire_transfers(commands.ExpireTransfers(), w.platform) == []
    w.clock.advance(hours=18)
    messages = await expire_transfers(commands.ExpireTransfers(), w.platform)
    assert types(messages)[-1] == (WALLET_EVENTS, "wallet.quota-released")
    assert w.db.transfers[transfer_id].return_reason is ReturnReason.EXPIRED
    assert await expire_transfers(commands.ExpireTransfers(), w.platform) == []  # once


async def test_an_ended_relationship_returns_waiting_transfers_and_unspent_quota() -> None:
    w = await world()
    granted = await requested(w, "200.00")
    ok(await answer_transfer(accept(w, granted), w.as_(SHAANXI)))
    waiting = await requested(w, "50.00")
    messages = await end(w)
    assert [m.type for m in messages] == [
        "transfer.returned", "transfer.returned", "wallet.quota-released",
        "transfer.returned", "transfer.returned", "wallet.quota-returned",
    ]  # fmt: skip
    assert w.db.transfers[waiting].return_reason is ReturnReason.RELATIONSHIP_ENDED
    assert w.db.lots[granted].remaining == money("0.00")
    assert (w.provider_balance, w.wallet_balance) == (money("500.00"), money("0.00"))
    assert await end(w) == []  # a repeat finds nothing left to return


async def test_a_freeze_returns_waiting_transfers_and_refuses_an_accept() -> None:
    w = await world()
    transfer_id = await requested(w)
    freeze = commands.ChangeFreeze(psn_no=RECIPIENT.psn_no, frozen=True, reason="misuse", msgid="F1")
    assert (await change_freeze(freeze, w.as_(GUANGDONG))).reason_code == ReasonCode.NOT_A_PARTY
    decision = ok(await change_freeze(freeze, w.as_(SHAANXI)))
    assert [m.type for m in decision.messages] == [
        "transfer.returned", "transfer.returned", "wallet.quota-released", "wallet.frozen", "wallet.wallet-frozen",
    ]  # fmt: skip
    answer = await answer_transfer(accept(w, transfer_id), w.as_(SHAANXI))
    assert answer.reason_code == ReasonCode.WALLET_FROZEN
    assert (await request_transfer(w.request(), w.as_(GUANGDONG))).reason_code == ReasonCode.WALLET_FROZEN
    national = w.as_("100000", national_operators=frozenset({"100000"}))
    ok(await change_freeze(replace(freeze, msgid="F2"), national))
    lift = replace(freeze, frozen=False, msgid="F3")
    assert (await change_freeze(lift, w.as_(SHAANXI))).reason_code == ReasonCode.NOT_A_PARTY
    assert ok(await change_freeze(lift, national)).messages


# -- the aggregate ----------------------------------------------------------------------------------------------


async def test_a_quota_transfer_resolves_once() -> None:
    w = await world()
    transfer = w.db.transfers[await requested(w)]
    transfer = replace(transfer, new_steps=[])
    transfer.accept(w.clock.now(), transfer.from_admdvs)
    with pytest.raises(TransferNotPendingError):
        transfer.accept(w.clock.now(), transfer.from_admdvs)
    with pytest.raises(TransferNotPendingError):
        transfer.give_back(ReturnReason.DECLINED, w.clock.now())
    assert isinstance(transfer, QuotaTransfer)


def test_a_decision_is_data() -> None:
    assert Decision.completed().messages == []
    assert personal_account_id("X") == "personal:X"
