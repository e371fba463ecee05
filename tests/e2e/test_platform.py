"""End to end: provinces' messages in, through the four running services, notifications out."""

from __future__ import annotations

import asyncio
import json
import random
from decimal import Decimal
from typing import Any

import pytest

from services.wallet.adapters.books import check_books
from shared.contracts.topics import EVENT_TOPICS, INGRESS_TOPICS, PROVINCE_TOPICS, dlq_topic, province_topic
from shared.db.pool import connect
from tests.e2e.conftest import Platform
from tests.support.kafka import Publisher, Watcher, envelope

pytestmark = pytest.mark.e2e
ALL_OUTPUT = [*PROVINCE_TOPICS, *EVENT_TOPICS.values(), *(dlq_topic(t) for t in INGRESS_TOPICS)]


def psn_no(region: str) -> str:
    return f"{region}00{random.randrange(10**12):012d}"


def certno(region: str) -> str:
    birth = f"19{random.randrange(50, 99)}0{random.randrange(1, 9)}1{random.randrange(1, 9)}"
    return f"{region}{birth}{random.randrange(1000, 9999)}"


def enrolment(region: str, person: str, cert: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "psn_no": person,
        "psn_name": "王秀英",
        "psn_cert_type": "01",
        "certno": cert,
        "insutype": "310",
        "psn_insu_stas": "1",
        "insuplc_admdvs": region,
        "has_personal_account": True,
        "change_reason": "enrol",
        "effective_at": "2026-01-01T00:00:00+08:00",
    }
    return envelope("enrollment.changed", {**body, **overrides}, sender=region)


async def enrolled(platform: Platform, region: str) -> str:
    """A new person enrolled in `region` (a personal account is credited only by its insured province)."""
    person = psn_no(region)
    msg = enrolment(region, person, certno(region))
    async with (
        Watcher(platform.settings.kafka_bootstrap, [province_topic(region)]) as w,
        Publisher(platform.settings.kafka_bootstrap) as pub,
    ):
        await pub.send("ingress.enrollment.v1", msg, key=person)
        assert (await w.result_for(msg["msgid"]))["status"] == "completed"
    return person


def credit(region: str, person: str, amount: str) -> dict[str, Any]:
    return envelope(
        "account.credited",
        {"psn_no": person, "amount": amount, "period": "202611", "kind": "contribution"},
        sender=region,
    )


async def books(platform: Platform) -> dict[str, list[str]]:
    conn = await connect(platform.settings.dsn("wallet"))
    try:
        return await check_books(conn)
    finally:
        await conn.close()


async def balance(platform: Platform, person: str) -> Decimal:
    conn = await connect(platform.settings.dsn("wallet"))
    try:
        value = await conn.fetchval(
            "SELECT credits_posted - debits_posted - debits_pending FROM accounts WHERE id=$1", f"personal:{person}"
        )
        return Decimal(value)
    finally:
        await conn.close()


async def test_an_enrolment_is_recorded_and_published_with_no_certno_or_name_in_clear(platform: Platform) -> None:
    person, cert = psn_no("610100"), certno("610102")
    msg = enrolment("610100", person, cert)
    async with (
        Watcher(platform.settings.kafka_bootstrap, ALL_OUTPUT) as w,
        Publisher(platform.settings.kafka_bootstrap) as pub,
    ):
        await pub.send("ingress.enrollment.v1", msg, key=person)
        result = await w.result_for(msg["msgid"])
        [event] = await w.wait_for(
            lambda r: (
                r.value.get("type") == "relationship.person-enrolment-changed" and r.value["body"]["psn_no"] == person
            )
        )
        await asyncio.sleep(0.5)
        everything = json.dumps([r.value for r in w.records], ensure_ascii=False)
    assert result["status"] == "completed"
    assert event.key == person
    assert event.value["body"]["may_provide"] is True
    assert len(event.value["body"]["certno_hash"]) == 64
    assert cert not in everything
    assert cert not in platform.log("relationship")
    conn = await connect(platform.settings.dsn("relationship"))
    try:
        row = await conn.fetchrow("SELECT * FROM people WHERE psn_no = $1", person)
        assert row is not None
        stored = dict(row)
    finally:
        await conn.close()
    assert stored["psn_name"] is None, "the name is kept as its keyed hash only"
    assert len(stored["name_hash"]) == 64
    assert "王秀英" not in str(stored)
    assert cert not in str(stored)


