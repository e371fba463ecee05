"""The runner waits for this service's followers (ADR 0012) before a batch with anything judged on their copies:
a request, and an event applied by a follower that was given a catch-up (the wallet's follower of payment events
waits for its relationship follower). Records it does not apply never wait."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import BaseModel

from shared.clock import BusinessClock
from shared.messaging.consumer import event_consumer
from shared.messaging.outbox import Outbox


class Applied(BaseModel):
    n: int


@dataclass
class Record:
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    topic: str = "payment.events.v1"
    partition: int = 0
    offset: int = 1
    key: bytes | None = None
    timestamp: int = 0


class Waits:
    def __init__(self) -> None:
        self.count = 0

    async def wait(self) -> float:
        self.count += 1
        return 0.0


class NoDatabaseError(Exception):
    pass


class Pool:
    def acquire(self) -> Any:
        raise NoDatabaseError


def event(type_name: str) -> Record:
    envelope = {"msgid": "payment-1", "type": type_name, "sender": "000000", "sent_at": "2026-12-07T10:00:00+08:00"}
    return Record(json.dumps({**envelope, "body": {"n": 1}}).encode(), [("type", type_name.encode())])


async def _noop(ctx: Any, env: Any) -> list[Any]:
    return []


@pytest.mark.asyncio
@pytest.mark.parametrize(("type_name", "waits"), [("x.applied", 1), ("x.other", 0)])
async def test_a_follower_given_a_catch_up_waits_before_an_event_it_applies(type_name: str, waits: int) -> None:
    clock = BusinessClock()
    pool: Any = Pool()
    follower = event_consumer(
        service="wallet",
        topic="payment.events.v1",
        pool=pool,
        outbox=Outbox("wallet", "wallet", clock),
        clock=clock,
        event_handlers={"x.applied": (Applied, _noop)},
    )
    catch_up = Waits()
    follower.catch_up = catch_up  # type: ignore[assignment]
    with pytest.raises(NoDatabaseError):  # the batch's transaction, after the wait
        await follower._batch_once([event(type_name)])
    assert catch_up.count == waits
