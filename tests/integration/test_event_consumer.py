"""The event-consumer kernel (another service's stream): an event published twice has one effect."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from pydantic import BaseModel

from shared.contracts.envelope import Envelope
from shared.db.migrations import migrate
from shared.db.pool import connect, create_pool
from shared.messaging.consumer import FailureHandler, MessageContext, Outcome, Pipeline
from shared.messaging.messages import Outgoing
from shared.settings import PlatformSettings
from tests.integration.harness import WALLET_DIR
from tests.support.kernel import Record, event_value, follower

pytestmark = pytest.mark.integration


def delivered(value: bytes, offset: int, topic: str = "relationship.events.v1") -> Record:
    """The record at `offset` of `topic`, as the broker delivers it."""
    return Record(value, topic=topic, offset=offset, key=b"k")


@pytest.fixture
async def pool(settings: PlatformSettings) -> AsyncIterator[asyncpg.Pool[Any]]:
    """The wallet's migrated database, with a table a handler records what it applied in."""
    conn = await connect(settings.dsn("wallet"))
    try:
        await migrate(conn, "wallet", WALLET_DIR)
        await conn.execute("CREATE TABLE IF NOT EXISTS seen (relationship_id text PRIMARY KEY)")
    finally:
        await conn.close()
    pool = await create_pool(settings.dsn("wallet"))
    try:
        yield pool
    finally:
        await pool.close()


async def refused(ctx: MessageContext, env: Envelope[Any]) -> list[Outgoing]:
    """A compensation: the wallet tells the payment service it refused the payment."""
    return [Outgoing("wallet.events.v1", "k", "wallet.payment-refused", {"setl_id": env.body.relationship_id})]


class Ended(BaseModel):
    relationship_id: str


class Opened(BaseModel):
    relationship_id: str
    amount: int


async def test_an_event_published_twice_is_applied_once_and_a_redelivery_is_skipped(pool: asyncpg.Pool[Any]) -> None:
    calls = 0

    async def on_ended(ctx: MessageContext, env: Envelope[Any]) -> list[Outgoing]:
        nonlocal calls
        calls += 1
        await ctx.conn.execute("INSERT INTO seen VALUES ($1)", env.body.relationship_id)
        return []

    consumer = follower("relationship.events.v1", {"relationship.relationship-ended": (Ended, on_ended)}, pool=pool)
    event = event_value(
        "000000202611231000002000000007",
        "relationship.relationship-ended",
        {"relationship_id": "r1", "ignored": "extra fields are fine"},
    )
    assert await consumer.process(delivered(event, offset=10)) is Outcome.PROCESSED
    assert await consumer.process(delivered(event, offset=10)) is Outcome.REDELIVERED, "offset commit was lost"
    assert await consumer.process(delivered(event, offset=11)) is Outcome.REPEAT, "the relay published it twice"
    other = json.dumps({**json.loads(event), "type": "relationship.relationship-requested"}).encode()
    assert await consumer.process(delivered(other, offset=12)) is Outcome.NOT_MINE
    assert await consumer.process(delivered(b"not json", offset=13)) is Outcome.DEAD_LETTERED
    async with pool.acquire() as c:
        assert await c.fetchval("SELECT count(*) FROM seen") == 1
        dlq = await c.fetchval("SELECT topic FROM outbox WHERE type = 'dlq.record'")
    assert calls == 1
    assert dlq == "relationship.events.v1.wallet.dlq"


