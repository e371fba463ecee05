"""Issue 11, part 2, through the running services: a record counts only when its claimed sender signed it; and
(issue 29, ADR 0023) an answer about a msgid reaches its sender's province only when that sender wrote it."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from shared.contracts.topics import INGRESS_ENROLLMENT, INGRESS_REGISTRY, INGRESS_WALLET, dlq_topic, province_topic
from shared.settings import PlatformSettings, key_registry_path, signing_keys_path
from shared.signing import HEADER_SIGNATURE, KeyRegistry, SigningKeys, Verdict, sign
from tests.e2e.conftest import Platform
from tests.support.kafka import Record, Watcher, client, envelope

pytestmark = pytest.mark.e2e


def credit(sender: str, **fields: Any) -> dict[str, Any]:
    body = {"psn_no": f"{sender}97{random.randrange(10**12):012d}", "amount": "1.00", "period": "202611"}
    return envelope("account.credited", {**body, "kind": "contribution"}, sender=sender, **fields)


async def send_raw(
    platform: Platform, principal: str, value: bytes, headers: list[tuple[str, bytes]], topic: str = INGRESS_ENROLLMENT
) -> None:
    producer = AIOKafkaProducer(**client(platform.settings.kafka_bootstrap, principal), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"k", headers=headers)
    finally:
        await producer.stop()


def keys() -> SigningKeys:
    return SigningKeys.load(signing_keys_path(PlatformSettings()))


def institution(region: str, **fields: Any) -> dict[str, Any]:
    """A request Shaanxi's system sends that is answered `completed`."""
    body = {
        "fixmedins_code": f"H{region}{random.randrange(10**5):05d}",
        "fixmedins_name": f"{region} 医院",
        "fixmedins_type": "1",
        "admdvs": region,
        "wallet_enabled": True,
    }
    return envelope("institution.upserted", body, sender=region, **fields)


def dead_letter_of(w: Watcher, topic: str, msgid: str) -> Callable[[Record], bool]:
    return lambda r: r.topic == dlq_topic(topic) and isinstance(r.value, dict) and r.value["body"]["msgid"] == msgid


def answers_to(w: Watcher, msgid: str) -> list[dict[str, Any]]:
    return [r.value["body"] for r in w.results_for(msgid)]


async def answered_in_order(platform: Platform, w: Watcher, sender: str) -> None:
    """Shaanxi's next request on the same partition (same key) is answered: whatever the consumer did with a
    record before it has been published by then (one partition, one outbox, in order)."""
    marker = institution(sender)
    value = json.dumps(marker).encode()
    await send_raw(platform, f"province-{sender[:2]}0000", value, keys().record_headers(value), INGRESS_REGISTRY)
    assert (await w.result_for(marker["msgid"]))["status"] == "completed"


async def test_a_copy_of_another_provinces_answered_msgid_that_is_not_its_own_is_answered_to_nobody(
    platform: Platform,
) -> None:
    """Issue 29, item 2 (ADR 0023): Shaanxi's request is answered `completed`. Guangdong, authenticated on the cluster
    as itself, sends an unsigned copy of it, and a copy signed with its own key in Shaanxi's name: each is
    dead-lettered SIGNATURE_INVALID as a digest naming the key that signed it, and neither Shaanxi nor Guangdong
    is told anything; Shaanxi's notifications hold only the original answer."""
    shaanxi = institution("610100")
    value = json.dumps(shaanxi).encode()
    guangdong = next(k for k in keys().keys if k.signs_for == "440000")
    msgid, type_, sender, sent_at = (str(shaanxi[f]) for f in ("msgid", "type", "sender", "sent_at"))
    in_shaanxis_name = sign(guangdong.private_key, guangdong.key_id, msgid, type_, sender, sent_at, value)
    topics = [province_topic("610100"), province_topic("440100"), dlq_topic(INGRESS_REGISTRY)]
    async with Watcher(platform.settings.kafka_bootstrap, topics) as w:
        await send_raw(platform, "province-610000", value, keys().record_headers(value), INGRESS_REGISTRY)
        assert (await w.result_for(msgid))["status"] == "completed"

        await send_raw(platform, "province-440000", value, [], INGRESS_REGISTRY)
        forged = [(k, v.encode()) for k, v in in_shaanxis_name.items()]
        await send_raw(platform, "province-440000", value, forged, INGRESS_REGISTRY)
        letters = await w.wait_for(dead_letter_of(w, INGRESS_REGISTRY, msgid), count=2)
        await answered_in_order(platform, w, "610100")

        assert [(a["status"], a.get("reason_code")) for a in answers_to(w, msgid)] == [("completed", None)]
        assert w.matching(lambda r: r.topic == province_topic("440100")) == [], "nor is the writer told"
        unsigned, signed_by_guangdong = (r.value["body"] for r in letters)
        for letter in (unsigned, signed_by_guangdong):
            assert (letter["reason_code"], letter["sender"], letter["payload"]["digest"]) == (
                "SIGNATURE_INVALID",
                "610100",
                True,
            )
            assert letter["payload"]["sha256"] == hashlib.sha256(value).hexdigest()
        assert (unsigned["payload"]["verdict"], unsigned["payload"]["key_id"]) == ("unsigned", None)
        assert (signed_by_guangdong["payload"]["verdict"], signed_by_guangdong["payload"]["key_id"]) == (
            "key of another sender",
            guangdong.key_id,
        ), "the dead letter names who really signed it"


