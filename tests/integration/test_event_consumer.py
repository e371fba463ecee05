"""The event-consumer kernel (another service's stream): an event published twice has one effect."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel

from shared.clock import BusinessClock
from shared.contracts.envelope import Envelope
from shared.db.migrations import migrate
from shared.db.pool import connect, create_pool
from shared.messaging.consumer import FailureHandler, MessageContext, Outcome, Pipeline, event_consumer
from shared.messaging.messages import Outgoing
from shared.messaging.outbox import Outbox
from shared.settings import PlatformSettings
from tests.integration.harness import WALLET_DIR

pytestmark = pytest.mark.integration


@dataclass
class Rec:
    value: bytes | None
    offset: int
    topic: str = "relationship.events.v1"
    partition: int = 0
    key: bytes | None = b"k"
    timestamp: int = 0


class Ended(BaseModel):
    relationship_id: str


class Opened(BaseModel):
    relationship_id: str
    amount: int


async def test_an_event_published_twice_is_applied_once_and_a_redelivery_is_skipped(settings: PlatformSettings) -> None:
    conn = await connect(settings.dsn("wallet"))
    try:
        await migrate(conn, "wallet", WALLET_DIR)
        await conn.execute("CREATE TABLE IF NOT EXISTS seen (relationship_id text PRIMARY KEY)")
    finally:
        await conn.close()
    pool = await create_pool(settings.dsn("wallet"))
    calls = 0

    async def on_ended(ctx: MessageContext, env: Envelope[Any]) -> list[Outgoing]:
        nonlocal calls
        calls += 1
        await ctx.conn.execute("INSERT INTO seen VALUES ($1)", env.body.relationship_id)
        return []

    clock = BusinessClock()
    consumer = event_consumer(
        service="wallet",
        topic="relationship.events.v1",
        pool=pool,
        outbox=Outbox("wallet", "wallet", clock),
        clock=clock,
        event_handlers={"relationship.relationship-ended": (Ended, on_ended)},
    )
    event = json.dumps(
        {
            "msgid": "000000202611231000002000000007",
            "type": "relationship.relationship-ended",
            "sender": "000000",
            "sent_at": "2026-11-23T10:00:00+08:00",
            "body": {"relationship_id": "r1", "ignored": "extra fields are fine"},
        }
    ).encode()
    try:
        assert await consumer.process(Rec(event, offset=10)) is Outcome.PROCESSED
        assert await consumer.process(Rec(event, offset=10)) is Outcome.REDELIVERED, "offset commit was lost"
        assert await consumer.process(Rec(event, offset=11)) is Outcome.REPEAT, "the relay published it twice"
        other = json.dumps({**json.loads(event), "type": "relationship.relationship-requested"}).encode()
        assert await consumer.process(Rec(other, offset=12)) is Outcome.NOT_MINE
        assert await consumer.process(Rec(b"not json", offset=13)) is Outcome.DEAD_LETTERED
        async with pool.acquire() as c:
            assert await c.fetchval("SELECT count(*) FROM seen") == 1
            dlq = await c.fetchval("SELECT topic FROM outbox WHERE type = 'dlq.record'")
        assert calls == 1
        assert dlq == "relationship.events.v1.wallet.dlq"
    finally:
        await pool.close()


async def test_an_event_that_keeps_failing_is_dead_lettered_and_its_failure_answered_once(
    settings: PlatformSettings,
) -> None:
    conn = await connect(settings.dsn("wallet"))
    try:
        await migrate(conn, "wallet", WALLET_DIR)
    finally:
        await conn.close()
    pool = await create_pool(settings.dsn("wallet"))

    async def always_fails(ctx: MessageContext, env: Envelope[Any]) -> list[Outgoing]:
        raise RuntimeError("a bug in the handler")

    async def answer_failure(ctx: MessageContext, env: Envelope[Any]) -> list[Outgoing]:
        return [Outgoing("wallet.events.v1", "k", "wallet.payment-refused", {"setl_id": env.body.relationship_id})]

    clock = BusinessClock()
    consumer = event_consumer(
        service="wallet",
        topic="payment.events.v1",
        pool=pool,
        outbox=Outbox("wallet", "wallet", clock),
        clock=clock,
        event_handlers={"payment.payment-opened": (Ended, always_fails)},
        failure_handlers={"payment.payment-opened": FailureHandler(Ended, answer_failure)},
        retry_backoff_seconds=0.01,
    )
    event = json.dumps(
        {
            "msgid": "000000202611231000003000000042",
            "type": "payment.payment-opened",
            "sender": "000000",
            "sent_at": "2026-11-23T10:00:00+08:00",
            "body": {"relationship_id": "setl-1"},
        }
    ).encode()
    try:
        assert await consumer.process(Rec(event, offset=20, topic="payment.events.v1")) is Outcome.DEAD_LETTERED
        assert await consumer.process(Rec(event, offset=21, topic="payment.events.v1")) is Outcome.REPEAT
        async with pool.acquire() as c:
            rows = await c.fetch(
                "SELECT type, topic FROM outbox WHERE msgid > '' AND type IN ('dlq.record', 'wallet.payment-refused')"
                " AND (topic = 'payment.events.v1.wallet.dlq' OR topic = 'wallet.events.v1') ORDER BY id"
            )
        assert [(r["type"], r["topic"]) for r in rows][-2:] == [
            ("dlq.record", "payment.events.v1.wallet.dlq"),
            ("wallet.payment-refused", "wallet.events.v1"),
        ]
    finally:
        await pool.close()


async def test_an_event_whose_body_cannot_be_read_still_gets_its_failure_handler_on_the_identity_fields(
    settings: PlatformSettings,
) -> None:
    """A saga waiting for this event still ends with an answer (issue 10, part 3); a compensation that does not
    settle the event leaves it to the operator's replay, which applies it."""
    conn = await connect(settings.dsn("wallet"))
    try:
        await migrate(conn, "wallet", WALLET_DIR)
    finally:
        await conn.close()
    pool = await create_pool(settings.dsn("wallet"))
    applied: list[str] = []

    async def apply(ctx: MessageContext, env: Envelope[Any]) -> list[Outgoing]:
        applied.append(env.body.relationship_id)
        return []

    async def answer_failure(ctx: MessageContext, env: Envelope[Any]) -> list[Outgoing]:
        return [Outgoing("wallet.events.v1", "k", "wallet.payment-refused", {"setl_id": env.body.relationship_id})]

    def consumer_of(settles: bool) -> Pipeline:
        clock = BusinessClock()
        return event_consumer(
            service="wallet",
            topic="payment.events.v1",
            pool=pool,
            outbox=Outbox("wallet", "wallet", clock),
            clock=clock,
            event_handlers={"payment.payment-opened": (Opened, apply)},
            failure_handlers={"payment.payment-opened": FailureHandler(Ended, answer_failure, settles=settles)},
            retry_backoff_seconds=0.01,
        )

    def event(msgid: str, body: dict[str, Any]) -> bytes:
        return json.dumps(
            {
                "msgid": msgid,
                "type": "payment.payment-opened",
                "sender": "000000",
                "sent_at": "2026-11-23T10:00:00+08:00",
                "body": body,
            }
        ).encode()

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
    try:
        assert await settling.process(Rec(unreadable, offset=100, topic="payment.events.v1")) is Outcome.DEAD_LETTERED
        assert await refusals_of("setl-u1") == 1, "answered on the identity fields alone"
        assert await settling.process(Rec(unreadable, offset=101, topic="payment.events.v1")) is Outcome.DEAD_LETTERED
        assert await refusals_of("setl-u1") == 1, "a settling compensation runs once"
        assert await settling.process(Rec(nameless, offset=102, topic="payment.events.v1")) is Outcome.DEAD_LETTERED
        async with pool.acquire() as c:
            assert await c.fetchval("SELECT count(*) FROM outbox WHERE type = 'wallet.payment-refused'") >= 1
        assert await holding.process(Rec(held, offset=103, topic="payment.events.v1")) is Outcome.DEAD_LETTERED
        assert await refusals_of("setl-u3") == 1
        # the cause fixed, the operator replays: a compensation that does not settle lets the event apply once
        assert await holding.process(Rec(fixed, offset=104, topic="payment.events.v1")) is Outcome.PROCESSED
        assert await holding.process(Rec(fixed, offset=105, topic="payment.events.v1")) is Outcome.REPEAT
        assert applied == ["setl-u3"]
    finally:
        await pool.close()
