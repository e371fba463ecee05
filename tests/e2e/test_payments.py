"""Paying end to end: settlements from wallets and accounts, contributions, cancellations, reversals."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.clock import real_now
from tests.e2e.conftest import CLOCK_AT, Platform
from tests.e2e.families import ALL_OUTPUT, Member, Payments, Provinces, Wallets
from tests.e2e.test_transfers import books_balance
from tests.support.kafka import Publisher, Watcher, new_msgid
from tools.books import platform_books
from tools.clock import on_another_clock, recorded_clocks

pytestmark = pytest.mark.e2e


async def quota(wallets: Wallets, provider: Member, recipient: Member, *amounts: str) -> None:
    for amount in amounts:
        requested = await wallets.transfer(provider, recipient, amount)
        assert requested["status"] == "accepted", requested
        accepted = await wallets.answer("accepted", requested["transfer_id"], recipient)
        assert accepted["status"] == "completed", accepted


@pytest.mark.first_on_the_session_clock
async def test_a_province_on_the_platforms_clock_gets_its_settlement_completed(platform: Platform) -> None:
    """Unless MEDAID_TEST_CLOCK_AT says otherwise, the stack starts as `make up` does, on real time: a province's
    own clock, and the `setl_time` it sends, are then the machine's real time."""
    province_now = real_now() + timedelta(seconds=platform.settings.clock_offset_seconds)
    if CLOCK_AT is None:
        assert platform.settings.clock_offset_seconds == 0.0, "the stack runs on real time"
    records = await recorded_clocks(platform.settings)
    assert all(isinstance(row, dict) for row in records.values()), records
    assert on_another_clock(records, platform.settings.clock_offset_seconds) == [], "one clock"
    async with (
        Watcher(platform.settings.kafka_bootstrap, ALL_OUTPUT) as w,
        Publisher(platform.settings.kafka_bootstrap) as pub,
    ):
        provinces = Provinces(pub, w, lambda: province_now)
        wallets, payments = Wallets(provinces, platform.settings.dsn("wallet")), Payments(provinces)
        patient = await provinces.enrol("650100")
        await wallets.credit(patient, "100.00")
        hospital = await payments.institution("650100")
        when = province_now.isoformat(timespec="seconds")
        settled = await payments.settle(patient, hospital, "50.00", "20.00", flag="1", when=when)
        assert settled["status"] == "completed", settled


def paid(result: dict[str, Any], payments: Payments) -> dict[str, str]:
    [notice, *_] = payments.notices("settlement.completed", result["setl_id"])
    body: dict[str, str] = notice.value["body"]
    return body


async def test_a_wallet_pays_oldest_quota_first_and_the_rest_is_cash(
    platform: Platform, desk: tuple[Wallets, Payments]
) -> None:
    wallets, payments = desk
    provider, recipient, _ = await wallets.family("440300", "610100")
    await quota(wallets, provider, recipient, "300.00", "200.00")
    hospital = await payments.institution("610100")
    msgid = new_msgid("610100")
    settled = await payments.settle(recipient, hospital, "1000.00", "400.00", wallet=True, msgid=msgid)
    assert settled["status"] == "completed", settled
    done = await payments.p.w.wait_for(
        lambda r: r.value.get("type") == "settlement.completed" and r.value["body"]["setl_id"] == settled["setl_id"],
        count=2,
    )
    assert {r.topic for r in done} == {"province.610000.notifications.v1", "province.440000.notifications.v1"}
    body = done[0].value["body"]
    assert (body["wallet_pay"], body["acct_pay"], body["acct_mulaid_pay"], body["psn_cash_pay"]) == (
        "500.00",
        "0.00",
        "0.00",
        "100.00",
    )
    assert body["wallet_balc"] == "0.00"
    again = await payments.settle(recipient, hospital, "1000.00", "400.00", wallet=True, msgid=msgid)
    assert {k: again[k] for k in ("status", "setl_id")} == {k: settled[k] for k in ("status", "setl_id")}
    assert (await wallets.balances(provider, recipient))[1] == Decimal("0.00")
    await books_balance(platform)