async def test_a_late_signed_copy_of_an_answered_msgid_gets_its_original_answer_again(platform: Platform) -> None:
    """A copy of Shaanxi's signed request, published by another principal after the 15 minutes of the replay window,
    gets Shaanxi's original answer again (a repeat), never a contradicting SIGNATURE_INVALID."""
    # sent 14 min 45 s before now: answered when it arrives, outside the window 15 s later
    shaanxi = institution("610100", sent_at=platform.now() - timedelta(minutes=14, seconds=45))
    value = json.dumps(shaanxi).encode()
    headers = keys().record_headers(value)
    topics = [province_topic("610100"), dlq_topic(INGRESS_REGISTRY)]
    async with Watcher(platform.settings.kafka_bootstrap, topics) as w:
        await send_raw(platform, "province-610000", value, headers, INGRESS_REGISTRY)
        assert (await w.result_for(shaanxi["msgid"]))["status"] == "completed"
        stale_at = datetime.fromisoformat(str(shaanxi["sent_at"])) + timedelta(minutes=15, seconds=1)
        await asyncio.sleep(max(0.0, (stale_at - platform.now()).total_seconds()))  # the window passes
        await send_raw(platform, "province-440000", value, headers, INGRESS_REGISTRY)
        answers = await w.wait_for(lambda r: r.value["body"].get("omsgid") == shaanxi["msgid"], count=2)
        await answered_in_order(platform, w, "610100")
    assert [a.value["body"]["status"] for a in w.results_for(shaanxi["msgid"])] == ["completed", "completed"]
    assert answers[1].headers.get("repeat") == "1", "the original answer, again"
    assert w.matching(dead_letter_of(w, INGRESS_REGISTRY, shaanxi["msgid"])) == []


async def test_a_signed_copy_on_another_topic_of_an_answered_msgid_gets_no_contradicting_answer(
    platform: Platform,
) -> None:
    """Signatures do not cover the topic: a copy of Shaanxi's answered request on another ingress topic is refused
    WRONG_TOPIC only when no service answered the msgid; here the registry's owner did, so Shaanxi hears nothing
    new (the copy is dead-lettered for operators)."""
    shaanxi = institution("610100")
    value = json.dumps(shaanxi).encode()
    headers = keys().record_headers(value)
    topics = [province_topic("610100"), dlq_topic(INGRESS_WALLET)]
    async with Watcher(platform.settings.kafka_bootstrap, topics) as w:
        await send_raw(platform, "province-610000", value, headers, INGRESS_REGISTRY)
        assert (await w.result_for(shaanxi["msgid"]))["status"] == "completed"
        await send_raw(platform, "province-440000", value, headers, INGRESS_WALLET)
        [letter] = await w.wait_for(dead_letter_of(w, INGRESS_WALLET, shaanxi["msgid"]))
        await answered_in_order(platform, w, "610100")
    assert letter.value["body"]["reason_code"] == "WRONG_TOPIC"
    assert [a["status"] for a in answers_to(w, shaanxi["msgid"])] == ["completed"]


