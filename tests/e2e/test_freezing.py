"""Interface v1.1: freezing a wallet. While frozen, the wallet receives and pays nothing and the personal account
sends no transfers; pending transfers to it return at once; the quota stays; who may freeze is enforced."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.families import Member, Payments, Wallets
from tests.support.kafka import Record, envelope
from tools.keys import LOCAL_NATIONAL_OPERATOR

pytestmark = pytest.mark.e2e
WALLET = "ingress.wallet.v1"


def note(type_: str, psn_no: str) -> Callable[[Record], bool]:
    return lambda r: (
        r.topic.startswith("province.") and r.value.get("type") == type_ and r.value["body"].get("psn_no") == psn_no
    )


async def freeze(wallets: Wallets, member: Member, sender: str, frozen: bool = True) -> tuple[str, str | None]:
    type_ = "wallet.freeze-requested" if frozen else "wallet.unfreeze-requested"
    body = {"psn_no": member.psn_no, "reason": "cash-out at a pharmacy (case 2026-7)" if frozen else "case closed"}
    answer: dict[str, Any] = await wallets.p.ask(WALLET, type_, body, sender, member.psn_no)
    return answer["status"], answer["reason_code"]


async def test_a_frozen_wallet_receives_and_pays_nothing_and_what_waits_for_it_returns(
    desk: tuple[Wallets, Payments],
) -> None:
    wallets, payments = desk
    provider, recipient, _ = await wallets.family("430100", "520100")
    hospital = await payments.institution("520100")
    first = await wallets.transfer(provider, recipient, "300.00")
    assert (await wallets.answer("accepted", first["transfer_id"], recipient))["status"] == "completed"
    waiting = await wallets.transfer(provider, recipient, "200.00")
    assert waiting["status"] == "accepted"

    assert await freeze(wallets, recipient, "430100") == ("rejected", "NOT_A_PARTY"), "not Hunan's to freeze"
    assert await freeze(wallets, recipient, "520100") == ("completed", None)
    returned = await wallets.p.w.wait_for(
        lambda r: (
            r.value.get("type") == "transfer.returned" and r.value["body"]["transfer_id"] == waiting["transfer_id"]
        ),
        count=2,
    )
    assert {r.topic for r in returned} == {"province.430000.notifications.v1", "province.520000.notifications.v1"}
    assert {r.value["body"]["reason"] for r in returned} == {"frozen"}
    [frozen] = await wallets.p.w.wait_for(note("wallet.frozen", recipient.psn_no))
    assert frozen.topic == "province.520000.notifications.v1"
    assert frozen.value["body"]["reason"] == "cash-out at a pharmacy (case 2026-7)"
    assert await freeze(wallets, recipient, "520100") == ("completed", None), "frozen already: the same answer"

    refused = await wallets.transfer(provider, recipient, "50.00")
    assert (refused["status"], refused["reason_code"]) == ("rejected", "WALLET_FROZEN")
    accept = await wallets.answer("accepted", waiting["transfer_id"], recipient)
    assert (accept["status"], accept["reason_code"]) == ("rejected", "WALLET_FROZEN")
    paid = await payments.settle(recipient, hospital, "100.00", "60.00", wallet=True)
    assert (paid["status"], paid["reason_code"]) == ("rejected", "WALLET_FROZEN")
    assert await wallets.balances(provider, recipient) == (Decimal("4700.00"), Decimal("300.00")), "quota stays"

    assert await freeze(wallets, recipient, LOCAL_NATIONAL_OPERATOR, frozen=False) == ("completed", None)
    await wallets.p.w.wait_for(note("wallet.unfrozen", recipient.psn_no))
    again = await wallets.transfer(provider, recipient, "50.00")
    assert again["status"] == "accepted", "unfrozen: it receives again"
    assert len(wallets.p.w.matching(note("wallet.frozen", recipient.psn_no))) == 1


async def test_a_frozen_provider_sends_nothing_and_only_the_national_operator_lifts_its_freeze(
    desk: tuple[Wallets, Payments],
) -> None:
    wallets, payments = desk
    provider, recipient, _ = await wallets.family("440300", "530100")
    hospital = await payments.institution("530100")
    waiting = await wallets.transfer(provider, recipient, "100.00")
    assert waiting["status"] == "accepted"
    assert await freeze(wallets, provider, LOCAL_NATIONAL_OPERATOR) == ("completed", None)
    returned = await wallets.p.w.wait_for(
        lambda r: (
            r.value.get("type") == "transfer.returned" and r.value["body"]["transfer_id"] == waiting["transfer_id"]
        ),
        count=2,
    )
    assert {r.value["body"]["reason"] for r in returned} == {"frozen"}, "what the frozen person sent goes back too"
    accept = await wallets.answer("accepted", waiting["transfer_id"], recipient)
    assert (accept["status"], accept["reason_code"]) == ("rejected", "WALLET_FROZEN")
    refused = await wallets.transfer(provider, recipient, "100.00")
    assert (refused["status"], refused["reason_code"]) == ("rejected", "WALLET_FROZEN")
    with_account = await payments.settle(recipient, hospital, "100.00", "60.00", flag="2", provider=provider)
    assert (with_account["status"], with_account["reason_code"]) == ("rejected", "WALLET_FROZEN"), (
        "a frozen provider's account pays for nobody"
    )
    assert await freeze(wallets, provider, "440300", frozen=False) == ("rejected", "NOT_A_PARTY"), (
        "the national operator's freeze is lifted only by it"
    )
    assert await freeze(wallets, provider, LOCAL_NATIONAL_OPERATOR, frozen=False) == ("completed", None)
    assert (await wallets.transfer(provider, recipient, "100.00"))["status"] == "accepted"
    after = await wallets.answer("accepted", waiting["transfer_id"], recipient)
    assert (after["status"], after["reason_code"]) == ("rejected", "TRANSFER_NOT_PENDING"), "returned, not frozen now"


async def test_the_same_freeze_twice_is_one_freeze_with_the_same_answer(desk: tuple[Wallets, Payments]) -> None:
    wallets, _ = desk
    member = await wallets.p.enrol("450100")
    body = {"psn_no": member.psn_no, "reason": "a resent freeze"}
    msg = envelope("wallet.freeze-requested", body, sender="450100", sent_at=wallets.p.now())
    for _ in range(2):
        await wallets.p.pub.send(WALLET, msg, key=member.psn_no)
    answers = await wallets.p.w.wait_for(
        lambda r: r.value.get("type") == "request.result" and r.value["body"].get("omsgid") == msg["msgid"], count=2
    )
    assert answers[0].value["body"] == answers[1].value["body"]
    assert answers[0].value["body"]["status"] == "completed"
    await wallets.p.w.wait_for(note("wallet.frozen", member.psn_no))
    await asyncio.sleep(1.0)  # a second notice would have come with the second answer
    assert len(wallets.p.w.matching(note("wallet.frozen", member.psn_no))) == 1
