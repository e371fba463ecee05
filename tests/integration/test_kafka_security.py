"""Issue 11, part 1, on the real broker: only an authenticated principal gets in, and each may do only its job
(deploy/acls.toml; StandardAuthorizer with allow.everyone.if.no.acl.found=false)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)

from shared.contracts.topics import INGRESS_WALLET, PROVINCES, RELATIONSHIP_EVENTS, WALLET_EVENTS, province_topic
from shared.messaging.kafka import consumer_group
from tests.support.infra import Infra
from tests.support.kafka import client, envelope
from tools.acls import load_principals
from tools.kafka_admin import user_quotas

pytestmark = pytest.mark.integration

GUANGDONG, SHAANXI = "province-440000", "province-610000"
FORGED_CONSENT = {
    "msgid": "000000202612021000001000000001",
    "type": "relationship.relationship-established",
    "sender": "000000",
    "sent_at": "2026-12-02T10:00:00+08:00",
    "body": {"relationship_id": "forged", "provider_psn_no": "P1", "recipient_psn_no": "P2", "version": 1},
}


async def _produce(options: dict[str, Any], topic: str, value: dict[str, Any]) -> int:
    producer = AIOKafkaProducer(**options, acks="all", enable_idempotence=True, request_timeout_ms=10_000)
    await producer.start()
    try:
        metadata = await producer.send_and_wait(topic, json.dumps(value).encode(), key=b"k")
        return int(metadata.offset)
    finally:
        await producer.stop()


async def _read(options: dict[str, Any], topic: str, group: str | None = None) -> int:
    """Subscribes and fetches once: how many records came (the refusal is raised, by start() or the fetch)."""
    consumer = AIOKafkaConsumer(
        topic, **options, group_id=group, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        return sum(len(r) for r in (await consumer.getmany(timeout_ms=1000)).values())
    finally:
        await consumer.stop()


def _anonymous(infra: Infra) -> dict[str, Any]:
    return {"bootstrap_servers": infra.kafka_bootstrap}


async def test_a_client_without_credentials_can_neither_produce_nor_consume(infra: Infra, topics: None) -> None:
    with pytest.raises(KafkaConnectionError):
        await asyncio.wait_for(_produce(_anonymous(infra), INGRESS_WALLET, {"msgid": "x"}), 60)
    with pytest.raises(KafkaConnectionError):
        await asyncio.wait_for(_read(_anonymous(infra), province_topic("440300")), 60)


async def test_a_wrong_password_is_refused(infra: Infra, topics: None) -> None:
    wrong = {**client(infra.kafka_bootstrap, GUANGDONG), "sasl_plain_password": "not-the-password"}
    with pytest.raises(KafkaError):
        await asyncio.wait_for(_produce(wrong, INGRESS_WALLET, {"msgid": "x"}), 60)


async def test_a_province_reads_its_own_notifications_and_not_another_provinces(infra: Infra, topics: None) -> None:
    guangdong = client(infra.kafka_bootstrap, GUANGDONG)
    assert await _read(guangdong, province_topic("440300")) >= 0
    with pytest.raises(TopicAuthorizationFailedError):
        await _read(guangdong, province_topic("610100"))
    with pytest.raises(TopicAuthorizationFailedError):
        await _read(client(infra.kafka_bootstrap, SHAANXI), province_topic("440300"))


async def test_a_province_writes_ingress_but_no_internal_stream_and_no_notification(infra: Infra, topics: None) -> None:
    guangdong = client(infra.kafka_bootstrap, GUANGDONG)
    assert await _produce(guangdong, INGRESS_WALLET, envelope("wallet.open-requested", {"psn_no": "X"})) >= 0
    for topic in (RELATIONSHIP_EVENTS, WALLET_EVENTS, "wallet.msgids.v1", province_topic("610100")):
        with pytest.raises(TopicAuthorizationFailedError):
            await _produce(guangdong, topic, FORGED_CONSENT)


async def test_a_forged_internal_event_is_refused_by_the_broker_whoever_sends_it(infra: Infra, topics: None) -> None:
    """The attack of issue 11: consent written straight onto relationship.events.v1. Only the relationship service
    writes its stream: not another service, not a province, not analytics, not the operator."""
    for principal in ("wallet", "payment", "clearing", GUANGDONG, "gateway", "analytics", "operator"):
        # refused for the topic, or (a principal that writes no topic at all) already as an idempotent producer
        with pytest.raises((TopicAuthorizationFailedError, ClusterAuthorizationFailedError)):
            await _produce(client(infra.kafka_bootstrap, principal), RELATIONSHIP_EVENTS, FORGED_CONSENT)
    # forged payments (they would debit any account, or make clearing debts) likewise
    for principal in ("wallet", GUANGDONG):
        with pytest.raises(TopicAuthorizationFailedError):
            await _produce(client(infra.kafka_bootstrap, principal), "payment.events.v1", FORGED_CONSENT)


async def test_analytics_reads_the_event_streams_only(infra: Infra, topics: None) -> None:
    analytics = client(infra.kafka_bootstrap, "analytics")
    assert await _read(analytics, WALLET_EVENTS) >= 0
    for topic in (INGRESS_WALLET, province_topic("440300"), "wallet.msgids.v1", "ingress.wallet.v1.dlq"):
        with pytest.raises(TopicAuthorizationFailedError):
            await _read(analytics, topic)


async def test_the_operator_reads_dead_letters_and_no_event_stream(infra: Infra, topics: None) -> None:
    operator = client(infra.kafka_bootstrap, "operator")
    assert await _read(operator, "ingress.wallet.v1.dlq") >= 0
    assert await _read(operator, "relationship.events.v1.wallet.dlq") >= 0
    with pytest.raises(TopicAuthorizationFailedError):
        await _read(operator, RELATIONSHIP_EVENTS)
    with pytest.raises(TopicAuthorizationFailedError):
        await _read(operator, province_topic("440300"))


async def test_nobody_uses_a_services_consumer_groups_but_the_service(infra: Infra, topics: None) -> None:
    """Offsets of the wallet's groups cannot be read or moved by others, even on topics they may read."""
    group = consumer_group("wallet", INGRESS_WALLET)
    with pytest.raises(GroupAuthorizationFailedError):
        await _read(client(infra.kafka_bootstrap, GUANGDONG), province_topic("440300"), group)
    with pytest.raises(GroupAuthorizationFailedError):
        await _read(client(infra.kafka_bootstrap, "payment"), "ingress.settlement.v1", group)
    assert (
        await _read(client(infra.kafka_bootstrap, "wallet"), INGRESS_WALLET, f"wallet.test-{uuid.uuid4().hex[:6]}") >= 0
    )


async def test_every_provincial_system_and_the_gateway_produce_under_a_quota(infra: Infra, topics: None) -> None:
    """ADR 0023: the ingress topics are shared, so what one writer can make the platform dead-letter is bounded by
    what it may produce: a user quota (producer_byte_rate) per provincial principal and the gateway, as
    deploy/acls.toml gives it; the services, the operator and the console produce unthrottled."""
    admin = AIOKafkaAdminClient(**client(infra.kafka_bootstrap))
    await admin.start()
    try:
        quotas = await user_quotas(admin)
    finally:
        await admin.close()
    expected = {p.name: dict(p.quotas) for p in load_principals(local=True) if p.quotas}
    assert expected[GUANGDONG] == {"producer_byte_rate": 1024 * 1024}
    assert set(expected) == {*(f"province-{code}" for code in PROVINCES), "gateway"}
    assert quotas == expected
