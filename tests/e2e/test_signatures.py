"""Issue 11, part 2, through the running services: a record counts only when its claimed sender signed it."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from shared.contracts.topics import INGRESS_ENROLLMENT, province_topic
from shared.settings import PlatformSettings, key_registry_path, signing_keys_path
from shared.signing import HEADER_SIGNATURE, KeyRegistry, SigningKeys, Verdict, sign
from tests.e2e.conftest import Platform
from tests.support.kafka import Watcher, client, envelope

pytestmark = pytest.mark.e2e


def credit(sender: str, **fields: Any) -> dict[str, Any]:
    body = {"psn_no": f"{sender}97{random.randrange(10**12):012d}", "amount": "1.00", "period": "202611"}
    return envelope("account.credited", {**body, "kind": "contribution"}, sender=sender, **fields)


async def send_raw(platform: Platform, principal: str, value: bytes, headers: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(**client(platform.settings.kafka_bootstrap, principal), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(INGRESS_ENROLLMENT, value, key=b"k", headers=headers)
    finally:
        await producer.stop()


def keys() -> SigningKeys:
    return SigningKeys.load(signing_keys_path(PlatformSettings()))


async def test_a_province_writing_another_provinces_sender_is_refused_and_the_msgid_stays_its_owners(
    platform: Platform,
) -> None:
    """Guangdong's system, authenticated on the cluster as itself, sends in Shaanxi's name, signed with its own
    key: Shaanxi is told SIGNATURE_INVALID and nothing is stored, so Shaanxi's own message with that msgid is
    still judged on its merits."""
    forged = credit("610100")
    value = json.dumps(forged).encode()
    guangdong = next(k for k in keys().keys if k.signs_for == "440000")
    msgid, type_, sender, sent_at = (str(forged[f]) for f in ("msgid", "type", "sender", "sent_at"))
    headers = sign(guangdong.private_key, guangdong.key_id, msgid, type_, sender, sent_at, value)
    async with Watcher(platform.settings.kafka_bootstrap, [province_topic("610100")]) as w:
        await send_raw(platform, "province-440000", value, [(k, v.encode()) for k, v in headers.items()])
        refused = await w.result_for(forged["msgid"])
        assert (refused["status"], refused["reason_code"]) == ("rejected", "SIGNATURE_INVALID")
        assert "key of another sender" in refused["reason"]

        own = json.dumps(forged).encode()
        await send_raw(platform, "province-610000", own, keys().record_headers(own))
        answers = await w.wait_for(
            lambda r: isinstance(r.value, dict) and r.value["body"].get("omsgid") == forged["msgid"], count=2
        )
        assert answers[1].value["body"]["reason_code"] != "SIGNATURE_INVALID", "the owner's msgid was not taken"


async def test_unsigned_tampered_and_stale_records_are_refused(platform: Platform) -> None:
    async with Watcher(platform.settings.kafka_bootstrap, [province_topic("440300")]) as w:
        unsigned = credit("440300")
        await send_raw(platform, "province-440000", json.dumps(unsigned).encode(), [])
        assert (await w.result_for(unsigned["msgid"]))["reason_code"] == "SIGNATURE_INVALID"

        tampered = credit("440300")
        value = json.dumps(tampered).encode()
        signed = keys().record_headers(value)
        await send_raw(platform, "province-440000", value.replace(b'"1.00"', b'"9999.00"'), signed)
        answer = await w.result_for(tampered["msgid"])
        assert (answer["reason_code"], "bad signature" in answer["reason"]) == ("SIGNATURE_INVALID", True)

        stale = credit("440300", sent_at=platform.now() - timedelta(hours=1))
        value = json.dumps(stale).encode()
        await send_raw(platform, "province-440000", value, keys().record_headers(value))
        answer = await w.result_for(stale["msgid"])
        assert (answer["reason_code"], "replay window" in answer["reason"]) == ("SIGNATURE_INVALID", True)

        bad_header = credit("440300")
        value = json.dumps(bad_header).encode()
        headers = [(k, b"\xff" if k == HEADER_SIGNATURE else v) for k, v in keys().record_headers(value)]
        await send_raw(platform, "province-440000", value, headers)
        assert (await w.result_for(bad_header["msgid"]))["reason_code"] == "SIGNATURE_INVALID"


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
