"""FastStream/aiokafka wiring with money-safe defaults.

Producer: idempotent, acks=all, no topic auto-creation (topics come from deploy/topics.toml).
Consumers are not FastStream subscribers but the kernel's own poll loops (shared/messaging/batch_runner.py,
ADR 0018): manual commit, earliest offset for a new group, micro-batches per partition, and a record's offset
committed only after its transaction committed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from faststream.kafka import KafkaBroker

from shared.logging import get_logger, library_logger
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


def relay_sender(broker: KafkaBroker) -> SendFn:
    async def send(topic: str, key: bytes, value: bytes, headers: dict[str, str]) -> asyncio.Future[Any]:
        return await broker.publish(value, topic, key=key, headers=headers, no_confirm=True)

    return send
