"""FastStream/aiokafka wiring with money-safe defaults.

Producer: idempotent, acks=all, no topic auto-creation (topics come from deploy/topics.toml).
Consumers: manual commit, earliest offset for a new group, one record at a time per subscriber,
and a record's offset is committed only after the kernel's transaction committed (explicit offsets,
in batches: shared/messaging/offsets.py). If the kernel itself
fails unexpectedly the record is nacked (the consumer seeks back to it), so no later commit can
pass over it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from shared.logging import get_logger, library_logger
from shared.messaging.consumer import IngressConsumer
from shared.messaging.offsets import OffsetCommitter
from shared.messaging.outbox import SendFn
from shared.messaging.security import faststream_security
from shared.settings import PlatformSettings

log = get_logger(__name__)


def make_broker(settings: PlatformSettings, client: str) -> KafkaBroker:
    """The broker of a process acting as principal `client` (a service: its name; shared/messaging/security.py)."""
    return KafkaBroker(
        settings.kafka_bootstrap.split(","),
        client_id=f"medaid-{client}",
        security=faststream_security(settings, client),
        enable_idempotence=True,
        acks="all",
        allow_auto_create_topics=False,
        # linger_ms stays 0: with aiokafka 0.14 a linger > 0 left records in the accumulator with the
        # sender asleep (seen in our integration tests). The relay batches anyway: it sends a whole
        # batch before awaiting the acks, so the accumulator fills while the sender is busy.
        graceful_timeout=15.0,
        logger=library_logger(),
        log_level=logging.DEBUG,  # FastStream's per-message access lines duplicate ours: keep them below INFO
    )


def consumer_group(service: str, topic: str) -> str:
    """`<service>.<purpose>`: one group per service and ingress topic."""
    return f"{service}.{topic}"


async def tolerant_parser(record: Any, original: Callable[[Any], Awaitable[Any]]) -> Any:
    """Hand every record to the kernel. FastStream decodes header values as UTF-8 before any
    handler runs; a record with a null or undecodable header would fail there and, under a manual
    ack policy, be passed over. The kernel reads only the raw record, so give FastStream a copy with
    headers it can decode."""
    headers = [(k, (v or b"").decode("utf-8", errors="replace").encode()) for k, v in (record.headers or ())]
    return await original(dataclasses.replace(record, headers=headers))


async def raw_decoder(msg: Any, original: Callable[[Any], Awaitable[Any]]) -> Any:
    """Never let FastStream parse the body (a JSON content-type with a broken body would fail there)."""
    return msg.body


def attach_ingress(broker: KafkaBroker, consumer: IngressConsumer, *, description: str = "") -> OffsetCommitter:
    committer = OffsetCommitter()

    @broker.subscriber(
        consumer.source_topic,
        group_id=consumer_group(consumer.service, consumer.source_topic),
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        max_poll_interval_ms=10 * 60 * 1000,
        parser=tolerant_parser,
        decoder=raw_decoder,
        title=f"{consumer.service}:{consumer.topic}",
        description=description or None,
        include_in_schema=False,  # the AsyncAPI documents come from the typed catalogue (tools/contracts.py)
    )
    async def on_record(msg: KafkaMessage) -> None:
        record: Any = msg.raw_message
        try:
            await consumer.process(record)
        except asyncio.CancelledError:
            await msg.nack()
            raise
        except Exception as exc:  # a bug in the kernel: never commit past this record
            log.exception(
                "consumer_kernel_failed",
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                error=repr(exc),
            )
            await msg.nack()
            await asyncio.sleep(1.0)
            return
        # The record's transaction committed: its offset may now be committed (explicitly, in batches).
        await committer.processed(msg.consumer, record.topic, record.partition, record.offset)

    return committer


def relay_sender(broker: KafkaBroker) -> SendFn:
    async def send(topic: str, key: bytes, value: bytes, headers: dict[str, str]) -> asyncio.Future[Any]:
        return await broker.publish(value, topic, key=key, headers=headers, no_confirm=True)

    return send
