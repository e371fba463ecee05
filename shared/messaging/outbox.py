"""Transactional outbox: rows written with the state change, published afterwards by one relay.

`enqueue` runs inside the caller's transaction and wakes the relay with NOTIFY (delivered on
commit). The relay publishes unpublished rows in id order, waits for the broker's acks (acks=all,
idempotent producer), then marks them. A crash between publish and mark publishes the rows again
with the same msgid: egress is at-least-once, and every message carries a stable id to dedupe by.
One relay publishes a schema at a time (an advisory lock held by each batch's transaction), so
rows go out in id order even with several replicas (within a batch the event-stream rows go, and are
acknowledged, before the answers and notifications: ADR 0012; each topic keeps id order). A row the
broker can never accept (too large, topic refused) is set aside with the reason (`failed_at`,
`failure`) instead of blocking the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import asyncpg
from aiokafka import errors as kafka_errors

from shared.clock import BusinessClock
from shared.contracts.envelope import wire_time
from shared.contracts.topics import EVENT_TOPICS, MSGID_TOPICS, PLATFORM_SENDER
from shared.db.pool import Conn
from shared.logging import get_logger
from shared.messaging.messages import Outgoing
from shared.observability import metrics
from shared.signing import SigningKeys

log = get_logger(__name__)

# One digit per service inside platform msgids, so two services never mint the same id.
SERVICE_DIGIT = {"wallet": "1", "relationship": "2", "payment": "3", "clearing": "4", "simulator": "9"}

_EVENT_STREAMS = frozenset((*EVENT_TOPICS.values(), *MSGID_TOPICS.values()))

SendFn = Callable[[str, bytes, bytes, dict[str, str]], Awaitable["asyncio.Future[Any]"]]
"""send(topic, key, value, headers) -> a future resolved when the broker acknowledged the record."""


def platform_msgid(service: str, sequence: int, at: Any) -> str:
    """'000000' + yyyyMMddHHmmss + service digit + 9-digit sequence = 30 chars."""
    return f"{PLATFORM_SENDER}{at.strftime('%Y%m%d%H%M%S')}{SERVICE_DIGIT.get(service, '0')}{sequence % 10**9:09d}"


def _events_first(rows: Sequence[Any]) -> list[list[Any]]:
    events = [r for r in rows if r["topic"] in _EVENT_STREAMS]
    rest = [r for r in rows if r["topic"] not in _EVENT_STREAMS]
    return [part for part in (events, rest) if part]


def notify_channel(schema: str) -> str:
    return f"outbox_{schema}"


PROVINCE_TOPIC_PREFIX = "province."


class Outbox:
    def __init__(self, service: str, schema: str, clock: BusinessClock) -> None:
        self.service = service
        self.schema = schema
        self.clock = clock
        self._pending: dict[int, list[Outgoing]] = {}
        self.signer: SigningKeys | None = None
        """The platform's signing key (docs/signing.md): set by the composition root; what goes to a province is
        signed with it, so that provinces can verify the platform sent it."""

    async def enqueue(self, conn: Conn, messages: Sequence[Outgoing]) -> None:
        """Write messages in the caller's transaction: at once, or, inside `buffered(conn)`, when it ends.

        Event-stream rows take the lower ids: the relay publishes in id order and a batch of it can end anywhere,
        so an answer must never have a lower id than the events written with it (ADR 0012).
        """
        if not messages:
            return
        ordered = sorted(messages, key=lambda m: m.topic not in _EVENT_STREAMS)
        pending = self._pending.get(id(conn))
        if pending is not None:
            pending.extend(ordered)
            return
        await self._write(conn, ordered)

    @contextlib.asynccontextmanager
    async def buffered(self, conn: Conn) -> AsyncIterator[None]:
        """Collect what is enqueued on `conn` and write it in three statements when the block ends without an
        error (the ids, the rows, the relay's wake-up) instead of three per enqueue. The order is kept. Nothing
        inside the block may read the outbox table: nobody does, it is the relay's."""
        key = id(conn)
        if key in self._pending:  # nested: the outer block writes
            yield
            return
        self._pending[key] = []
        try:
            yield
            messages = self._pending[key]
            del self._pending[key]
            await self._write(conn, messages)
        finally:
            self._pending.pop(key, None)

    async def _write(self, conn: Conn, messages: Sequence[Outgoing]) -> None:
        if not messages:
            return
        seqs = await conn.fetch("SELECT nextval('outbox_id_seq') AS id FROM generate_series(1, $1)", len(messages))
        now = self.clock.now()
        rows = []
        for seq, m in zip(seqs, messages, strict=True):
            msgid = platform_msgid(self.service, seq["id"], now)
            envelope = {
                "msgid": msgid,
                "type": m.type,
                "sender": PLATFORM_SENDER,
                "sent_at": wire_time(now),
                "body": m.body,
            }
            value = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
            headers = {**m.headers, "type": m.type, "msgid": msgid, "producer": self.service}  # never overridden
            if m.correlation_id:
                headers["correlation_id"] = m.correlation_id
            if self.signer is not None and m.topic.startswith(PROVINCE_TOPIC_PREFIX):
                headers.update(self.signer.headers(value, envelope))
            rows.append((seq["id"], msgid, m.topic, m.key, m.type, value, headers))
        # one statement for the rows and the relay's wake-up, whatever their number
        columns = list(zip(*rows, strict=True))
        await conn.execute(
            """WITH written AS (
                   INSERT INTO outbox (id, msgid, topic, key, type, value, headers)
                   SELECT id, msgid, topic, key, type, value, headers::jsonb
                   FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::text[])
                        AS r(id, msgid, topic, key, type, value, headers)
                   RETURNING 1)
               SELECT pg_notify($8, '') WHERE EXISTS (SELECT FROM written)""",
            *columns[:6],
            [json.dumps(h, ensure_ascii=False) for h in columns[6]],
            notify_channel(self.schema),
        )


# Errors after which a row can never be published, whatever is retried; anything else is retried.
PERMANENT_SEND_ERRORS: tuple[type[BaseException], ...] = (
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.RecordTooLargeError,
    kafka_errors.RecordListTooLargeError,
    kafka_errors.InvalidTopicError,
    kafka_errors.TopicAuthorizationFailedError,
    kafka_errors.UnsupportedForMessageFormatError,
)


class OutboxRelay:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool[Any],
        listen_conn_factory: Callable[[], Awaitable[Conn]],
        schema: str,
        send: SendFn,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        exit_before_publish: bool = False,
    ) -> None:
        self._pool = pool
        self._listen_conn_factory = listen_conn_factory
        self._schema = schema
        self._send = send
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._exit_before_publish = exit_before_publish
        self._lock_key = int.from_bytes(
            hashlib.sha256(f"outbox-relay:{schema}".encode()).digest()[:8], "big", signed=True
        )
        self.published = 0
        # Test hook: called after the broker acked a batch and before the rows are marked.
        self.after_publish_hook: Callable[[], Awaitable[None]] | None = None

    def wake(self, *_: Any) -> None:
        self._wake.set()

    async def flush_once(self) -> int:
        """Publish one batch of unpublished rows; returns how many rows it settled.

        The batch's transaction holds an advisory lock, so one relay publishes a schema at a time,
        in id order, even with several replicas; the lock goes with the transaction, never stale.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", self._lock_key):
                return 0  # another relay is publishing this schema right now
            rows = await conn.fetch(
                """SELECT id, msgid, topic, key, value, headers FROM outbox
                   WHERE published_at IS NULL AND failed_at IS NULL ORDER BY id LIMIT $1""",
                self._batch_size,
            )
            if not rows:
                return 0
            if self._exit_before_publish:
                log.warning("fault_injected_exit_before_publish", rows=len(rows))
                os._exit(70)
            published, failed = await self._publish(rows)
            if self.after_publish_hook is not None:
                await self.after_publish_hook()
            await conn.execute("UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", published)
            for row_id, failure in failed:
                await conn.execute("UPDATE outbox SET failed_at = now(), failure = $2 WHERE id = $1", row_id, failure)
        self.published += len(published)
        done = set(published)
        metrics.observe_published(
            [(r["topic"], r["headers"].get("type", "unknown"), bytes(r["value"])) for r in rows if r["id"] in done]
        )
        return len(rows)

    async def _publish(self, rows: Sequence[Any]) -> tuple[list[int], list[tuple[int, str]]]:
        try:
            # Events first, acknowledged, then the rest: when a province reads an answer, every event written
            # with it (or before it) is already in its stream, so a follower that catches up with the stream's
            # end has applied them (read-your-writes, ADR 0012).
            for part in _events_first(rows):
                futures = [await self._send_row(r) for r in part]
                await asyncio.gather(*futures)
            return [r["id"] for r in rows], []
        except PERMANENT_SEND_ERRORS:
            pass
        # One row the broker will never take: find it, set it aside, publish the others (in order).
        published: list[int] = []
        failed: list[tuple[int, str]] = []
        for r in (row for part in _events_first(rows) for row in part):
            try:
                await (await self._send_row(r))
                published.append(r["id"])
            except PERMANENT_SEND_ERRORS as exc:
                failed.append((r["id"], repr(exc)))
                log.error(
                    "outbox_row_unpublishable",
                    msgid=r["msgid"],
                    topic=r["topic"],
                    error=repr(exc),
                    size=len(r["value"]),
                )
        return published, failed

    async def _send_row(self, r: Any) -> asyncio.Future[Any]:
        return await self._send(r["topic"], r["key"].encode(), bytes(r["value"]), dict(r["headers"]))

    async def run(self) -> None:
        while True:
            try:
                conn = await self._listen_conn_factory()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("outbox_relay_cannot_connect", error=str(exc))
                await asyncio.sleep(self._poll_seconds)
                continue
            try:
                await conn.add_listener(notify_channel(self._schema), self.wake)
                log.info("outbox_relay_started", schema=self._schema)
                while not conn.is_closed():
                    self._wake.clear()
                    n = await self.flush_once()
                    if n >= self._batch_size:
                        continue
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=self._poll_seconds)
                log.warning("outbox_relay_listen_connection_lost", schema=self._schema)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - broker or database trouble: rows stay unpublished, retried
                log.warning("outbox_relay_error", error=repr(exc))
                await asyncio.sleep(self._poll_seconds)
            finally:
                try:
                    await asyncio.wait_for(conn.close(), timeout=5)
                except Exception:  # noqa: BLE001 - closing a broken connection may fail too
                    conn.terminate()
