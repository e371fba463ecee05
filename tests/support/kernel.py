"""The consumer kernel in tests: a record as Kafka hands it to the kernel, and consumers built the way the
composition root builds them (shared/messaging/runtime.py: a `Pipeline` of `IngressStages` or `EventStages`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.clock import BusinessClock
from shared.messaging.consumer import EventHandler, EventStages, FailureHandler, Handler, IngressStages, Pipeline
from shared.messaging.outbox import Outbox


@dataclass
class Record:
    """What the kernel reads of a Kafka record (shared/messaging/kernel/records.py: ConsumerRecord)."""

    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    topic: str = "payment.events.v1"
    partition: int = 0
    offset: int = 1
    key: bytes | None = None
    timestamp: int = 0


def event_value(msgid: str, type_name: str, body: object) -> bytes:
    """An event of the platform's relay (sender 000000), as bytes."""
    envelope = {"msgid": msgid, "type": type_name, "sender": "000000", "sent_at": "2026-12-07T10:00:00+08:00"}
    return json.dumps({**envelope, "body": body}).encode()


def follower(
    topic: str,
    event_handlers: Mapping[str, EventHandler],
    *,
    pool: Any = None,
    service: str = "wallet",
    failure_handlers: Mapping[str, FailureHandler] | None = None,
    retry_backoff_seconds: float = 0.2,
) -> Pipeline:
    """`service`'s follower of `topic` (no pool: a test that never reaches the database)."""
    clock = BusinessClock()
    stages = EventStages(
        service=service,
        topic=topic,
        outbox=Outbox(service, service, clock),
        clock=clock,
        event_handlers=event_handlers,
        failure_handlers=failure_handlers,
    )
    return Pipeline(stages, pool=pool, retry_backoff_seconds=retry_backoff_seconds)


def ingress(
    service: str,
    topic: str,
    handlers: Mapping[str, Handler],
    *,
    pool: Any = None,
    clock: BusinessClock | None = None,
    source_topic: str | None = None,
    national_operators: frozenset[str] = frozenset(),
    poison_attempts: int = 3,
    retry_backoff_seconds: float = 0.2,
) -> Pipeline:
    """`service`'s consumer of the ingress topic `topic` (no pool: a test that never reaches the database)."""
    clock = clock or BusinessClock()
    stages = IngressStages(
        service=service,
        topic=topic,
        outbox=Outbox(service, service, clock),
        clock=clock,
        handlers=handlers,
        source_topic=source_topic,
        national_operators=national_operators,
    )
    return Pipeline(stages, pool=pool, poison_attempts=poison_attempts, retry_backoff_seconds=retry_backoff_seconds)
