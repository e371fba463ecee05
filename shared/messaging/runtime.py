"""The part of every service's composition root that is the same: pool, migrations, broker,
ingress subscribers, outbox relay, and their start and stop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
from faststream import FastStream
from faststream.kafka import KafkaBroker

from shared.clock import BusinessClock
from shared.contracts.province import ingress_topics_of
from shared.contracts.topics import MSGID_TOPICS
from shared.db.books import Problems
from shared.db.business_clock import ClockBehindError, mark_reached, start_business_clock
from shared.db.migrations import migrate
from shared.db.pool import Conn, connect, create_pool
from shared.logging import configure_logging, get_logger, library_logger
from shared.messaging.batch_runner import BatchRunner
from shared.messaging.catch_up import CatchUp, KafkaEndOffsets, Watermarks
from shared.messaging.consumer import EventHandler, EventStages, FailureHandler, Handler, Pipeline
from shared.messaging.kafka import make_broker, relay_sender
from shared.messaging.kernel.ingress import IngressStages
from shared.messaging.key_registry import load_registry, watch_registry
from shared.messaging.msgids import CLAIMED, MsgidClaimed, on_claimed, on_claims
from shared.messaging.outbox import Outbox, OutboxRelay
from shared.messaging.periodic import Periodic, refresh_gauges, run_every
from shared.messaging.retention import purge_payloads
from shared.messaging.security import aiokafka_security, kafka_client
from shared.observability import metrics
from shared.observability.metrics import SagaReading
from shared.settings import (
    PlatformSettings,
    platform_signing_key_path,
    refuse_gone_settings,
    refuse_unsafe_settings,
)
from shared.signing import RegistryFile, SigningKeys

log = get_logger(__name__)

INGRESS = "ingress"
"""Key of `ServiceRuntime.catch_up_with` for every ingress topic of the service."""


class _LazyPool:
    """The pool exists only after start-up; consumers are wired before. This hands it over."""

    def __init__(self) -> None:
        self.pool: asyncpg.Pool[Any] | None = None

    def __getattr__(self, name: str) -> Any:
        if self.pool is None:
            raise RuntimeError("database pool used before start-up")
        return getattr(self.pool, name)


@dataclass
class ServiceRuntime:
    service: str
    settings: PlatformSettings
    service_dir: Path
    handlers: Mapping[str, Handler]
    on_start: Sequence[Callable[[asyncpg.Pool[Any]], Awaitable[None]]] = ()
    periodic: Sequence[Periodic] = ()
    event_handlers: Mapping[str, Mapping[str, EventHandler]] = field(default_factory=dict)
    event_failure_handlers: Mapping[str, Mapping[str, FailureHandler]] = field(default_factory=dict)
    """Other services' event streams this one follows: topic -> event type -> handler."""
    sagas: Callable[[Conn, datetime], Awaitable[list[SagaReading]]] | None = None
    """The service's sagas by state, for its metrics: read every metrics_refresh_seconds."""
    books: Callable[[Conn], Awaitable[Problems]] | None = None
    """The service's books checks, for its metrics: run every metrics_books_seconds."""
    catch_up_with: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Read-your-writes (ADR 0012): before judging a record of INGRESS (every ingress topic), of one ingress
    topic, or of a followed topic, wait until the followers of these followed topics have applied all their stream
    held."""
    clock: BusinessClock = field(init=False)
    broker: KafkaBroker = field(init=False)
    outbox: Outbox = field(init=False)
    consumers: list[Pipeline] = field(init=False, default_factory=list)
    runners: list[BatchRunner] = field(init=False, default_factory=list)
    _pool: _LazyPool = field(init=False, default_factory=_LazyPool)
    _end_offsets: KafkaEndOffsets = field(init=False)
    _relay_task: asyncio.Task[None] | None = field(init=False, default=None)
    _stopping: bool = field(init=False, default=False)
    _periodic_tasks: list[asyncio.Task[None]] = field(init=False, default_factory=list)
    _metrics_server: Any = field(init=False, default=None)
    _key_registry: RegistryFile | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        s = self.settings
        # before anything uses them: a production process names every unsafe setting and does not start
        refuse_unsafe_settings(s, self.service)
        self.clock = BusinessClock(s.clock_offset_seconds)
        self.broker = make_broker(s, self.service)
        self.outbox = Outbox(self.service, self.service, self.clock)
        pool: Any = self._pool

        def pipeline(stages: IngressStages | EventStages) -> Pipeline:
            return Pipeline(
                stages, pool=pool, poison_attempts=s.poison_attempts, retry_backoff_seconds=s.retry_backoff_seconds
            )

        for topic in ingress_topics_of(self.service):
            mine = {t: h for t, h in self.handlers.items() if _topic_of(t) == topic}
            stages = IngressStages(
                service=self.service, topic=topic, outbox=self.outbox, clock=self.clock, handlers=mine
            )
            self.consumers.append(pipeline(stages))
        # Every service follows the others' msgid claims and judges no request before it has caught up (ADR 0013).
        claims = tuple(t for other, t in MSGID_TOPICS.items() if other != self.service)
        followed: dict[str, Mapping[str, EventHandler]] = {
            **self.event_handlers,
            **{t: {CLAIMED: (MsgidClaimed, on_claimed)} for t in claims},
        }
        for topic, handlers in followed.items():
            follows = EventStages(
                service=self.service,
                topic=topic,
                outbox=self.outbox,
                clock=self.clock,
                event_handlers=handlers,
                failure_handlers=self.event_failure_handlers.get(topic),
                idempotent=frozenset({CLAIMED}) if topic in claims else frozenset(),
                set_handlers={CLAIMED: on_claims} if topic in claims else None,
            )
            self.consumers.append(pipeline(follows))
        self._end_offsets = KafkaEndOffsets(
            s.kafka_bootstrap, f"medaid-{self.service}-watermarks", security=aiokafka_security(s, self.service)
        )
        watermarks = Watermarks(self._end_offsets)
        for consumer in self.consumers:
            what = INGRESS if isinstance(consumer.stages, IngressStages) else consumer.topic
            waits_for = (*self.catch_up_with.get(what, ()), *(claims if what == INGRESS else ()))
            if what == INGRESS:  # an ingress topic of its own too (the payment service's registry)
                waits_for = (*waits_for, *self.catch_up_with.get(consumer.topic, ()))
            unknown = [t for t in waits_for if t not in followed or t == consumer.topic]
            if unknown:
                raise ValueError(f"{self.service} cannot wait for {unknown} before {what}: not another followed topic")
            if waits_for and s.catch_up:
                consumer.catch_up = CatchUp(pool, self.service, waits_for, watermarks)

    @property
    def pool(self) -> asyncpg.Pool[Any]:
        assert self._pool.pool is not None
        return self._pool.pool

    def start_signatures(self) -> None:
        """Every ingress record must be signed by its sender (docs/signing.md); what the platform writes is signed
        with its own key."""
        self._key_registry, verifier = load_registry(self.settings)
        for consumer in self.consumers:
            if isinstance(consumer.stages, IngressStages):
                consumer.stages.secure(verifier, self.settings.national_operator_codes)
        own = platform_signing_key_path(self.settings)
        if not own.exists():
            raise FileNotFoundError(f"no platform signing key at {own} (MEDAID_PLATFORM_SIGNING_KEY_FILE)")
        self.outbox.signer = SigningKeys.load(own)

    async def start_database(self) -> None:
        refuse_gone_settings()
        self.start_signatures()
        dsn = self.settings.dsn(self.service)
        conn = await connect(dsn)
        try:
            await migrate(conn, self.service, self.service_dir)
            try:
                started = await start_business_clock(conn, self.clock)
            except ClockBehindError as exc:
                log.error("business_clock_behind", offset_seconds=self.clock.offset_seconds, error=str(exc))
                raise
        finally:
            await conn.close()
        log.info(
            "business_clock",
            offset_seconds=self.clock.offset_seconds,
            business_time=started.isoformat(),
            clock=self.clock.describe(),
        )
        self._pool.pool = await create_pool(dsn, max_size=self.settings.pg_pool_size)
        for hook in self.on_start:
            await hook(self._pool.pool)

    async def start_relay(self) -> None:
        relay = OutboxRelay(
            pool=self.pool,
            listen_conn_factory=lambda: connect(self.settings.dsn(self.service)),
            schema=self.service,
            send=relay_sender(self.broker),
            batch_size=self.settings.outbox_batch_size,
            poll_seconds=self.settings.outbox_poll_seconds,
            exit_before_publish=self.settings.fault_inject == "relay_exit_before_publish",
        )
        self._relay_task = asyncio.create_task(relay.run(), name=f"{self.service}-outbox-relay")
        retention = Periodic("purge-payloads", self.settings.retention_sweep_seconds, self._purge_payloads)
        for job in (*self.periodic, Periodic("business-clock", 1.0, _mark_reached), retention):
            every = run_every(job, self._pool, self.outbox, self.clock)
            self._periodic_tasks.append(asyncio.create_task(every, name=f"{self.service}-{job.name}"))
        port = self.settings.metrics_port_of(self.service)
        self._metrics_server = metrics.serve_metrics(
            self.service, port, self.settings.metrics_host, self.clock.offset_seconds
        )
        if self.books is None:
            metrics.no_books()
        gauges = refresh_gauges(self._pool, self.clock, self.settings, self.sagas, self.books)
        self._periodic_tasks.append(asyncio.create_task(gauges, name=f"{self.service}-metrics"))
        if self._key_registry is not None:
            watch = watch_registry(self._key_registry)
            self._periodic_tasks.append(asyncio.create_task(watch, name=f"{self.service}-key-registry"))
        log.info(
            "service_started",
            topics=[c.topic for c in self.consumers],
            kafka=self.settings.kafka_bootstrap,
            clock_offset_seconds=self.clock.offset_seconds,
            catch_up=self.settings.catch_up,
        )
        if not self.settings.catch_up and self.catch_up_with:
            log.warning("catch_up_off", meaning="requests may be judged on stale copies: for measurements only")

    async def start_consumers(self) -> None:
        """One poll loop per kernel (ADR 0018), started once the database and the relay are up."""
        options = kafka_client(self.settings, self.service)
        for consumer in self.consumers:
            if self._stopping:
                return  # the service is told to stop while it starts
            runner = BatchRunner(
                consumer, options, client_id=f"medaid-{self.service}", max_records=self.settings.consumer_batch_size
            )
            self.runners.append(runner)
            await runner.start()

    async def stop_consumers(self) -> None:
        """Finish the batches in hand, commit what was processed (the rest is re-read, harmlessly), leave."""
        self._stopping = True
        await asyncio.gather(*(runner.stop() for runner in self.runners))
        self.runners.clear()

    async def _purge_payloads(self, conn: Conn, _outbox: Outbox, _clock: BusinessClock) -> int:
        return await purge_payloads(conn, self.settings.retention_days)

    async def stop(self) -> None:
        """After the consumers stopped (in-flight messages finished): timers, relay and pool."""
        for task in self._periodic_tasks:
            task.cancel()
        if self._relay_task is not None:
            self._relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay_task
        with contextlib.suppress(Exception):
            await self._end_offsets.close()
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
        if self._pool.pool is not None:
            await self._pool.pool.close()
        log.info("service_stopped")

    def app(self) -> FastStream:
        configure_logging(self.service, self.settings.log_format, self.settings.log_level)
        return FastStream(
            self.broker,
            logger=library_logger(),
            on_startup=[self.start_database],
            after_startup=[self.start_relay, self.start_consumers],
            on_shutdown=[self.stop_consumers],
            after_shutdown=[self.stop],
        )


async def _mark_reached(conn: Conn, _outbox: Outbox, clock: BusinessClock) -> int:
    await mark_reached(conn, clock)
    return 0


def _topic_of(type_name: str) -> str:
    from shared.contracts.province import INGRESS

    return INGRESS[type_name].topic
