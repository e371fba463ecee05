"""Interface v1.1: the member's statement. Balances, quota by funding region, the movements of a date range
oldest first with signed amounts and the balance after each, 500 a page; only to the requester's province, asked
only by the person's insured province; every movement agrees with the ledger to the fen."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from services.wallet.adapters.books import check_books
from tests.e2e.conftest import Platform
from tests.e2e.families import Member, Payments, Provinces, Wallets
from tests.e2e.test_freezing import freeze
from tests.support.kafka import Record, envelope

pytestmark = pytest.mark.e2e
WALLET = "ingress.wallet.v1"


async def statement(
    p: Provinces, member: Member, sender: str, days: tuple[int, int] = (-30, 1), cursor: str | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The answer and every page of the statement (following next_cursor), for business days around today."""
    today = p.now().date()
    body: dict[str, Any] = {
        "psn_no": member.psn_no,
        "from_date": (today + timedelta(days=days[0])).isoformat(),
        "to_date": (today + timedelta(days=days[1])).isoformat(),
    }
    pages: list[dict[str, Any]] = []
    while True:
        msg = envelope("wallet.statement-requested", {**body, **({"cursor": cursor} if cursor else {})}, sender=sender)
        await p.pub.send(WALLET, msg, key=member.psn_no)
        result = await p.w.result_for(msg["msgid"])
        if result["status"] != "completed":
            return result, pages
        [page] = await p.w.wait_for(answering(msg["msgid"]))
        assert page.topic == f"province.{sender[:2]}0000.notifications.v1", "to the requester's province only"
        assert len(page.value["body"]["movements"]) <= 500
        pages.append(page.value["body"])
        cursor = page.value["body"].get("next_cursor")
        if cursor is None:
            return result, pages


def answering(msgid: str) -> Callable[[Record], bool]:
    return lambda r: r.value.get("type") == "wallet.statement" and r.value["body"]["omsgid"] == msgid


def chain_holds(movements: list[dict[str, Any]]) -> None:
    """Each account's balance_after is the one before plus the signed amount (from zero at its first)."""
    last: dict[str, Decimal] = {}
    for m in movements:
        before = last.get(m["account"], Decimal("0.00"))
        assert Decimal(m["balance_after"]) == before + Decimal(m["amount"]), m
        last[m["account"]] = Decimal(m["balance_after"])