async def test_own_and_provider_accounts_pay_as_far_as_they_allow(
    platform: Platform, desk: tuple[Wallets, Payments]
) -> None:
    wallets, payments = desk
    provider, recipient, _ = await wallets.family("440300", "440300", credit="1000.00")
    employee = await payments.p.enrol("440300")
    await wallets.credit(employee, "50.00")
    hospital = await payments.institution("440300")
    own = await payments.settle(employee, hospital, "200.00", "120.00", flag="1")
    assert own["status"] == "completed", own
    body = paid(own, payments)
    assert (body["acct_pay"], body["acct_mulaid_pay"], body["psn_cash_pay"], body["balc"]) == (
        "50.00",
        "0.00",
        "30.00",
        "0.00",
    )
    bound = await payments.settle(recipient, hospital, "300.00", "100.00", flag="2", provider=provider)
    assert bound["status"] == "completed", bound
    body = paid(bound, payments)
    assert (body["acct_pay"], body["acct_mulaid_pay"], body["psn_cash_pay"]) == ("200.00", "200.00", "0.00")
    assert (await wallets.balances(provider, recipient))[0] == Decimal("800.00")
    stranger = await payments.settle(employee, hospital, "300.00", "100.00", flag="2", provider=provider)
    assert (stranger["status"], stranger["reason_code"]) == ("rejected", "NO_RELATIONSHIP")
    await books_balance(platform)


async def test_every_refusal_of_a_settlement_has_its_reason_code(desk: tuple[Wallets, Payments]) -> None:
    wallets, payments = desk
    provider, recipient, _ = await wallets.family("320100", "330100")
    await quota(wallets, provider, recipient, "100.00")
    hospital = await payments.institution("330100")
    pharmacy = await payments.institution("330100", kind="2")
    switched_off = await payments.institution("330100", wallet=False)
    elsewhere = await payments.institution("330200")
    unknown = await payments.p.enrol("330100")
    ghost = Member("330100999999999999", "x", "x", "330100")
    cases = [
        (payments.settle(recipient, "H33010099999", "100.00", "50.00"), "UNKNOWN_INSTITUTION"),
        (payments.settle(recipient, hospital, "100.00", "50.00", med_type="41"), "PURPOSE_NOT_ALLOWED"),
        (payments.settle(recipient, pharmacy, "100.00", "50.00", med_type="11"), "PURPOSE_NOT_ALLOWED"),
        (payments.settle(recipient, hospital, "100.00", "50.00", part="40.00"), "INVALID_MESSAGE"),
        (payments.settle(recipient, hospital, "100.00", "150.00"), "INVALID_MESSAGE"),
        (payments.settle(recipient, switched_off, "100.00", "50.00", wallet=True), "INSTITUTION_NOT_ENABLED"),
        (payments.settle(recipient, elsewhere, "100.00", "50.00", wallet=True), "OUTSIDE_INSURED_REGION"),
        (payments.settle(unknown, hospital, "100.00", "50.00", wallet=True), "WALLET_NOT_OPENED"),
        (payments.settle(ghost, hospital, "100.00", "50.00", flag="1"), "UNKNOWN_PERSON"),
        (payments.settle(recipient, hospital, "100.00", "50.00", sender="440300"), "NOT_A_PARTY"),
    ]
    results = await asyncio.gather(*(c for c, _ in cases))
    assert [(r["status"], r["reason_code"]) for r in results] == [("rejected", code) for _, code in cases]
    assert (await wallets.balances(provider, recipient))[1] == Decimal("100.00"), "nothing was spent"


