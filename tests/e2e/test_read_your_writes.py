"""An answer means every service will act on it (issue 10, ADR 0012): a request sent the moment an answer
arrives is judged as if every service had already applied what was answered. Each test sends its pairs all at
once, so the followers are busy while the dependent requests arrive; none of them waits for a copy."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.conftest import Platform
from tests.e2e.families import Member, Payments, Wallets
from tests.e2e.test_transfers import books_balance
from tests.support.kafka import envelope, new_msgid

pytestmark = pytest.mark.e2e

REGIONS = ("440300", "610100", "330100", "510100", "420100", "320100")
PAIRS = 200


def outcomes(results: list[dict[str, Any]]) -> Counter[str]:
    return Counter(f"{r['status']} {r.get('reason_code') or ''}".strip() for r in results)


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


async def test_a_msgid_answered_by_one_service_is_refused_by_every_other(desk: tuple[Wallets, Payments]) -> None:
    """The inbox is per service, the idempotency key is platform-wide (ADR 0013): the same (sender, msgid) sent
    at once for types other services answer is refused MSGID_REUSED and has no effect; the original use is
    answered as before."""
    wallets, payments = desk
    p = wallets.p
    region = "440300"
    await wallets.enable(region)
    member = await p.enrol(region)
    msgid = new_msgid(region)

    async def ask(topic: str, type_: str, body: dict[str, Any], key: str, nth: int = 1) -> dict[str, Any]:
        await p.pub.send(topic, envelope(type_, body, sender=region, msgid=msgid, sent_at=p.now()), key=key)
        answers = await p.w.wait_for(
            lambda r: (
                isinstance(r.value, dict)
                and r.value.get("type") == "request.result"
                and r.value["body"].get("omsgid") == msgid
                and r.value["body"].get("otype") == type_
            ),
            count=nth,
        )
        return dict(answers[nth - 1].value["body"])

    credit = {"psn_no": member.psn_no, "amount": "10.00", "period": "202611"}
    credited = await ask("ingress.enrollment.v1", "account.credited", credit, member.psn_no)
    assert credited["status"] == "completed", credited
    code = f"H{region}{random.randrange(10**5):05d}"
    institution = {
        "fixmedins_code": code,
        "fixmedins_name": "医院",
        "fixmedins_type": "1",
        "admdvs": region,
        "wallet_enabled": True,
    }
    other = await p.enrol(region, insutype="390", account=False)
    bind = {
        "provider_psn_no": member.psn_no,
        "recipient_psn_no": other.psn_no,
        "kinship": "parent",
        "recipient_certno": other.certno,
        "recipient_name": other.name,
    }
    reused = await asyncio.gather(
        ask("ingress.registry.v1", "institution.upserted", institution, region),
        ask("ingress.relationship.v1", "relationship.bind-requested", bind, member.psn_no),
        ask("ingress.clearing.v1", "clearing.close-requested", {"period": "202001"}, "202001"),
    )
    assert [(r["status"], r["reason_code"]) for r in reused] == [("rejected", "MSGID_REUSED")] * 3, reused
    settled = await payments.settle(member, code, "100.00", "60.00")
    assert (settled["status"], settled["reason_code"]) == ("rejected", "UNKNOWN_INSTITUTION"), "no institution made"
    assert (await p.bind(member, other))["status"] == "accepted", "no relationship was requested by the reuse"
    assert await ask("ingress.enrollment.v1", "account.credited", credit, member.psn_no, nth=2) == credited