async def test_an_event_that_keeps_failing_is_dead_lettered_and_its_failure_answered_once(
    pool: asyncpg.Pool[Any],
) -> None:
    async def always_fails(ctx: MessageContext, env: Envelope[Any]) -> list[Outgoing]:
        raise RuntimeError("a bug in the handler")

    consumer = follower(
        "payment.events.v1",
        {"payment.payment-opened": (Ended, always_fails)},
        pool=pool,
        failure_handlers={"payment.payment-opened": FailureHandler(Ended, refused)},
        retry_backoff_seconds=0.01,
    )
    event = event_value("000000202611231000003000000042", "payment.payment-opened", {"relationship_id": "setl-1"})
    assert await consumer.process(delivered(event, offset=20, topic="payment.events.v1")) is Outcome.DEAD_LETTERED
    assert await consumer.process(delivered(event, offset=21, topic="payment.events.v1")) is Outcome.REPEAT
    async with pool.acquire() as c:
        rows = await c.fetch(
            "SELECT type, topic FROM outbox WHERE msgid > '' AND type IN ('dlq.record', 'wallet.payment-refused')"
            " AND (topic = 'payment.events.v1.wallet.dlq' OR topic = 'wallet.events.v1') ORDER BY id"
        )
    assert [(r["type"], r["topic"]) for r in rows][-2:] == [
        ("dlq.record", "payment.events.v1.wallet.dlq"),
        ("wallet.payment-refused", "wallet.events.v1"),
    ]


async def test_an_event_whose_body_cannot_be_read_still_gets_its_failure_handler_on_the_identity_fields(
    pool: asyncpg.Pool[Any],
) -> None:
    """A saga waiting for this event still ends with an answer (issue 10, part 3); a compensation that does not
    settle the event leaves it to the operator's replay, which applies it."""
    applied: list[str] = []

    async def apply(ctx: MessageContext, env: Envelope[Any]) -> list[Outgoing]:
        applied.append(env.body.relationship_id)
        return []

    def consumer_of(settles: bool) -> Pipeline:
        return follower(
            "payment.events.v1",
            {"payment.payment-opened": (Opened, apply)},
            pool=pool,
            failure_handlers={"payment.payment-opened": FailureHandler(Ended, refused, settles=settles)},
            retry_backoff_seconds=0.01,
        )

    def event(msgid: str, body: dict[str, Any]) -> bytes:
        return event_value(msgid, "payment.payment-opened", body)

    async def refusals_of(setl_id: str) -> int:
        async with pool.acquire() as c:
            return int(
                await c.fetchval(
                    "SELECT count(*) FROM outbox WHERE type = 'wallet.payment-refused'"
                    " AND convert_from(value, 'UTF8') LIKE $1",
                    f"%{setl_id}%",
                )
            )

    settling, holding = consumer_of(True), consumer_of(False)
    unreadable = event("000000202611231000003000000101", {"relationship_id": "setl-u1", "amount": "lots"})
    nameless = event("000000202611231000003000000102", {"amount": 1})
    held = event("000000202611231000003000000103", {"relationship_id": "setl-u3", "amount": "x"})
    fixed = event("000000202611231000003000000103", {"relationship_id": "setl-u3", "amount": 3})
    assert await settling.process(delivered(unreadable, offset=100, topic="payment.events.v1")) is Outcome.DEAD_LETTERED
    assert await refusals_of("setl-u1") == 1, "answered on the identity fields alone"
    assert await settling.process(delivered(unreadable, offset=101, topic="payment.events.v1")) is Outcome.DEAD_LETTERED
    assert await refusals_of("setl-u1") == 1, "a settling compensation runs once"
    assert await settling.process(delivered(nameless, offset=102, topic="payment.events.v1")) is Outcome.DEAD_LETTERED
    async with pool.acquire() as c:
        assert await c.fetchval("SELECT count(*) FROM outbox WHERE type = 'wallet.payment-refused'") >= 1
    assert await holding.process(delivered(held, offset=103, topic="payment.events.v1")) is Outcome.DEAD_LETTERED
    assert await refusals_of("setl-u3") == 1
    # the cause fixed, the operator replays: a compensation that does not settle lets the event apply once
    assert await holding.process(delivered(fixed, offset=104, topic="payment.events.v1")) is Outcome.PROCESSED
    assert await holding.process(delivered(fixed, offset=105, topic="payment.events.v1")) is Outcome.REPEAT
    assert applied == ["setl-u3"]