async def test_contributions_are_paid_in_full_from_a_wallet_or_a_providers_account(
    platform: Platform, desk: tuple[Wallets, Payments]
) -> None:
    wallets, payments = desk
    provider, recipient, _ = await wallets.family("430100", "430100", credit="800.00")
    await quota(wallets, provider, recipient, "400.00")
    later = payments.p.now().year + 2  # next year's are paid below: the refusals that follow are for another year
    from_wallet = await payments.contribute(recipient, recipient, "380.00", "390")
    assert from_wallet["status"] == "completed", from_wallet
    assert from_wallet["setl_id"]
    from_provider = await payments.contribute(provider, recipient, "100.00", "410")
    assert from_provider["status"] == "completed", from_provider
    assert await wallets.balances(provider, recipient) == (Decimal("300.00"), Decimal("20.00"))
    too_much = await payments.contribute(recipient, recipient, "380.00", "390", year=later)
    assert (too_much["status"], too_much["reason_code"]) == ("rejected", "INSUFFICIENT_BALANCE")
    employee_insurance = await payments.contribute(provider, recipient, "10.00", "310")
    assert (employee_insurance["status"], employee_insurance["reason_code"]) == ("rejected", "PURPOSE_NOT_ALLOWED")
    stranger = await payments.p.enrol("430100")
    unbound = await payments.contribute(stranger, recipient, "10.00", "390", year=later)
    assert (unbound["status"], unbound["reason_code"]) == ("rejected", "NO_RELATIONSHIP")
    elsewhere = await payments.contribute(provider, recipient, "10.00", "390", sender="440300", year=later)
    assert (elsewhere["status"], elsewhere["reason_code"]) == ("rejected", "NOT_A_PARTY")
    msgid = new_msgid("430100")
    paid_later = await payments.contribute(provider, recipient, "50.00", "390", msgid=msgid, year=later)
    assert paid_later["status"] == "completed", paid_later
    assert (await wallets.balances(provider, recipient))[0] == Decimal("250.00")
    reversed_ = await payments.reverse(msgid, "contribution.requested", "430100")
    assert reversed_["status"] == "completed", reversed_
    assert (await wallets.balances(provider, recipient))[0] == Decimal("300.00"), "the reversal gave it back"
    await books_balance(platform)


async def test_a_contribution_is_paid_once_a_year_and_never_above_the_standard(
    platform: Platform, desk: tuple[Wallets, Payments]
) -> None:
    """Issue 28, scenario 3: a 390 contribution of 20,000.00 was paid twice from a provider's account in another
    province. Now it is refused above the standard (the national 400.00 for the years after 2025, seeded), a second
    one for the same person, kind and year is refused, also when both are sent at the same moment on different
    partitions, and after the first is reversed (its cancellation) exactly one new one is paid."""
    wallets, payments = desk
    provider, recipient, _ = await wallets.family("440300", "430100", credit="30000.00")
    await quota(wallets, provider, recipient, "400.00")
    over = await payments.contribute(provider, recipient, "20000.00", "390")
    assert (over["status"], over["reason_code"]) == ("rejected", "CONTRIBUTION_OVER_STANDARD"), over
    assert "400.00" in over["reason"], over
    care_over = await payments.contribute(provider, recipient, "120.01", "410")
    assert (care_over["status"], care_over["reason_code"]) == ("rejected", "CONTRIBUTION_OVER_STANDARD"), care_over
    msgid = new_msgid("430100")
    first = await payments.contribute(provider, recipient, "400.00", "390", msgid=msgid)
    assert first["status"] == "completed", first
    second = await payments.contribute(provider, recipient, "400.00", "390")
    assert (second["status"], second["reason_code"]) == ("rejected", "CONTRIBUTION_ALREADY_PAID"), second
    from_wallet = await payments.contribute(recipient, recipient, "10.00", "390")
    assert (from_wallet["status"], from_wallet["reason_code"]) == ("rejected", "CONTRIBUTION_ALREADY_PAID")
    assert await wallets.balances(provider, recipient) == (Decimal("29200.00"), Decimal("400.00")), "paid once"
    # two at the same moment, keyed by two payers (two partitions, two consumers' transactions): one is paid
    later = payments.p.now().year + 2
    both = await asyncio.gather(
        payments.contribute(provider, recipient, "300.00", "390", year=later),
        payments.contribute(recipient, recipient, "300.00", "390", year=later),
    )
    answers = sorted((r["status"], r["reason_code"]) for r in both)
    assert answers == [("completed", None), ("rejected", "CONTRIBUTION_ALREADY_PAID")], both
    provider_left, wallet_left = await wallets.balances(provider, recipient)
    assert provider_left + wallet_left == Decimal("29300.00"), "300.00 taken once"
    # the first reversed (a contribution's cancellation): the year is free again, for one
    undone = await payments.reverse(msgid, "contribution.requested", "430100")
    assert undone["status"] == "completed", undone
    again = await payments.contribute(provider, recipient, "380.00", "390")
    assert again["status"] == "completed", again
    once_more = await payments.contribute(provider, recipient, "380.00", "390")
    assert (once_more["status"], once_more["reason_code"]) == ("rejected", "CONTRIBUTION_ALREADY_PAID")
    assert (await wallets.balances(provider, recipient))[0] == provider_left + Decimal("400.00") - Decimal("380.00")
    await books_balance(platform)