async def test_an_account_credit_sent_twice_is_booked_once_and_answered_twice_alike(platform: Platform) -> None:
    person = await enrolled(platform, "440300")
    msg = credit("440300", person, "356.80")
    async with (
        Watcher(platform.settings.kafka_bootstrap, ALL_OUTPUT) as w,
        Publisher(platform.settings.kafka_bootstrap) as pub,
    ):
        await pub.send("ingress.enrollment.v1", msg, key=person)
        await pub.send("ingress.enrollment.v1", msg, key=person)
        results = await w.wait_for(
            lambda r: r.value.get("type") == "request.result" and r.value["body"]["omsgid"] == msg["msgid"], count=2
        )
        await asyncio.sleep(0.5)
        credited = w.matching(
            lambda r: r.value.get("type") == "wallet.personal-account-credited" and r.value["body"]["psn_no"] == person
        )
    assert results[0].value["body"] == results[1].value["body"]
    assert results[0].value["body"]["status"] == "completed"
    assert results[0].topic == "province.440000.notifications.v1"
    assert len(credited) == 1
    assert credited[0].value["body"]["balance"] == "356.80"
    assert await balance(platform, person) == Decimal("356.80")
    problems = await books(platform)
    assert "account_sums_match_transfers" in problems
    assert all(offenders == [] for offenders in problems.values()), problems


async def test_registry_messages_are_recorded_and_answered(platform: Platform) -> None:
    region = envelope("region.wallet-status-changed", {"admdvs": "610100", "wallet_enabled": True}, sender="610100")
    hospital = envelope(
        "institution.upserted",
        {
            "fixmedins_code": "H61010300012",
            "fixmedins_name": "西安市第三医院",
            "fixmedins_type": "1",
            "admdvs": "610100",
            "wallet_enabled": True,
        },
        sender="610100",
    )
    async with (
        Watcher(platform.settings.kafka_bootstrap, ALL_OUTPUT) as w,
        Publisher(platform.settings.kafka_bootstrap) as pub,
    ):
        await pub.send("ingress.registry.v1", region, key="610100")
        await pub.send("ingress.registry.v1", hospital, key="610100")
        assert (await w.result_for(region["msgid"]))["status"] == "completed"
        assert (await w.result_for(hospital["msgid"]))["status"] == "completed"
        await w.wait_for(lambda r: r.value.get("type") == "payment.institution-registered")


async def test_every_ingress_message_gets_exactly_one_result(platform: Platform) -> None:
    person = psn_no("320100")
    now = platform.now()
    long_ago = f"{now.year - 2}{now.month:02d}"  # ended, and closed by no other test
    sent: list[tuple[str, dict[str, Any] | bytes, str]] = [
        ("ingress.enrollment.v1", enrolment("320100", person, certno("320102")), person),
        ("ingress.enrollment.v1", credit("320100", person, "10.00"), person),
        (
            "ingress.relationship.v1",
            envelope(
                "relationship.bind-requested",
                {
                    "provider_psn_no": person,
                    "recipient_psn_no": psn_no("320100"),
                    "kinship": "parent",
                    "recipient_certno": certno("320102"),
                    "recipient_name": "李四",
                },
                sender="320100",
            ),
            person,
        ),
        (
            "ingress.settlement.v1",
            envelope(
                "settlement.cancel-requested",
                {"setl_id": "S1", "mdtrt_id": "M1", "psn_no": person},
                sender="320100",
            ),
            person,
        ),
        (
            "ingress.settlement.v1",
            envelope("reversal.requested", {"omsgid": "x", "otype": "settlement.requested"}, sender="320100"),
            "x",
        ),
        ("ingress.clearing.v1", envelope("clearing.close-requested", {"period": long_ago}, sender="320100"), long_ago),
        ("ingress.wallet.v1", envelope("wallet.open-requested", {"psn_no": person}, sender="320100"), person),
        ("ingress.clearing.v1", envelope("clearing.audit-requested", {}, sender="320100"), "-"),
    ]
    async with (
        Watcher(platform.settings.kafka_bootstrap, ALL_OUTPUT) as w,
        Publisher(platform.settings.kafka_bootstrap) as pub,
    ):
        for n, (topic, value, key) in enumerate(sent):
            await pub.send(topic, value, key=key)
            if n == 0:  # the credit that follows is judged on the enrolment (a province credits its own people)
                assert isinstance(value, dict)
                await w.result_for(value["msgid"])
        msgids = [v["msgid"] for _, v, _ in sent if isinstance(v, dict)]
        answers = {m: await w.result_for(m) for m in msgids}
        await asyncio.sleep(1.0)
        for m in msgids:
            distinct = {r.value["msgid"] for r in w.results_for(m)}
            assert len(distinct) == 1, f"{m} got {len(distinct)} results"
    statuses = [(answers[m]["status"], answers[m]["reason_code"]) for m in msgids]
    assert statuses == [
        ("completed", None),
        ("completed", None),
        ("rejected", "UNKNOWN_PERSON"),  # the recipient was never enrolled
        ("rejected", "UNKNOWN_SETTLEMENT"),
        ("completed", None),  # a reversal of a request never seen: the late original will be refused
        ("rejected", "SENDER_NOT_ALLOWED"),  # a province does not close the national month
        ("rejected", "INVALID_MESSAGE"),
        ("rejected", "INVALID_MESSAGE"),
    ]


