"""The part of every service's composition root that is the same: pool, migrations, broker,
ingress subscribers, outbox relay, and their start and stop."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import uvloop
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
from shared.messaging.consumer import EventConsumer, EventHandler, FailureHandler, Handler, IngressConsumer
from shared.messaging.kafka import make_broker, relay_sender
from shared.messaging.msgids import CLAIMED, MsgidClaimed, on_claimed, on_claims
from shared.messaging.outbox import Outbox, OutboxRelay
from shared.messaging.retention import purge_payloads
from shared.messaging.security import aiokafka_security, kafka_client
from shared.observability import metrics
from shared.observability.metrics import SagaReading
from shared.settings import (
    PlatformSettings,
    key_registry_path,
    platform_signing_key_path,
    refuse_gone_settings,
    refuse_local_secrets,
)
from shared.signing import EnvelopeVerifier, RegistryFile, SigningKeys

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


@dataclass(frozen=True)
class Periodic:
    """Work a service does on a timer, in its own transaction (e.g. a sweep of deadlines)."""

    name: str
    seconds: float
    run: Callable[[Conn, Outbox, BusinessClock], Awaitable[int]]


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
    """The service's sagas by state, for its metrics (issue 13): read every metrics_refresh_seconds."""
    books: Callable[[Conn], Awaitable[Problems]] | None = None
    """The service's books checks, for its metrics: run every metrics_books_seconds."""
    catch_up_with: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Read-your-writes (ADR 0012): before judging a record of INGRESS (every ingress topic), of one ingress
    topic, or of a followed topic, wait until the followers of these followed topics have applied all their stream
    held."""
    clock: BusinessClock = field(init=False)
    broker: KafkaBroker = field(init=False)
    outbox: Outbox = field(init=False)
    consumers: list[IngressConsumer] = field(init=False, default_factory=list)
    runners: list[BatchRunner] = field(init=False, default_factory=list)
    _pool: _LazyPool = field(init=False, default_factory=_LazyPool)
    _end_offsets: KafkaEndOffsets = field(init=False)
    _relay_task: asyncio.Task[None] | None = field(init=False, default=None)
    _stopping: bool = field(init=False, default=False)
    _periodic_tasks: list[asyncio.Task[None]] = field(init=False, default_factory=list)
    _metrics_server: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        s = self.settings
        self.clock = BusinessClock(s.clock_offset_seconds)
        self.broker = make_broker(s, self.service)
        self.outbox = Outbox(self.service, self.service, self.clock)
        pool: Any = self._pool
        for topic in ingress_topics_of(self.service):
            mine = {t: h for t, h in self.handlers.items() if _topic_of(t) == topic}
            consumer = IngressConsumer(
                service=self.service,
                topic=topic,
                pool=pool,
                outbox=self.outbox,
                clock=self.clock,
                handlers=mine,
                poison_attempts=s.poison_attempts,
                retry_backoff_seconds=s.retry_backoff_seconds,
            )
            self.consumers.append(consumer)
        # Every service follows the others' msgid claims and judges no request before it has caught up (ADR 0013).
        claims = tuple(t for other, t in MSGID_TOPICS.items() if other != self.service)
        followed: dict[str, Mapping[str, EventHandler]] = {
            **self.event_handlers,
            **{t: {CLAIMED: (MsgidClaimed, on_claimed)} for t in claims},
        }
        for topic, handlers in followed.items():
            follower = EventConsumer(
                service=self.service,
                topic=topic,
                pool=pool,
                outbox=self.outbox,
                clock=self.clock,
                event_handlers=handlers,
                failure_handlers=self.event_failure_handlers.get(topic),
                idempotent=frozenset({CLAIMED}) if topic in claims else frozenset(),
                set_handlers={CLAIMED: on_claims} if topic in claims else None,
                poison_attempts=s.poison_attempts,
                retry_backoff_seconds=s.retry_backoff_seconds,
            )
            self.consumers.append(follower)
        self._end_offsets = KafkaEndOffsets(
            s.kafka_bootstrap, f"medaid-{self.service}-watermarks", security=aiokafka_security(s, self.service)
        )
        watermarks = Watermarks(self._end_offsets)
        for consumer in self.consumers:
            what = consumer.topic if isinstance(consumer, EventConsumer) else INGRESS
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
        """Every ingress record must be signed by its sender (docs/signing.md): the registry is read at start (a
        service does not start without it) and again whenever it changes."""
        path = key_registry_path(self.settings)
        if not path.exists():
            raise FileNotFoundError(f"no key registry at {path} (MEDAID_KEY_REGISTRY_FILE; `make up` writes one)")
        # a trusted sender (the national app's gateway) or a national operator is signed for only by its own key,
        # never by the key of the province its code lies in
        registry = RegistryFile(path, exact_only=self.settings.exact_senders)
        verifier = EnvelopeVerifier(registry, timedelta(seconds=self.settings.signature_window_seconds))
        for consumer in self.consumers:
            if not isinstance(consumer, EventConsumer):
                consumer.signatures = verifier
                consumer.national_operators = self.settings.national_operator_codes
        own = platform_signing_key_path(self.settings)
        if not own.exists():
            raise FileNotFoundError(f"no platform signing key at {own} (MEDAID_PLATFORM_SIGNING_KEY_FILE)")
        self.outbox.signer = SigningKeys.load(own)
        log.info("signatures_verified", registry=str(path), keys=len(verifier.registry().keys))

    async def start_database(self) -> None:
        refuse_local_secrets(self.settings)
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
            self._periodic_tasks.append(asyncio.create_task(self._every(job), name=f"{self.service}-{job.name}"))
        port = self.settings.metrics_port_of(self.service)
        self._metrics_server = metrics.serve_metrics(
            self.service, port, self.settings.metrics_host, self.clock.offset_seconds
        )
        if self.books is None:
            metrics.no_books()
        self._periodic_tasks.append(asyncio.create_task(self._refresh_metrics(), name=f"{self.service}-metrics"))
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

    async def _every(self, job: Periodic) -> None:
        done = 0
        while True:
            if not done:  # work left over from the last round (a backlog at 06:00) goes on at once
                await asyncio.sleep(job.seconds)
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    done = await job.run(conn, self.outbox, self.clock)
                if done:
                    log.info("periodic_done", job=job.name, count=done)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the next round tries again; nothing was committed
                done = 0
                log.warning("periodic_failed", job=job.name, error=repr(exc))

    async def _refresh_metrics(self) -> None:
        """The gauges read from this service's own tables (shared/observability/metrics.py)."""
        books_due = 0.0
        while True:
            try:
                async with self.pool.acquire() as conn:
                    row = await conn.fetchrow(
                        """SELECT count(*) FILTER (WHERE failed_at IS NULL) AS backlog,
                                  count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed,
                                  extract(epoch FROM now() - min(created_at) FILTER (WHERE failed_at IS NULL)) AS age
                           FROM outbox WHERE published_at IS NULL"""
                    )
                    assert row is not None  # an aggregate always has its row
                    age = float(row["age"]) if row["age"] is not None else None
                    metrics.set_outbox(row["backlog"], age, row["failed"])
                    if self.sagas is not None:
                        metrics.set_sagas(await self.sagas(conn, self.clock.now()))
                    if self.books is not None and time.monotonic() >= books_due:
                        books_due = time.monotonic() + self.settings.metrics_books_seconds
                        metrics.set_books(await self.books(conn))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database away: the gauges keep their last values
                log.warning("metrics_refresh_failed", error=repr(exc))
            await asyncio.sleep(self.settings.metrics_refresh_seconds)

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


CLOCK_BEHIND_EXIT = 3
"""Exit status of a service that refused to start on a business clock behind the time it reached."""


def serve(create_app: Any) -> None:
    """Entry point of `python -m services.<name>`."""
    app: FastStream = create_app()
    try:
        # uvloop: the event loop in C (libuv). A service spends much of its CPU in the loop's socket reads and writes
        # (asyncpg round trips, Kafka fetches and sends); see BENCHMARKS.md for what it bought.
        uvloop.run(app.run())
    except ClockBehindError:
        sys.exit(CLOCK_BEHIND_EXIT)  # logged as business_clock_behind; services.sh tells the operator