async def test_a_cancellation_restores_exactly_what_the_settlement_took(
    platform: Platform, desk: tuple[Wallets, Payments]
) -> None:
    wallets, payments = desk
    provider, recipient, _ = await wallets.family("350100", "350100", credit="1000.00")
    await quota(wallets, provider, recipient, "120.00", "80.00")
    hospital = await payments.institution("350100")
    settled = await payments.settle(recipient, hospital, "500.00", "100.00", wallet=True, flag="2", provider=provider)
    assert settled["status"] == "completed", settled
    body = paid(settled, payments)
    assert (body["wallet_pay"], body["acct_mulaid_pay"], body["psn_cash_pay"]) == ("200.00", "200.00", "0.00")
    assert await wallets.balances(provider, recipient) == (Decimal("600.00"), Decimal("0.00"))
    msgid = new_msgid("350100")
    cancelled = await payments.cancel(settled, recipient, "350100", msgid=msgid)
    assert (cancelled["status"], cancelled["setl_id"]) == ("completed", settled["setl_id"])
    assert await wallets.balances(provider, recipient) == (Decimal("800.00"), Decimal("200.00"))
    await payments.p.w.wait_for(
        lambda r: r.value.get("type") == "settlement.cancelled" and r.value["body"]["setl_id"] == settled["setl_id"]
    )
    assert await payments.cancel(settled, recipient, "350100", msgid=msgid) == cancelled, "the same answer"
    twice = await payments.cancel(settled, recipient, "350100")
    assert (twice["status"], twice["reason_code"]) == ("rejected", "ALREADY_CANCELLED")
    unknown = await payments.cancel({**settled, "setl_id": "no-such-settlement"}, recipient, "350100")
    assert (unknown["status"], unknown["reason_code"]) == ("rejected", "UNKNOWN_SETTLEMENT")
    # the quota went back to the same lots: the oldest pays first again
    again = await payments.settle(recipient, hospital, "150.00", "50.00", wallet=True)
    assert paid(again, payments)["wallet_pay"] == "100.00"
    await books_balance(platform)


async def test_a_reversal_undoes_an_applied_request_and_blocks_a_late_one(
    platform: Platform, desk: tuple[Wallets, Payments]
) -> None:
    wallets, payments = desk
    provider, recipient, _ = await wallets.family("370100", "370100", credit="1000.00")
    hospital = await payments.institution("370100")
    applied = new_msgid("370100")
    settled = await payments.settle(recipient, hospital, "300.00", "100.00", flag="2", provider=provider, msgid=applied)
    assert settled["status"] == "completed"
    reversed_ = await payments.reverse(applied, "settlement.requested", "370100")
    assert (reversed_["status"], reversed_["setl_id"]) == ("completed", settled["setl_id"])
    assert (await wallets.balances(provider, recipient))[0] == Decimal("1000.00")
    await payments.p.w.wait_for(
        lambda r: r.value.get("type") == "settlement.cancelled" and r.value["body"]["setl_id"] == settled["setl_id"]
    )
    late = new_msgid("370100")
    blocked = await payments.reverse(late, "settlement.requested", "370100")
    assert blocked["status"] == "completed", blocked
    refused = await payments.settle(recipient, hospital, "300.00", "100.00", flag="2", provider=provider, msgid=late)
    assert (refused["status"], refused["reason_code"]) == ("rejected", "REVERSED")
    not_reversible = await payments.reverse(new_msgid("370100"), "transfer.requested", "370100")
    assert (not_reversible["status"], not_reversible["reason_code"]) == ("rejected", "NOT_REVERSIBLE")
    assert (await wallets.balances(provider, recipient))[0] == Decimal("1000.00")
    await books_balance(platform)