async def test_a_service_dying_between_commit_and_publish_publishes_after_restart(platform: Platform) -> None:
    person = await enrolled(platform, "440300")
    msg = credit("440300", person, "20.00")
    platform.services("stop", "wallet")
    platform.services("start", "wallet", MEDAID_FAULT_INJECT="relay_exit_before_publish")
    async with (
        Watcher(platform.settings.kafka_bootstrap, ALL_OUTPUT) as w,
        Publisher(platform.settings.kafka_bootstrap) as pub,
    ):
        await pub.send("ingress.enrollment.v1", msg, key=person)
        for _ in range(100):
            if "fault_injected_exit_before_publish" in platform.log("wallet"):
                break
            await asyncio.sleep(0.1)
        assert "fault_injected_exit_before_publish" in platform.log("wallet")
        assert await balance(platform, person) == Decimal("20.00"), "the state was committed"
        await asyncio.sleep(0.5)
        assert w.results_for(msg["msgid"]) == [], "and nothing was published"
        platform.services("start", "wallet")
        result = await w.result_for(msg["msgid"])
        await asyncio.sleep(1.0)
        assert len(w.results_for(msg["msgid"])) == 1
    assert result["status"] == "completed"
    assert await balance(platform, person) == Decimal("20.00")


async def test_sigkill_mid_stream_loses_and_doubles_nothing(platform: Platform) -> None:
    person = await enrolled(platform, "440300")
    credits = [credit("440300", person, f"{i}.00") for i in range(1, 61)]
    async with (
        Watcher(platform.settings.kafka_bootstrap, ALL_OUTPUT) as w,
        Publisher(platform.settings.kafka_bootstrap) as pub,
    ):
        for m in credits:
            await pub.send("ingress.enrollment.v1", m, key=person)
        await w.result_for(credits[5]["msgid"])
        platform.services("kill", "wallet")
        platform.services("start", "wallet")
        for m in credits:
            await w.result_for(m["msgid"], timeout=60)
        await asyncio.sleep(1.0)
        for m in credits:
            assert len({r.value["msgid"] for r in w.results_for(m["msgid"])}) == 1
    assert await balance(platform, person) == Decimal(sum(range(1, 61)))
    assert not any((await books(platform)).values())


async def test_the_province_simulator_gets_every_answer_it_expects(platform: Platform) -> None:
    from tools.simulator import RunState, Simulator

    # as `make run` does: daytime first if need be (its families transfer quota), then the night passes and the
    # month ends, each by moving the whole platform's clock forward
    run = RunState.start(platform.settings, 40, 7, night=True, month_end=True, daytime=True, env=platform.env)
    sim = Simulator(run)
    try:
        complete = await sim.execute(wait_seconds=150)
    finally:
        platform.follow_the_stack()
    assert complete
    assert await sim.summary(complete)
    assert sim.close_clock.endswith("T00:30:00+08:00"), "the month was closed on the next month's first day"
