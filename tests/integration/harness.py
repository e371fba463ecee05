"""A real kernel on real servers: the wallet schema in a fresh database, a private copy of
ingress.wallet.v1, a test handler for transfer.requested whose behaviour each test steers."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faststream.kafka import KafkaBroker

from shared.contracts.envelope import Envelope
from shared.contracts.topics import INGRESS_WALLET, dlq_topic
from shared.db.migrations import migrate
from shared.db.pool import connect, create_pool
from shared.messaging.batch_runner import BatchRunner
from shared.messaging.consumer import MessageContext, Pipeline
from shared.messaging.kafka import make_broker, relay_sender
from shared.messaging.messages import Decision, Outgoing
from shared.messaging.outbox import OutboxRelay
from shared.messaging.security import kafka_client
from shared.settings import PlatformSettings
from tests.support.kafka import create_topics
from tests.support.kernel import ingress

WALLET_DIR = Path(__file__).resolve().parents[2] / "services" / "wallet"


@dataclass
class Steering:
    """What the test handler does: fail some messages, count calls."""

    poison_names: set[str] = field(default_factory=set)
    transient_failures: int = 0
    flaky_failures: int = 0  # real (non-transient) failures before the handler succeeds
    calls: int = 0


@dataclass
class Harness:
    settings: PlatformSettings
    source_topic: str
    events_topic: str
    steering: Steering
    consumer: Pipeline
    pool: Any
    broker: KafkaBroker
    runner: BatchRunner | None = None
    relay: OutboxRelay | None = None
    relay_task: asyncio.Task[None] | None = None

    @property
    def dlq(self) -> str:
        return dlq_topic(self.source_topic)

    def new_relay(self) -> OutboxRelay:
        return OutboxRelay(
            pool=self.pool,
            listen_conn_factory=lambda: connect(self.settings.dsn("wallet")),
            schema="wallet",
            send=relay_sender(self.broker),
            poll_seconds=0.2,
        )

    async def start_relay(self) -> OutboxRelay:
        self.relay = self.new_relay()
        self.relay_task = asyncio.create_task(self.relay.run())
        return self.relay

    async def stop_relay(self) -> None:
        if self.relay_task:
            self.relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.relay_task
            self.relay_task = None

    async def effects(self, msgid: str | None = None) -> int:
        async with self.pool.acquire() as conn:
            if msgid is None:
                return int(await conn.fetchval("SELECT count(*) FROM effects"))
            return int(await conn.fetchval("SELECT count(*) FROM effects WHERE msgid = $1", msgid))

    async def published_all(self, rounds: int = 100) -> int:
        """Rows still waiting once the relay, which marks a row only after the broker acknowledged it, had its
        chance: polls (for at most `rounds` tenths of a second) rather than racing the mark."""
        for _ in range(rounds):
            if not (left := await self.unpublished()):
                return 0
            await asyncio.sleep(0.1)
        return left

    async def unpublished(self) -> int:
        """Rows waiting for the relay, besides the msgid claims (ADR 0013) that go with every first answer."""
        async with self.pool.acquire() as conn:
            return int(
                await conn.fetchval(
                    """SELECT count(*) FROM outbox
                       WHERE published_at IS NULL AND failed_at IS NULL AND type <> 'msgid.claimed'"""
                )
            )


async def build(settings: PlatformSettings, *, subscribe: bool = True) -> Harness:
    run = uuid.uuid4().hex[:8]
    source_topic = f"test.{run}.{INGRESS_WALLET}"
    events_topic = f"test.{run}.events"
    await create_topics(settings.kafka_bootstrap, [source_topic, dlq_topic(source_topic), events_topic], partitions=1)
    conn = await connect(settings.dsn("wallet"))
    try:
        await migrate(conn, "wallet", WALLET_DIR)
        await conn.execute("CREATE TABLE IF NOT EXISTS effects (msgid text PRIMARY KEY, amount numeric(16,2))")
    finally:
        await conn.close()
    pool = await create_pool(settings.dsn("wallet"))
    steering = Steering()

    async def on_transfer_requested(ctx: MessageContext, env: Envelope[Any]) -> Decision:
        steering.calls += 1
        if env.body.to_name in steering.poison_names:
            raise ValueError(f"cannot handle {env.body.to_name}")
        if steering.transient_failures > 0:
            steering.transient_failures -= 1
            raise ConnectionError("database went away")
        if steering.flaky_failures > 0:
            steering.flaky_failures -= 1
            raise ValueError("a hiccup of the handler")
        await ctx.conn.execute("INSERT INTO effects (msgid, amount) VALUES ($1, $2)", env.msgid, env.body.amount)
        event = Outgoing(events_topic, env.body.from_psn_no, "test.transfer-seen", {"msgid": env.msgid})
        return Decision.accepted([event], transfer_id=str(uuid.uuid5(uuid.NAMESPACE_OID, env.msgid)))

    handlers = {"transfer.requested": on_transfer_requested}
    consumer = ingress(
        "wallet", INGRESS_WALLET, handlers, pool=pool, source_topic=source_topic, retry_backoff_seconds=0.05
    )
    broker = make_broker(settings, f"test-{run}")
    await broker.start()
    runner = None
    if subscribe:
        runner = BatchRunner(consumer, kafka_client(settings, f"test-{run}"), client_id=f"test-{run}")
        await runner.start()
    return Harness(settings, source_topic, f"test.{run}.events", steering, consumer, pool, broker, runner)


async def close(h: Harness) -> None:
    if h.runner is not None:
        await h.runner.stop()
    await h.stop_relay()
    await h.broker.stop()
    await h.pool.close()


def transfer_body(to_name: str = "王秀英", amount: str = "100.00") -> dict[str, Any]:
    return {
        "from_psn_no": "44030000000000012345",
        "to_psn_no": "61010000000000067890",
        "to_certno": "610102195503031234",
        "to_name": to_name,
        "amount": amount,
        "verification": "face",
        "verified": True,
    }