async def test_quota_refunded_after_the_relationship_ended_goes_back_to_the_provider(
    platform: Platform, desk: tuple[Wallets, Payments]
) -> None:
    wallets, payments = desk
    provider, recipient, rid = await wallets.family("210100", "210100", credit="1000.00")
    await quota(wallets, provider, recipient, "100.00")
    pharmacy = await payments.institution("210100", kind="2")
    settled = await payments.settle(recipient, pharmacy, "60.00", "0.00", wallet=True)
    assert paid(settled, payments)["wallet_pay"] == "60.00"
    ended = await payments.p.terminate(rid, provider)
    assert ended["status"] == "completed", ended
    await wallets.knows_relationship(rid, established=False)
    for _ in range(100):  # the unspent 40.00 goes back when the wallet hears of the end
        if await wallets.balances(provider, recipient) == (Decimal("940.00"), Decimal("0.00")):
            break
        await asyncio.sleep(0.05)
    assert await wallets.balances(provider, recipient) == (Decimal("940.00"), Decimal("0.00"))
    cancelled = await payments.cancel(settled, recipient, "210100")
    assert cancelled["status"] == "completed", cancelled
    assert await wallets.balances(provider, recipient) == (Decimal("1000.00"), Decimal("0.00"))
    returns = payments.p.w.matching(
        lambda r: r.value.get("type") == "transfer.returned" and r.value["body"]["to_psn_no"] == recipient.psn_no
    )
    assert sorted(r.value["body"]["amount"] for r in returns) == ["40.00", "60.00"]
    await books_balance(platform)


async def test_payments_and_refunds_survive_the_wallet_and_payment_services_being_killed(
    platform: Platform, desk: tuple[Wallets, Payments]
) -> None:
    wallets, payments = desk
    provider, recipient, _ = await wallets.family("420100", "460100", credit="5000.00")
    await quota(wallets, provider, recipient, "1000.00", "1000.00")
    hospital = await payments.institution("460100")
    msgids = [new_msgid("460100") for _ in range(40)]
    paying = asyncio.gather(
        *(payments.settle(recipient, hospital, "100.00", "40.00", wallet=True, msgid=m) for m in msgids)
    )
    await payments.p.w.result_for(msgids[3])
    platform.services("kill", "wallet")
    platform.services("kill", "payment")
    platform.services("start", "wallet")
    platform.services("start", "payment")
    settled = await paying
    assert all(s["status"] == "completed" for s in settled), settled
    cancelling = asyncio.gather(*(payments.cancel(s, recipient, "460100") for s in settled[::2]))
    await asyncio.sleep(0.3)
    platform.services("kill", "wallet")
    platform.services("start", "wallet")
    cancelled = await cancelling
    assert all(c["status"] == "completed" for c in cancelled), cancelled
    await asyncio.sleep(1.0)
    for m in msgids:
        assert len({r.value["msgid"] for r in payments.p.w.results_for(m)}) == 1, f"{m}: exactly one answer"
    kept = sum(Decimal(paid(s, payments)["wallet_pay"]) for s in settled[1::2])
    assert (await wallets.balances(provider, recipient))[1] == Decimal("2000.00") - kept
    books = await platform_books(platform.settings)
    assert books.balanced, books.lines()
