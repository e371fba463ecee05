"""The manifest's topics on the real broker: the broker stamps every record, whatever its producer says."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from tests.support.infra import Infra
from tests.support.kafka import client, create_topics
from tools.topics import TopicSpec, ensure_topics, load_manifest

pytestmark = pytest.mark.integration

A_PRODUCER_CLOCK_FROM_2001 = 1_000_000_000_000  # ms
UNKNOWN_TOPIC = 3  # UNKNOWN_TOPIC_OR_PARTITION


async def _timestamp_types(bootstrap: str, names: list[str]) -> dict[str, str]:
    """Each topic's message.timestamp.type (a topic just created may take a moment to be known)."""
    admin = AIOKafkaAdminClient(**client(bootstrap))
    await admin.start()
    try:
        for _ in range(100):
            responses = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, n, configs={"message.timestamp.type": None}) for n in names]
            )
            resources = [resource for response in responses for resource in response.resources]
            if all(resource[0] != UNKNOWN_TOPIC for resource in resources):
                break
            await asyncio.sleep(0.1)
    finally:
        await admin.close()
    found: dict[str, str] = {}
    for resource in resources:
        assert resource[0] == 0, resource
        name, entries = resource[3], resource[4]
        for entry in entries:
            if entry[0] == "message.timestamp.type":
                found[name] = entry[1]
    return found


async def test_every_topic_of_the_manifest_stamps_records_with_the_brokers_clock(infra: Infra, topics: None) -> None:
    names = [s.name for s in load_manifest()]
    assert set((await _timestamp_types(infra.kafka_bootstrap, names)).values()) == {"LogAppendTime"}
    assert await ensure_topics(infra.kafka_bootstrap, load_manifest()) == [], "a second run creates nothing"


async def test_a_topic_made_without_the_manifest_is_brought_to_it_and_a_producers_clock_is_then_ignored(
    infra: Infra,
) -> None:
    name = f"test.timestamps.{uuid.uuid4().hex[:8]}"
    await create_topics(infra.kafka_bootstrap, [name])  # CreateTime, the broker's default
    assert await _timestamp_types(infra.kafka_bootstrap, [name]) == {name: "CreateTime"}

    assert await ensure_topics(infra.kafka_bootstrap, [TopicSpec(name, 1, 1)]) == []
    assert await _timestamp_types(infra.kafka_bootstrap, [name]) == {name: "LogAppendTime"}

    producer = AIOKafkaProducer(**client(infra.kafka_bootstrap), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(name, b"{}", timestamp_ms=A_PRODUCER_CLOCK_FROM_2001)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(**client(infra.kafka_bootstrap), enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(name, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        record = await consumer.getone()
    finally:
        await consumer.stop()
    assert record.timestamp_type == 1, "LogAppendTime"
    assert record.timestamp > A_PRODUCER_CLOCK_FROM_2001, "the broker's clock, not the producer's"
