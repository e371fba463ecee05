"""The runner waits for this service's followers (ADR 0012) before a batch with anything judged on their copies:
a request, and an event applied by a follower that was given a catch-up (the wallet's follower of payment events
waits for its relationship follower). Records it does not apply never wait."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from tests.support.kernel import Record, event_value, follower


class Applied(BaseModel):
    n: int


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
    return Record(event_value("payment-1", type_name, {"n": 1}), [("type", type_name.encode())])


async def _noop(ctx: Any, env: Any) -> list[Any]:
    return []


@pytest.mark.asyncio
@pytest.mark.parametrize(("type_name", "waits"), [("x.applied", 1), ("x.other", 0)])
async def test_a_follower_given_a_catch_up_waits_before_an_event_it_applies(type_name: str, waits: int) -> None:
    consumer = follower("payment.events.v1", {"x.applied": (Applied, _noop)}, pool=Pool())
    catch_up = Waits()
    consumer.catch_up = catch_up  # type: ignore[assignment]
    with pytest.raises(NoDatabaseError):  # the batch's transaction, after the wait
        await consumer._batch_once([event(type_name)])
    assert catch_up.count == waits