async def test_a_forgery_does_not_take_the_msgid_from_its_owner(platform: Platform) -> None:
    """Guangdong's forgery in Shaanxi's name comes first: nothing is stored for the msgid, so Shaanxi's own message
    with that msgid is judged on its merits, and its answer is the only one Shaanxi gets."""
    forged = credit("610100")
    value = json.dumps(forged).encode()
    guangdong = next(k for k in keys().keys if k.signs_for == "440000")
    msgid, type_, sender, sent_at = (str(forged[f]) for f in ("msgid", "type", "sender", "sent_at"))
    headers = sign(guangdong.private_key, guangdong.key_id, msgid, type_, sender, sent_at, value)
    async with Watcher(
        platform.settings.kafka_bootstrap, [province_topic("610100"), dlq_topic(INGRESS_ENROLLMENT)]
    ) as w:
        await send_raw(
            platform, "province-440000", value, [(k, v.encode()) for k, v in headers.items()], INGRESS_ENROLLMENT
        )
        await w.wait_for(dead_letter_of(w, INGRESS_ENROLLMENT, msgid))
        await send_raw(platform, "province-610000", value, keys().record_headers(value), INGRESS_ENROLLMENT)
        own = await w.result_for(msgid)
    assert own["reason_code"] != "SIGNATURE_INVALID", "the owner's msgid was not taken"
    assert len(answers_to(w, msgid)) == 1


async def test_unsigned_tampered_stale_and_badly_headed_records_are_dead_lettered_as_bounded_digests(
    platform: Platform,
) -> None:
    """None of them is answered to any province; each is a dead letter of bounded size whatever the record's (a
    60 KiB value keeps its hash, size and first KiB, masked), with its verdict. An ID number in the value is
    masked in the digest."""
    certno = "610102195503031234"
    unsigned = credit("440300")
    unsigned["body"]["note"] = f"{certno} " + "x" * 60_000
    tampered, stale, bad_header = (
        credit("440300"),
        credit("440300", sent_at=platform.now() - timedelta(hours=1)),
        (credit("440300")),
    )
    topics = [province_topic("440300"), dlq_topic(INGRESS_ENROLLMENT)]
    async with Watcher(platform.settings.kafka_bootstrap, topics) as w:
        await send_raw(platform, "province-440000", json.dumps(unsigned).encode(), [], INGRESS_ENROLLMENT)

        value = json.dumps(tampered).encode()
        signed = keys().record_headers(value)
        await send_raw(platform, "province-440000", value.replace(b'"1.00"', b'"9999.00"'), signed, INGRESS_ENROLLMENT)
        value = json.dumps(stale).encode()
        await send_raw(platform, "province-440000", value, keys().record_headers(value), INGRESS_ENROLLMENT)
        value = json.dumps(bad_header).encode()
        headers = [(k, b"\xff" if k == HEADER_SIGNATURE else v) for k, v in keys().record_headers(value)]
        await send_raw(platform, "province-440000", value, headers, INGRESS_ENROLLMENT)

        verdicts = {}
        for request in (unsigned, tampered, stale, bad_header):
            [letter] = await w.wait_for(dead_letter_of(w, INGRESS_ENROLLMENT, request["msgid"]))
            assert len(letter.raw) < 4096, "a digest, whatever the record's size"
            assert certno not in letter.raw.decode()
            body = letter.value["body"]
            assert (body["reason_code"], body["payload"]["digest"]) == ("SIGNATURE_INVALID", True)
            verdicts[request["msgid"]] = body["payload"]["verdict"]
        await answered_in_order(platform, w, "440300")
    assert [verdicts[r["msgid"]] for r in (unsigned, tampered, stale, bad_header)] == [
        Verdict.UNSIGNED.value,
        Verdict.BAD_SIGNATURE.value,
        Verdict.OUTSIDE_REPLAY_WINDOW.value,
        Verdict.UNSIGNED.value,
    ]
    for request in (unsigned, tampered, stale, bad_header):
        assert answers_to(w, request["msgid"]) == [], "answered to no province"


async def test_the_platform_signs_what_it_sends_to_a_province(platform: Platform) -> None:
    """A provincial system can check that an answer comes from the platform: the platform's key, in the registry."""
    async with Watcher(platform.settings.kafka_bootstrap, [province_topic("440300")]) as w:
        request = credit("440300")
        value = json.dumps(request).encode()
        await send_raw(platform, "province-440000", value, keys().record_headers(value))
        await w.result_for(request["msgid"])
        [answer] = w.matching(lambda r: isinstance(r.value, dict) and r.value["body"].get("omsgid") == request["msgid"])
    registry = KeyRegistry.load(key_registry_path(PlatformSettings()))
    msgid, type_, sender, sent_at = (str(answer.value[f]) for f in ("msgid", "type", "sender", "sent_at"))
    assert sender == "000000"
    window = timedelta(minutes=15)
    assert registry.verify(answer.headers, msgid, type_, sender, sent_at, answer.raw, platform.now(), window) is (
        Verdict.VALID
    )
    tampered = registry.verify(answer.headers, msgid, type_, sender, sent_at, answer.raw + b" ", platform.now(), window)
    assert tampered is Verdict.BAD_SIGNATURE
