"""Issue 11, part 2, through the running services: a record counts only when its claimed sender signed it; and
(issue 29, ADR 0023) an answer about a msgid reaches its sender's province only when that sender wrote it."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client.parser import text_string_to_metric_families

from shared.contracts.topics import INGRESS_ENROLLMENT, INGRESS_REGISTRY, INGRESS_WALLET, dlq_topic, province_topic
from shared.settings import SERVICES, START_REFUSED_EXIT, PlatformSettings, key_registry_path, signing_keys_path
from shared.signing import HEADER_SIGNATURE, KeyRegistry, SigningKeys, Verdict, registry_entry, sign
from tests.e2e.conftest import Platform
from tests.support.infra import TEST_METRICS_PORT_BASE
from tests.support.kafka import Record, Watcher, client, envelope
from tests.support.processes import start_process

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


# -- issue 29, item 3: the key registry as the operators edit it while the platform runs -----------------------------

Samples = dict[str, list[tuple[dict[str, str], float]]]


def service_metrics() -> dict[str, Samples]:
    """Each running service's /metrics (the test stack's ports), by service."""
    out: dict[str, Samples] = {}
    for i, service in enumerate(SERVICES):
        url = f"http://127.0.0.1:{TEST_METRICS_PORT_BASE + 1 + i}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        samples: Samples = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
        out[service] = samples
    return out


def value(samples: Samples, name: str) -> float:
    return sum(v for _, v in samples.get(name, []))


async def every_service(what: str, holds: Callable[[Samples], bool]) -> dict[str, Samples]:
    """Wait until every service's metrics say `what` (each reads the registry file every 5 s; the bound only ends a
    test that would hang)."""
    for _ in range(240):
        seen = await asyncio.to_thread(service_metrics)
        if all(holds(samples) for samples in seen.values()):
            return seen
        await asyncio.sleep(0.5)
    raise AssertionError(f"not every service: {what}")


def in_force(sha256: str) -> Callable[[Samples], bool]:
    def holds(samples: Samples) -> bool:
        info = [labels["sha256"] for labels, v in samples.get("medaid_key_registry_info", []) if v == 1]
        return info == [sha256] and value(samples, "medaid_key_registry_valid") == 1

    return holds


def write_registry(path: Path, text: bytes) -> str:
    """As an operator should: the whole file at once (written aside, renamed over). Returns its SHA-256."""
    aside = path.with_name(f".{path.name}.{os.getpid()}")
    aside.write_bytes(text)
    aside.replace(path)
    return hashlib.sha256(text).hexdigest()


def signed_by(
    key_id: str, private: Ed25519PrivateKey, message: dict[str, Any]
) -> tuple[bytes, list[tuple[str, bytes]]]:
    value = json.dumps(message).encode()
    msgid, type_, sender, sent_at = (str(message[f]) for f in ("msgid", "type", "sender", "sent_at"))
    headers = sign(private, key_id, msgid, type_, sender, sent_at, value)
    return value, [(k, v.encode()) for k, v in headers.items()]


async def test_a_revoked_key_stops_verifying_and_a_broken_registry_alarms_while_the_last_good_one_holds(
    platform: Platform,
) -> None:
    """Guangdong's new key signs; the operators revoke it and, after the reload, a record it signs is refused. Then
    a broken registry is written (the next edit, half-saved): every service says so in its metrics, Guangdong's
    other key keeps working and the revoked key stays revoked (the last good registry holds). The file is put
    back as it was at the end."""
    path = key_registry_path(PlatformSettings())
    original = path.read_bytes()
    key_id = f"440000-e2e-{os.getpid()}-{random.randrange(10**6)}"
    private = Ed25519PrivateKey.generate()
    now = platform.now()
    entry = registry_entry(key_id, "440000", private.public_key(), now - timedelta(days=1), now + timedelta(days=30))
    document = json.loads(original)
    errors_before = {s: value(m, "medaid_key_registry_errors_total") for s, m in service_metrics().items()}
    try:
        added = write_registry(path, json.dumps({"keys": [*document["keys"], entry]}, indent=1).encode())
        await every_service("the registry with the new key in force", in_force(added))
        topics = [province_topic("440300"), dlq_topic(INGRESS_ENROLLMENT)]
        async with Watcher(platform.settings.kafka_bootstrap, topics) as w:
            first = credit("440300", sent_at=platform.now())
            await send_raw(platform, "province-440000", *signed_by(key_id, private, first))
            assert (await w.result_for(first["msgid"]))["reason_code"] != "SIGNATURE_INVALID"

            revoked_entry = {**entry, "revoked_at": platform.now().isoformat()}
            revoked = json.dumps({"keys": [*document["keys"], revoked_entry]}, indent=1).encode()
            revoked_sha = write_registry(path, revoked)
            seen = await every_service("the revocation in force", in_force(revoked_sha))
            assert all(value(m, "medaid_key_registry_keys") >= 1 for m in seen.values())
            after = credit("440300", sent_at=platform.now())
            await send_raw(platform, "province-440000", *signed_by(key_id, private, after))
            [letter] = await w.wait_for(dead_letter_of(w, INGRESS_ENROLLMENT, after["msgid"]))  # answered to nobody
            assert (letter.value["body"]["reason_code"], letter.value["body"]["payload"]["verdict"]) == (
                "SIGNATURE_INVALID",
                Verdict.KEY_REVOKED.value,
            )

            write_registry(path, revoked[:-20])  # the next edit, half saved
            seen = await every_service("the broken file refused", lambda m: value(m, "medaid_key_registry_valid") == 0)
            for service, samples in seen.items():
                assert value(samples, "medaid_key_registry_errors_total") == errors_before[service] + 1
                info = [labels["sha256"] for labels, _ in samples["medaid_key_registry_info"]]
                assert info == [revoked_sha], "the last good registry is the one in force"

            still = credit("440300", sent_at=platform.now())  # Guangdong's own key: the last good registry has it
            await send_raw(
                platform,
                "province-440000",
                json.dumps(still).encode(),
                keys().record_headers(json.dumps(still).encode()),
            )
            assert (await w.result_for(still["msgid"]))["reason_code"] != "SIGNATURE_INVALID"
            again = credit("440300", sent_at=platform.now())
            await send_raw(platform, "province-440000", *signed_by(key_id, private, again))
            [letter] = await w.wait_for(dead_letter_of(w, INGRESS_ENROLLMENT, again["msgid"]))
            assert letter.value["body"]["payload"]["verdict"] == Verdict.KEY_REVOKED.value
            await answered_in_order(platform, w, "440300")
            assert answers_to(w, after["msgid"]) == answers_to(w, again["msgid"]) == [], "answered to no province"
        assert "key_registry_invalid" in platform.log("wallet")
    finally:
        restored = write_registry(path, original)
    await every_service("the original registry in force again", in_force(restored))


def test_a_service_started_with_a_broken_registry_exits_naming_the_file_and_the_problem(
    platform: Platform, tmp_path: Path
) -> None:
    broken = tmp_path / "registry.json"
    document = json.loads(key_registry_path(PlatformSettings()).read_text())
    document["keys"][0]["signs_for"] = "44000"  # a digit short
    broken.write_text(json.dumps(document))
    env = {**platform.env, "MEDAID_KEY_REGISTRY_FILE": str(broken), "MEDAID_METRICS_PORT": "0"}
    proc = start_process("services.relationship", env)
    assert proc.returncode == START_REFUSED_EXIT, proc.stderr[-2000:]
    assert str(broken) in proc.stderr
    assert "signs_for '44000' is not a 6-digit code" in proc.stderr
    assert "service_started" not in proc.stdout