async def test_a_busy_month_reconciles_with_the_ledger_to_the_fen_across_pages(
    platform: Platform, desk: tuple[Wallets, Payments]
) -> None:
    wallets, payments = desk
    provider, recipient, _ = await wallets.family("410100", "460100", credit="1000.00")
    hospital = await payments.institution("460100")
    credits = [
        envelope(
            "account.credited",
            {"psn_no": provider.psn_no, "amount": f"{n % 7 + 1}.{n % 100:02d}", "period": "202611"},
            sender=provider.region,
        )
        for n in range(520)
    ]
    for msg in credits:
        await wallets.p.pub.send("ingress.enrollment.v1", msg, key=provider.psn_no)
    answers = await asyncio.gather(*(wallets.p.w.result_for(m["msgid"]) for m in credits))
    assert {a["status"] for a in answers} == {"completed"}
    accepted = await wallets.transfer(provider, recipient, "600.00")
    assert (await wallets.answer("accepted", accepted["transfer_id"], recipient))["status"] == "completed"
    declined = await wallets.transfer(provider, recipient, "75.50")
    assert (await wallets.answer("declined", declined["transfer_id"], recipient))["status"] == "completed"
    paid = await payments.settle(recipient, hospital, "300.00", "180.00", wallet=True)
    assert paid["status"] == "completed", paid
    cancelled = await payments.settle(recipient, hospital, "100.00", "60.00", wallet=True)
    assert (await payments.cancel(cancelled, recipient, "460100"))["status"] == "completed"

    result, pages = await statement(wallets.p, provider, "410100")
    assert result["status"] == "completed"
    assert len(pages) == 2
    assert "freezes" in pages[0]
    movements = [m for page in pages for m in page["movements"]]
    assert len(movements) == 1 + 520 + 2 + 1, "the first credit, 520 credits, the transfers out, one return"
    assert [m["kind"] for m in movements[-3:]] == ["transfer_out", "transfer_out", "transfer_returned"]
    chain_holds(movements)
    assert {m["account"] for m in movements} == {"personal"}
    assert Decimal(movements[-1]["balance_after"]) == Decimal(pages[0]["acct_balc"])
    assert (pages[0]["wallet_balc"], pages[0]["quota"]) == ("0.00", [])

    mine, theirs = await statement(wallets.p, recipient, "460100")
    [page] = theirs
    assert mine["status"] == "completed"
    kinds = [(m["kind"], m["amount"], m["balance_after"]) for m in page["movements"]]
    assert kinds == [
        ("transfer_in", "600.00", "600.00"),
        ("payment", "-120.00", "480.00"),
        ("payment", "-40.00", "440.00"),
        ("payment_cancelled", "40.00", "480.00"),
    ]
    assert page["movements"][0]["transfer_id"] == accepted["transfer_id"]
    assert page["movements"][1]["setl_id"] == paid["setl_id"]
    assert (page["wallet_balc"], page["frozen"]) == ("480.00", False)
    assert page["quota"] == [{"provider_admdvs": "410100", "amount": "480.00"}], "by region; nobody named"
    assert "acct_balc" not in page, "no personal account of their own"
    assert provider.psn_no not in str(page), "a statement names no other person"

    # to the fen: every movement's amount is the ledger transfer's, and the wallet's books hold
    conn = await asyncpg.connect(platform.settings.dsn("wallet"))
    try:
        ledger = await conn.fetch(
            """SELECT m.amount, t.amount AS ledger FROM movements m JOIN transfers t ON t.id = m.ledger_transfer_id
               WHERE m.psn_no = ANY($1)""",
            [provider.psn_no, recipient.psn_no],
        )
        assert len(ledger) == len(movements) + len(page["movements"])
        assert all(abs(r["amount"]) == r["ledger"] for r in ledger)
        problems = await check_books(conn)
        assert not any(problems.values()), problems
    finally:
        await conn.close()


async def test_only_the_insured_province_asks_and_the_range_and_cursor_are_honoured(
    desk: tuple[Wallets, Payments],
) -> None:
    wallets, _ = desk
    provider, recipient, _ = await wallets.family("420100", "630100", credit="800.00")
    refused, pages = await statement(wallets.p, provider, "630100")
    assert (refused["status"], refused["reason_code"], pages) == ("rejected", "NOT_A_PARTY", [])
    unknown, _ = await statement(wallets.p, Member("NOBODY42", "", "", "420100"), "420100")
    assert (unknown["reason_code"], unknown["reason"]) == (refused["reason_code"], refused["reason"]), (
        "nobody, or someone of another province: one answer (issue 29)"
    )
    too_long, _ = await statement(wallets.p, provider, "420100", days=(-400, 0))
    assert (too_long["status"], too_long["reason_code"]) == ("rejected", "INVALID_MESSAGE"), "at most 366 days"
    bad, _ = await statement(wallets.p, provider, "420100", cursor="not-a-cursor")
    assert (bad["status"], bad["reason_code"]) == ("rejected", "INVALID_MESSAGE")
    _, [later] = await statement(wallets.p, provider, "420100", days=(2, 40))
    assert (later["movements"], later["acct_balc"]) == ([], "800.00"), "balances are now's; movements the range's"
    _, [now] = await statement(wallets.p, provider, "420100")
    assert [m["kind"] for m in now["movements"]] == ["credit"]
    assert now["movements"][0]["at"].startswith(wallets.p.now().date().isoformat()[:7])

    assert await freeze(wallets, recipient, "630100") == ("completed", None)
    assert await freeze(wallets, recipient, "630100", frozen=False) == ("completed", None)
    _, [frozen] = await statement(wallets.p, recipient, "630100")
    assert [(f["action"], f["by"], f["changed"]) for f in frozen["freezes"]] == [
        ("frozen", "province", True),
        ("unfrozen", "province", True),
    ]
    assert frozen["freezes"][0]["reason"] == "cash-out at a pharmacy (case 2026-7)"
    assert frozen["frozen"] is False
