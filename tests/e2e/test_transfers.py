"""Transfers end to end: request, hold, accept or return, notifications to both provinces, books."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest

from services.relationship.domain.commands import SetPolicy
from services.relationship.entrypoints.policy_cli import change
from services.wallet.adapters.books import check_books
from shared.clock import BUSINESS_TZ
from shared.db.pool import connect
from tests.e2e.conftest import Platform
from tests.e2e.families import ALL_OUTPUT, Member, Provinces, Wallets
from tests.support.kafka import Publisher, Record, Watcher, new_msgid

pytestmark = pytest.mark.e2e


@pytest.fixture
async def wallets(platform: Platform) -> AsyncIterator[Wallets]:
    platform.daytime()  # transfers are refused in the quiet hours
    async with (
        Watcher(platform.settings.kafka_bootstrap, ALL_OUTPUT) as w,
        Publisher(platform.settings.kafka_bootstrap) as pub,
    ):
        yield Wallets(Provinces(pub, w, platform.now), platform.settings.dsn("wallet"))


def notice(type_: str, transfer_id: str) -> Callable[[Record], bool]:
    return lambda r: (
        r.topic.startswith("province.")
        and r.value.get("type") == type_
        and r.value["body"].get("transfer_id") == transfer_id
    )


async def books_balance(platform: Platform) -> None:
    conn = await connect(platform.settings.dsn("wallet"))
    try:
        problems = await check_books(conn)
    finally:
        await conn.close()
    assert all(v == [] for v in problems.values()), problems


async def test_a_transfer_is_held_accepted_and_lands_in_the_wallet_as_a_lot(
    platform: Platform, wallets: Wallets
) -> None:
    provider, recipient, _ = await wallets.family("440300", "610100")
    msgid = new_msgid(provider.region)
    requested = await wallets.transfer(provider, recipient, "1500.00", msgid=msgid)
    assert requested["status"] == "accepted"
    tid = requested["transfer_id"]
    [pending] = await wallets.p.w.wait_for(notice("transfer.pending", tid))
    assert pending.topic == "province.610000.notifications.v1"
    assert await wallets.balances(provider, recipient) == (Decimal("3500.00"), Decimal("0.00")), "held, not moved"
    assert await wallets.transfer(provider, recipient, "1500.00", msgid=msgid) == requested, "the same answer again"
    accept = new_msgid(recipient.region)
    accepted = await wallets.answer("accepted", tid, recipient, msgid=accept)
    assert (accepted["status"], accepted["transfer_id"]) == ("completed", tid)
    assert await wallets.answer("accepted", tid, recipient, msgid=accept) == accepted
    done = await wallets.p.w.wait_for(notice("transfer.completed", tid), count=2)
    assert {r.topic for r in done} == {"province.440000.notifications.v1", "province.610000.notifications.v1"}
    assert await wallets.balances(provider, recipient) == (Decimal("3500.00"), Decimal("1500.00"))
    await asyncio.sleep(0.5)
    assert len(wallets.p.w.matching(notice("transfer.pending", tid))) == 1
    assert len(wallets.p.w.matching(notice("transfer.completed", tid))) == 2
    await books_balance(platform)


async def test_every_refusal_of_a_transfer_has_its_reason_code(wallets: Wallets) -> None:
    provider, recipient, _ = await wallets.family("320100", "330100", credit="600.00")
    stranger = await wallets.p.enrol("330100", insutype="390", account=False)
    no_wallet = await wallets.p.enrol("330100", insutype="390", account=False)
    await wallets.p.bound(provider, no_wallet, "child")
    cases = [
        (wallets.transfer(provider, recipient, "100.00", verified=False), "VERIFICATION_FAILED"),
        (wallets.transfer(provider, recipient, "0.50"), "AMOUNT_OUT_OF_RANGE"),
        (wallets.transfer(provider, recipient, "2000.01"), "AMOUNT_OUT_OF_RANGE"),
        (wallets.transfer(provider, stranger, "100.00"), "NO_RELATIONSHIP"),
        (wallets.transfer(provider, recipient, "100.00", certno="330102199001010000"), "IDENTITY_MISMATCH"),
        (wallets.transfer(provider, recipient, "700.00"), "INSUFFICIENT_BALANCE"),
        (wallets.transfer(provider, recipient, "100.00", sender="440300"), "NOT_A_PARTY"),
    ]
    for ask, expected in cases:
        result = await ask
        assert (result["status"], result["reason_code"]) == ("rejected", expected), result
    assert (await wallets.transfer(provider, no_wallet, "10.00"))["reason_code"] == "WALLET_NOT_OPENED"
    first = await wallets.transfer(provider, recipient, "100.00")
    assert first["status"] == "accepted"
    assert (await wallets.transfer(provider, recipient, "100.00"))["reason_code"] == "PENDING_TRANSFER_EXISTS"
    assert (await wallets.answer("accepted", first["transfer_id"], recipient))["status"] == "completed"
    for _ in range(2):
        t = await wallets.transfer(provider, recipient, "100.00")
        assert t["status"] == "accepted"
        await wallets.answer("accepted", t["transfer_id"], recipient)
    assert (await wallets.transfer(provider, recipient, "100.00"))["reason_code"] == "DAILY_LIMIT_REACHED"
    other_provider, other_recipient, _ = await wallets.family("320200", "330200")
    await wallets.enable("330200", False)
    late = await wallets.transfer(other_provider, other_recipient, "10.00")
    assert late["reason_code"] == "REGION_NOT_ENABLED"


async def test_a_declined_transfer_goes_back_to_the_provider(platform: Platform, wallets: Wallets) -> None:
    provider, recipient, _ = await wallets.family("340100", "350100")
    tid = (await wallets.transfer(provider, recipient, "300.00"))["transfer_id"]
    declined = await wallets.answer("declined", tid, recipient)
    assert declined["status"] == "completed"
    returned = await wallets.p.w.wait_for(notice("transfer.returned", tid), count=2)
    assert {r.value["body"]["reason"] for r in returned} == {"declined"}
    assert await wallets.balances(provider, recipient) == (Decimal("5000.00"), Decimal("0.00"))
    late = await wallets.answer("accepted", tid, recipient)
    assert (late["status"], late["reason_code"]) == ("rejected", "TRANSFER_NOT_PENDING")
    await books_balance(platform)


async def test_a_relationship_ending_returns_waiting_transfers_and_unspent_quota(
    platform: Platform, wallets: Wallets
) -> None:
    provider, recipient, rid = await wallets.family("360100", "370100")
    granted = (await wallets.transfer(provider, recipient, "800.00"))["transfer_id"]
    await wallets.answer("accepted", granted, recipient)
    waiting = (await wallets.transfer(provider, recipient, "200.00"))["transfer_id"]
    assert await wallets.balances(provider, recipient) == (Decimal("4000.00"), Decimal("800.00"))
    assert (await wallets.p.terminate(rid, recipient))["status"] == "completed"
    [back] = await wallets.p.w.wait_for(
        lambda r: notice("transfer.returned", waiting)(r) and r.topic == "province.360000.notifications.v1"
    )
    assert back.value["body"]["reason"] == "relationship_ended"
    [lot] = await wallets.p.w.wait_for(
        lambda r: notice("transfer.returned", granted)(r) and r.topic == "province.360000.notifications.v1"
    )
    assert lot.value["body"]["amount"] == "800.00"
    await wallets.knows_relationship(rid, established=False)
    for _ in range(50):
        if await wallets.balances(provider, recipient) == (Decimal("5000.00"), Decimal("0.00")):
            break
        await asyncio.sleep(0.1)
    assert await wallets.balances(provider, recipient) == (Decimal("5000.00"), Decimal("0.00"))
    await books_balance(platform)


async def test_what_nobody_accepts_goes_back_at_six_the_next_morning(platform: Platform, wallets: Wallets) -> None:
    provider, recipient, _ = await wallets.family("410100", "420100")
    asked_on = platform.now().date()
    tid = (await wallets.transfer(provider, recipient, "250.00"))["transfer_id"]
    [pending] = await wallets.p.w.wait_for(notice("transfer.pending", tid))
    deadline = datetime.fromisoformat(pending.value["body"]["expires_at"]).astimezone(BUSINESS_TZ)
    assert (deadline.date(), deadline.time()) == (asked_on + timedelta(days=1), time(6, 0))
    platform.advance_to(deadline - timedelta(seconds=2))  # the night passes, for every service at once
    returned = await wallets.p.w.wait_for(notice("transfer.returned", tid), count=2, timeout=30)
    assert {r.value["body"]["reason"] for r in returned} == {"expired"}
    assert await wallets.balances(provider, recipient) == (Decimal("5000.00"), Decimal("0.00"))
    await books_balance(platform)


async def test_no_transfers_in_the_quiet_hours(platform: Platform, wallets: Wallets) -> None:
    provider, recipient, _ = await wallets.family("430100", "440100")
    platform.advance_to(platform.now().replace(hour=22, minute=30, second=0, microsecond=0))
    refused = await wallets.transfer(provider, recipient, "100.00")
    assert (refused["status"], refused["reason_code"]) == ("rejected", "QUIET_HOURS")
    platform.daytime()
    assert (await wallets.transfer(provider, recipient, "100.00"))["status"] == "accepted", "the next morning"


async def test_killing_the_wallet_mid_saga_loses_and_creates_no_money(platform: Platform, wallets: Wallets) -> None:
    families = [await wallets.family("450100", "460100", credit="3000.00") for _ in range(4)]
    requested = [await wallets.transfer(p, r, "500.00") for p, r, _ in families]
    assert all(t["status"] == "accepted" for t in requested)
    for (_, recipient, _), t in zip(families[:2], requested[:2], strict=True):
        msg_tid = t["transfer_id"]
        await wallets.p.pub.send(
            "ingress.wallet.v1",
            {
                "msgid": new_msgid(recipient.region),
                "type": "transfer.accepted",
                "sender": recipient.region,
                "sent_at": platform.now().isoformat(),
                "body": {"transfer_id": msg_tid, "psn_no": recipient.psn_no},
            },
            key=recipient.psn_no,
        )
    platform.services("kill", "wallet")
    platform.services("start", "wallet")
    for (_, recipient, _), t in zip(families[2:], requested[2:], strict=True):
        assert (await wallets.answer("declined", t["transfer_id"], recipient))["status"] == "completed"
    for t in requested[:2]:
        await wallets.p.w.wait_for(notice("transfer.completed", t["transfer_id"]), count=2)
    expected = [(Decimal("2500.00"), Decimal("500.00"))] * 2 + [(Decimal("3000.00"), Decimal("0.00"))] * 2
    assert [await wallets.balances(p, r) for p, r, _ in families] == expected
    await books_balance(platform)


async def test_unknown_people_and_transfers_are_refused_and_repeats_change_nothing(
    platform: Platform, wallets: Wallets
) -> None:
    provider, recipient, _ = await wallets.family("520100", "530100")
    nobody = Member("53010000000000000001", "530102199001010000", "无名", "530100")
    assert (await wallets.transfer(provider, nobody, "10.00"))["reason_code"] == "UNKNOWN_PERSON"
    opened = await wallets.p.ask(
        "ingress.wallet.v1",
        "wallet.open-requested",
        {"psn_no": nobody.psn_no, "usage_admdvs": "530100", "phone": "13800000000"},
        "530100",
        nobody.psn_no,
    )
    assert opened["reason_code"] == "NOT_A_PARTY", "a person never enrolled is no province's to ask about (issue 29)"
    unknown = await wallets.answer("accepted", "00000000-0000-4000-8000-000000000000", recipient)
    assert unknown["reason_code"] == "UNKNOWN_REQUEST"
    again = new_msgid(recipient.region)
    body = {"psn_no": recipient.psn_no, "usage_admdvs": recipient.region, "phone": "13800000000"}
    first = await wallets.p.ask(
        "ingress.wallet.v1", "wallet.open-requested", body, recipient.region, recipient.psn_no, again
    )
    assert (
        await wallets.p.ask(
            "ingress.wallet.v1", "wallet.open-requested", body, recipient.region, recipient.psn_no, again
        )
        == first
    )
    tid = (await wallets.transfer(provider, recipient, "70.00"))["transfer_id"]
    decline = new_msgid(recipient.region)
    declined = await wallets.answer("declined", tid, recipient, msgid=decline)
    assert await wallets.answer("declined", tid, recipient, msgid=decline) == declined
    await asyncio.sleep(0.5)
    assert len(wallets.p.w.matching(notice("transfer.returned", tid))) == 2
    await books_balance(platform)


async def test_killing_the_relationship_service_while_a_relationship_ends_still_returns_the_quota(
    platform: Platform, wallets: Wallets
) -> None:
    provider, recipient, rid = await wallets.family("530100", "540100")
    granted = (await wallets.transfer(provider, recipient, "400.00"))["transfer_id"]
    await wallets.answer("accepted", granted, recipient)
    waiting = (await wallets.transfer(provider, recipient, "100.00"))["transfer_id"]
    await wallets.p.pub.send(
        "ingress.relationship.v1",
        {
            "msgid": new_msgid(provider.region),
            "type": "relationship.terminate-requested",
            "sender": provider.region,
            "sent_at": platform.now().isoformat(),
            "body": {"relationship_id": rid, "requested_by_psn_no": provider.psn_no},
        },
        key=provider.psn_no,
    )
    platform.services("kill", "relationship")
    platform.services("start", "relationship")
    await wallets.p.w.wait_for(notice("transfer.returned", waiting), count=2, timeout=60)
    await wallets.p.w.wait_for(notice("transfer.returned", granted), count=2, timeout=60)
    for _ in range(50):
        if await wallets.balances(provider, recipient) == (Decimal("5000.00"), Decimal("0.00")):
            break
        await asyncio.sleep(0.1)
    assert await wallets.balances(provider, recipient) == (Decimal("5000.00"), Decimal("0.00"))
    await asyncio.sleep(1.0)
    assert len(wallets.p.w.matching(notice("transfer.returned", granted))) == 2, "returned once, both told"
    await books_balance(platform)


async def test_a_regions_transfer_limit_changed_by_an_operator_applies_to_the_next_transfer(
    platform: Platform, wallets: Wallets
) -> None:
    provider, recipient, _ = await wallets.family("350200", "360200")
    await change(platform.settings, SetPolicy("350200", {"transfer_max_amount": "300.00"}, "e2e-test"))
    await wallets._wait_for("SELECT true FROM policies WHERE admdvs = '350200'")
    refused = await wallets.transfer(provider, recipient, "300.01")
    assert (refused["status"], refused["reason_code"]) == ("rejected", "AMOUNT_OUT_OF_RANGE")
    assert (await wallets.transfer(provider, recipient, "300.00"))["status"] == "accepted"
