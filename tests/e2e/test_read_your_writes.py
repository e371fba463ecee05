"""An answer means every service will act on it (issue 10, ADR 0012): a request sent the moment an answer
arrives is judged as if every service had already applied what was answered. Each test sends its pairs all at
once, so the followers are busy while the dependent requests arrive; none of them waits for a copy."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from services.wallet.adapters.books import check_books
from shared.db.pool import connect
from tests.e2e.conftest import Platform
from tests.e2e.families import Member, Payments, Wallets

pytestmark = pytest.mark.e2e

REGIONS = ("440300", "610100", "330100", "510100", "420100", "320100")
PAIRS = 200


def outcomes(results: list[dict[str, Any]]) -> Counter[str]:
    return Counter(f"{r['status']} {r.get('reason_code') or ''}".strip() for r in results)


async def books_balance(platform: Platform) -> None:
    conn = await connect(platform.settings.dsn("wallet"))
    try:
        problems = await check_books(conn)
    finally:
        await conn.close()
    assert all(v == [] for v in problems.values()), problems


async def test_a_transfer_sent_the_moment_its_relationship_is_confirmed_finds_it(
    platform: Platform, desk: tuple[Wallets, Payments]
) -> None:
    wallets, _ = desk
    for region in REGIONS:
        await wallets.enable(region)

    async def pair(i: int) -> dict[str, Any]:
        provider = await wallets.p.enrol(REGIONS[i % len(REGIONS)])
        recipient = await wallets.p.enrol(REGIONS[(i + 1) % len(REGIONS)], insutype="390", account=False)
        await wallets.credit(provider, "1000.00")  # at once after the enrolment's answer, like the wallet below
        opened = await wallets.open(recipient)
        assert opened["status"] == "completed", opened
        requested = await wallets.p.bind(provider, recipient, "parent")
        assert requested["status"] == "accepted", requested
        confirmed = await wallets.p.confirm(requested["relationship_id"], recipient)
        assert confirmed["status"] == "completed", confirmed
        return await wallets.transfer(provider, recipient, "100.00")  # no waiting for the wallet's copy

    results = await asyncio.gather(*(pair(i) for i in range(PAIRS)))
    assert outcomes(results) == Counter({"accepted": PAIRS})
    await books_balance(platform)


async def test_a_wallet_opened_the_moment_its_owner_is_enrolled_finds_them(desk: tuple[Wallets, Payments]) -> None:
    wallets, _ = desk
    for region in REGIONS:
        await wallets.enable(region)

    async def enrol_and_open(i: int) -> dict[str, Any]:
        member = await wallets.p.enrol(REGIONS[i % len(REGIONS)], insutype="390", account=False)
        return await wallets.open(member)

    results = await asyncio.gather(*(enrol_and_open(i) for i in range(PAIRS)))
    assert outcomes(results) == Counter({"completed": PAIRS})


async def test_after_a_termination_neither_the_providers_account_nor_a_pending_transfer_can_be_used(
    platform: Platform, desk: tuple[Wallets, Payments]
) -> None:
    wallets, payments = desk
    families = 100
    for region in REGIONS:
        await wallets.enable(region)
    hospitals = {r: await payments.institution(r) for r in REGIONS}

    async def family(i: int) -> tuple[Member, Member, str, str]:
        provider, recipient, rid = await wallets.family(REGIONS[i % len(REGIONS)], REGIONS[(i + 2) % len(REGIONS)])
        held = await wallets.transfer(provider, recipient, "100.00")
        assert held["status"] == "accepted", held
        return provider, recipient, rid, held["transfer_id"]

    ready = await asyncio.gather(*(family(i) for i in range(families)))

    async def terminate_then_use(i: int, provider: Member, recipient: Member, rid: str, tid: str) -> list[str]:
        ended = await wallets.p.terminate(rid, provider if i % 2 else recipient)
        assert ended["status"] == "completed", ended
        settled, accepted = await asyncio.gather(
            payments.settle(recipient, hospitals[recipient.region], "300.00", "100.00", flag="2", provider=provider),
            wallets.answer("accepted", tid, recipient),
        )
        return [
            f"settlement {settled['status']} {settled.get('reason_code')}",
            f"accept {accepted['status']} {accepted.get('reason_code')}",
        ]

    results = await asyncio.gather(*(terminate_then_use(i, *f) for i, f in enumerate(ready)))
    seen = Counter(outcome for pair in results for outcome in pair)
    assert seen["settlement rejected NO_RELATIONSHIP"] == families, seen
    assert seen["accept rejected NO_RELATIONSHIP"] + seen["accept rejected TRANSFER_NOT_PENDING"] == families, seen
    for provider, recipient, _, _ in ready:  # every hold went back, nothing was taken
        for _ in range(100):
            if await wallets.balances(provider, recipient) == (Decimal("5000.00"), Decimal("0.00")):
                break
            await asyncio.sleep(0.05)
        assert await wallets.balances(provider, recipient) == (Decimal("5000.00"), Decimal("0.00"))
    await books_balance(platform)
