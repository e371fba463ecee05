"""Monthly clearing end to end: obligations from cross-region spending, cancellations netting in the month
or the next, closing a month, statements to the provinces, answers, reconciliation, platform books."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from services.clearing.adapters.clearing_repository import ClearingRepository
from services.clearing.domain.clearing import month_of, next_month
from services.clearing.entrypoints import clearing_cli
from shared.clock import BUSINESS_TZ
from tests.e2e.conftest import Platform
from tests.e2e.families import Payments, Wallets
from tests.e2e.test_payments import quota
from tools.books import platform_books
from tools.keys import LOCAL_NATIONAL_OPERATOR
from tools.reconcile import reconcile

pytestmark = pytest.mark.e2e

A, B = "150100", "640100"  # Hohhot and Yinchuan: no other test pays there


def first_day(period: str, day: int = 1, hour: int = 0, minute: int = 30) -> datetime:
    return datetime(int(period[:4]), int(period[4:]), day, hour, minute, tzinfo=BUSINESS_TZ)


async def items_of(platform: Platform, setl_id: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(platform.settings.dsn("clearing"))
    try:
        rows = await conn.fetch(
            "SELECT direction, period, debtor_admdvs, creditor_admdvs, amount FROM items WHERE setl_id = $1", setl_id
        )
    finally:
        await conn.close()
    return [dict(r) for r in rows]


async def settled_items(platform: Platform, setl_id: str, count: int) -> list[dict[str, Any]]:
    import asyncio

    for _ in range(200):
        found = await items_of(platform, setl_id)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"clearing never recorded {count} items of {setl_id}")


def statement_for(region: str, period: str) -> Any:
    return lambda r: (
        r.value.get("type") == "clearing.statement-issued"
        and r.value["body"]["admdvs"] == region
        and r.value["body"]["period"] == period
    )


NATIONAL = LOCAL_NATIONAL_OPERATOR  # only the national operator closes a month (README, "Who may send what")


async def ask_clearing(payments: Payments, type_: str, body: dict[str, Any], sender: str) -> dict[str, Any]:
    return await payments.p.ask("ingress.clearing.v1", type_, body, sender, body.get("period") or sender)


async def test_the_last_seconds_of_a_month_count_in_it_and_it_closes_just_after_midnight(
    platform: Platform, any_hour_desk: tuple[Wallets, Payments]
) -> None:
    """Whatever day it is: on to 23:59:50 (or earlier, below) on the last day of the month (the month of 31
    December or of a 29 February under `make test-any-day`); pay from a bound provider's account (no transfer:
    any hour will do); midnight passes; the cancellation nets in the month it cancels; the month closes at
    once."""
    wallets, payments = any_hour_desk
    c, d = "230100", "630100"  # Harbin and Xining: no other test pays there
    provider, recipient, _ = await wallets.family(c, d, credit="1000.00")
    hospital = await payments.institution(d)
    month = month_of(platform.now())
    # The claim is about where midnight falls, never about speed: `advance_to` restarts every service, and a
    # loaded machine can take longer than the window to answer. Then the two payments are undone (in the month
    # that has begun, where a cancellation nets) and the end of the month after it is tried, with a window ten
    # times wider: no payment of a failed attempt is in that month.
    for window in (10, 100, 1000):
        last_evening = first_day(next_month(month), hour=0, minute=0) - timedelta(seconds=window)
        if platform.now() >= last_evening - timedelta(seconds=1):  # already in the month's last seconds: the next end
            month = next_month(month)
            last_evening = first_day(next_month(month), hour=0, minute=0) - timedelta(seconds=window)
        platform.advance_to(last_evening)
        kept = await payments.settle(recipient, hospital, "300.00", "200.00", flag="2", provider=provider)
        undone = await payments.settle(recipient, hospital, "100.00", "60.00", flag="2", provider=provider)
        assert (kept["status"], undone["status"]) == ("completed", "completed"), (kept, undone)
        if month_of(platform.now()) == month:
            break  # both settled before midnight
        for missed in (kept, undone):
            assert (await payments.cancel(missed, recipient, d))["status"] == "completed"
        month = next_month(month_of(platform.now()))
    else:
        raise AssertionError("two payments never settled inside a month's last 1,000 s")
    platform.advance_to(first_day(next_month(month), hour=0, minute=0))  # midnight, for every service at once
    after_midnight = await payments.settle(recipient, hospital, "50.00", "30.00", flag="2", provider=provider)
    assert after_midnight["status"] == "completed", after_midnight
    assert (await payments.cancel(undone, recipient, d))["status"] == "completed"
    assert {(i["direction"], i["period"]) for i in await settled_items(platform, undone["setl_id"], 2)} == {
        ("forward", month),
        ("reverse", month),
    }, "a cancellation after midnight nets in the month it cancels"
    [next_one] = await settled_items(platform, after_midnight["setl_id"], 1)
    assert next_one["period"] == next_month(month)
    closed = await ask_clearing(payments, "clearing.close-requested", {"period": month}, NATIONAL)
    assert closed["status"] == "completed", closed
    [statement] = await payments.p.w.wait_for(statement_for(c, month))
    assert [x for x in statement.value["body"]["counterparts"] if x["admdvs"] == d] == [
        {"admdvs": d, "owes": "100.00", "owed": "0.00", "net": "-100.00"}
    ], "what was kept before midnight, and only that"
    books = await platform_books(platform.settings)
    assert books.balanced, books.lines()


async def test_a_month_closes_into_statements_and_never_changes(
    platform: Platform, desk: tuple[Wallets, Payments]
) -> None:
    wallets, payments = desk  # in business daytime: the test's payments all fall in this month
    month = month_of(platform.now())
    following = next_month(month)
    provider_a, recipient_b, _ = await wallets.family(A, B, credit="2000.00")
    provider_b, recipient_a, _ = await wallets.family(B, A, credit="2000.00")
    await quota(wallets, provider_a, recipient_b, "300.00")
    await quota(wallets, provider_b, recipient_a, "80.00")
    hospital_a, hospital_b = await payments.institution(A), await payments.institution(B)

    by_wallet = await payments.settle(recipient_b, hospital_b, "500.00", "300.00", wallet=True)  # A owes B 200
    by_provider = await payments.settle(recipient_b, hospital_b, "150.00", "50.00", flag="2", provider=provider_a)
    back = await payments.settle(recipient_a, hospital_a, "100.00", "20.00", wallet=True)  # B owes A 80
    late = await payments.settle(recipient_b, hospital_b, "90.00", "30.00", wallet=True)  # A owes B 60
    local = await payments.settle(recipient_a, hospital_a, "10.00", "0.00", flag="0")  # all cash: nothing
    assert all(r["status"] == "completed" for r in (by_wallet, by_provider, back, late, local))
    [item] = await settled_items(platform, by_wallet["setl_id"], 1)
    assert (item["debtor_admdvs"], item["creditor_admdvs"], item["amount"], item["period"]) == (
        A,
        B,
        Decimal("200.00"),
        month,
    )
    cancelled = await payments.cancel(by_provider, recipient_b, B)
    assert cancelled["status"] == "completed"
    assert {(i["direction"], i["period"]) for i in await settled_items(platform, by_provider["setl_id"], 2)} == {
        ("forward", month),
        ("reverse", month),
    }, "a cancellation inside the month nets in that month"

    not_ended = await ask_clearing(payments, "clearing.close-requested", {"period": month}, NATIONAL)
    assert (not_ended["status"], not_ended["reason_code"]) == ("rejected", "PERIOD_NOT_ENDED")
    platform.advance_to(first_day(following))  # the month ends for the whole platform
    closed = await ask_clearing(payments, "clearing.close-requested", {"period": month}, NATIONAL)
    assert closed["status"] == "completed", closed
    [a_statement] = await payments.p.w.wait_for(statement_for(A, month))
    [b_statement] = await payments.p.w.wait_for(statement_for(B, month))
    assert a_statement.topic == "province.150000.notifications.v1"
    assert b_statement.topic == "province.640000.notifications.v1"
    a_body, b_body = a_statement.value["body"], b_statement.value["body"]
    assert [c for c in a_body["counterparts"] if c["admdvs"] == B] == [
        {"admdvs": B, "owes": "260.00", "owed": "80.00", "net": "-180.00"}
    ]
    assert [c for c in b_body["counterparts"] if c["admdvs"] == A] == [
        {"admdvs": A, "owes": "80.00", "owed": "260.00", "net": "180.00"}
    ]
    again = await ask_clearing(payments, "clearing.close-requested", {"period": month}, NATIONAL)
    assert (again["status"], again["reason_code"]) == ("rejected", "PERIOD_CLOSED")

    # after the close: a cancellation joins the next month; the closed month's items cannot change
    after = await payments.cancel(late, recipient_b, B)
    assert after["status"] == "completed"
    assert {(i["direction"], i["period"]) for i in await settled_items(platform, late["setl_id"], 2)} == {
        ("forward", month),
        ("reverse", following),
    }
    conn = await asyncpg.connect(platform.settings.dsn("clearing"))
    try:
        with pytest.raises(asyncpg.RaiseError, match="closed"):
            await conn.execute("UPDATE items SET amount = amount + 1 WHERE setl_id = $1", by_wallet["setl_id"])
    finally:
        await conn.close()

    # answers
    sid_a, sid_b = a_body["statement_id"], b_body["statement_id"]
    confirmed = await ask_clearing(payments, "statement.confirmed", {"statement_id": sid_b, "admdvs": B}, B)
    assert (confirmed["status"], confirmed["statement_id"]) == ("completed", sid_b)
    disputed = await ask_clearing(
        payments, "statement.disputed", {"statement_id": sid_a, "admdvs": A, "reason": "a refund missing"}, A
    )
    assert disputed["status"] == "completed", disputed
    wrong_region = await ask_clearing(payments, "statement.confirmed", {"statement_id": sid_a, "admdvs": B}, B)
    assert (wrong_region["status"], wrong_region["reason_code"]) == ("rejected", "UNKNOWN_STATEMENT")
    not_theirs = await ask_clearing(payments, "statement.confirmed", {"statement_id": sid_a, "admdvs": A}, B)
    assert (not_theirs["status"], not_theirs["reason_code"]) == ("rejected", "NOT_A_PARTY")

    report = await reconcile(platform.settings, A, month)
    assert report.balanced, report.lines()
    assert (report.clearing.owes, report.clearing.owed) == (Decimal("260.00"), Decimal("80.00"))
    assert report.statement is not None
    assert report.statement["answer"] == "disputed"
    books = await platform_books(platform.settings)
    assert books.balanced, books.lines()


async def test_a_schedule_closes_last_month_once_it_has_been_over_for_some_days(
    platform: Platform, desk: tuple[Wallets, Payments]
) -> None:
    _, payments = desk
    conn = await asyncpg.connect(platform.settings.dsn("clearing"))
    try:
        closed_months = await ClearingRepository(conn).closed_months()
    finally:
        await conn.close()
    assert closed_months, "this test goes on from the month the test before closed: run the module"
    closed = max(closed_months)
    following = next_month(closed)
    platform.advance_to(first_day(next_month(following), day=3, hour=9, minute=0))
    platform.services("stop", "clearing")
    platform.services("start", "clearing", MEDAID_CLEARING_CLOSE_AFTER_DAYS="2")
    try:

        def after_it(region: str) -> Any:
            return lambda r: (
                r.value.get("type") == "clearing.statement-issued"
                and r.value["body"]["admdvs"] == region
                and r.value["body"]["period"] == following
            )

        [a_statement] = await payments.p.w.wait_for(after_it(A))
        # the cancellation after the earlier close is the next month's only obligation between A and B: a credit
        assert [c for c in a_statement.value["body"]["counterparts"] if c["admdvs"] == B] == [
            {"admdvs": B, "owes": "-60.00", "owed": "0.00", "net": "60.00"}
        ]
        assert await clearing_cli.close(platform.settings, following) == 1, "closed already: the operator is told"
        assert await clearing_cli.months(platform.settings) == 0
        books = await platform_books(platform.settings)
        assert books.balanced, books.lines()
    finally:
        platform.services("stop", "clearing")
        platform.services("start", "clearing")
