"""Money cannot go to the wrong place (issue 28), through the real broker: an accept racing the end of its
relationship leaves no quota behind, and no region is billed for money its fund never held (ADR 0021)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from services.wallet.adapters import books as wallet_books
from shared.db.pool import connect
from tests.e2e.conftest import Platform
from tests.e2e.families import Member, Payments, Wallets
from tools.books import platform_books

pytestmark = pytest.mark.e2e


async def the_books_balance(platform: Platform) -> None:
    """Every check of the platform's books, read once the platform is quiet (bounded)."""
    for _ in range(100):
        books = await platform_books(platform.settings)
        if books.balanced:
            return
        await asyncio.sleep(0.2)
    raise AssertionError("\n".join(books.lines()))


async def obligations(platform: Platform, *regions: str) -> dict[tuple[str, str, str], Decimal]:
    """Clearing's obligations among `regions`, by (debtor, creditor, source), forward less reverse."""
    conn = await connect(platform.settings.dsn("clearing"))
    try:
        rows = await conn.fetch(
            """SELECT debtor_admdvs, creditor_admdvs, source,
                      sum(CASE direction WHEN 'forward' THEN amount ELSE -amount END) AS amount
               FROM items WHERE debtor_admdvs = ANY($1::text[]) AND creditor_admdvs = ANY($1::text[])
               GROUP BY 1, 2, 3""",
            list(regions),
        )
    finally:
        await conn.close()
    return {(r["debtor_admdvs"], r["creditor_admdvs"], r["source"]): r["amount"] for r in rows}


async def cleared(platform: Platform, want: dict[tuple[str, str, str], Decimal], *regions: str) -> None:
    """Until clearing holds exactly `want` among `regions` (bounded)."""
    for _ in range(150):
        found = await obligations(platform, *regions)
        if found == want:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"clearing holds {found}, not {want}")


async def move(wallets: Wallets, member: Member, to_region: str) -> Member:
    """The province the member is insured in moves them out (转移接续, change_reason transfer)."""
    body = {
        "psn_no": member.psn_no,
        "psn_name": member.name,
        "psn_cert_type": "01",
        "certno": member.certno,
        "insutype": "310",
        "psn_insu_stas": "1",
        "insuplc_admdvs": to_region,
        "has_personal_account": True,
        "change_reason": "transfer",
        "effective_at": wallets.p.now().isoformat(timespec="seconds"),
    }
    answer = await wallets.p.ask("ingress.enrollment.v1", "enrollment.changed", body, member.region, member.psn_no)
    assert answer["status"] == "completed", answer
    return Member(member.psn_no, member.certno, member.name, to_region)


async def spent_where_the_money_came_from(
    platform: Platform, payments: Payments, member: Member, came_from: str, fund: str
) -> None:
    """The member's 5,000.00, credited by `came_from` and now in `fund`'s fund, all spent at a hospital of
    `came_from` from their own account: `fund` owes `came_from` the payment, and `came_from` owes `fund` the
    carry, so each region is billed only for money its fund held; and the books balance."""
    hospital = await payments.institution(came_from)
    paid = await payments.settle(member, hospital, "8000.00", "3000.00", flag="1", sender=came_from)
    assert paid["status"] == "completed", paid
    want = {(came_from, fund, "carry"): Decimal("5000.00"), (fund, came_from, "own_account"): Decimal("5000.00")}
    await cleared(platform, want, came_from, fund)
    await the_books_balance(platform)


async def test_a_member_who_moved_pays_from_the_fund_their_balance_went_to(
    platform: Platform, desk: tuple[Wallets, Payments]
) -> None:
    """Credited 5,000.00 by Lanzhou, moved to Hefei, they spend it all at a Lanzhou hospital: Hefei's fund pays
    for it, and Lanzhou owes Hefei the balance it carried. Lanzhou is never billed for money it no longer held."""
    wallets, payments = desk
    lanzhou, hefei = "620100", "340100"
    member = await payments.p.enrol(lanzhou)
    await wallets.credit(member, "5000.00")
    moved = await move(wallets, member, hefei)
    await spent_where_the_money_came_from(platform, payments, moved, came_from=lanzhou, fund=hefei)


async def test_a_credit_from_a_sibling_region_is_owed_to_the_insured_regions_fund(
    platform: Platform, desk: tuple[Wallets, Payments]
) -> None:
    """Insured in Nanchang, credited by Jiujiang (same province), they spend it at a Jiujiang hospital:
    Nanchang's fund pays, and Jiujiang owes Nanchang what it credited into Nanchang's account."""
    wallets, payments = desk
    nanchang, jiujiang = "360100", "360400"
    member = await payments.p.enrol(nanchang)
    credited = await wallets.p.ask(
        "ingress.enrollment.v1",
        "account.credited",
        {"psn_no": member.psn_no, "amount": "5000.00", "period": "202611"},
        jiujiang,
        member.psn_no,
    )
    assert credited["status"] == "completed", credited
    await spent_where_the_money_came_from(platform, payments, member, came_from=jiujiang, fund=nanchang)


async def test_accepts_racing_the_end_of_their_relationships_leave_no_quota(
    platform: Platform, desk: tuple[Wallets, Payments]
) -> None:
    """Twenty families, each with a held transfer of 100.00: the recipient's accept and the provider's end of the
    relationship are sent at the same moment. Whatever the order they were applied in, every wallet is empty and
    every provider has the whole 500.00 back."""
    wallets, _ = desk
    families: list[tuple[Member, Member, str, str]] = []
    for _ in range(20):
        provider, recipient, rid = await wallets.family("370100", "350100", credit="500.00")
        held = await wallets.transfer(provider, recipient, "100.00")
        assert held["status"] == "accepted", held
        families.append((provider, recipient, rid, held["transfer_id"]))

    async def race(provider: Member, recipient: Member, rid: str, transfer_id: str) -> tuple[Any, Any]:
        accepted, ended = await asyncio.gather(
            wallets.answer("accepted", transfer_id, recipient), wallets.p.terminate(rid, provider)
        )
        return accepted, ended

    answers = await asyncio.gather(*(race(*f) for f in families))
    assert all(ended["status"] == "completed" for _, ended in answers), answers
    assert {a["status"] for a, _ in answers} <= {"completed", "rejected"}
    for _, _, rid, _ in families:
        await wallets.knows_relationship(rid, established=False)
    for _ in range(150):  # the ends' returns are on their way through relationship.events.v1
        balances = [await wallets.balances(p, r) for p, r, _, _ in families]
        if all(b == (Decimal("500.00"), Decimal("0.00")) for b in balances):
            break
        await asyncio.sleep(0.2)
    assert all(b == (Decimal("500.00"), Decimal("0.00")) for b in balances), balances
    conn = await connect(platform.settings.dsn("wallet"))
    try:
        problems = await wallet_books.check_books(conn)
    finally:
        await conn.close()
    assert problems["ended_relationships_leave_no_quota"] == []
    assert problems["funds_hold_what_they_issued"] == []
