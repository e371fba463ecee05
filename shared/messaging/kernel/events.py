"""The stages of another service's event stream: the same guarantees as ingress (tracking records, retries, dead
letters) but nobody to answer. A platform msgid seen before is skipped (the relay may publish a row twice); what
cannot be applied goes to `<topic>.<service>.dlq`, with the failure handler of its type (a compensation)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import BaseModel

from shared.clock import BusinessClock
from shared.contracts.envelope import Envelope, RawEnvelope
from shared.contracts.reasons import ReasonCode
from shared.db.pool import Conn
from shared.logging import get_logger
from shared.messaging.hostile import clean_text, parse, sanitize
from shared.messaging.kernel.classify import EventClassifier
from shared.messaging.kernel.dead_letter import DeadLetters
from shared.messaging.kernel.dispatch import MessageContext
from shared.messaging.kernel.inbox import Scope, remember_event
from shared.messaging.kernel.position import Tracking
from shared.messaging.kernel.records import Classified, ConsumerRecord, Invalid, Outcome, Parsed, describe, safe_key
from shared.messaging.messages import Outgoing
from shared.messaging.outbox import Outbox

log = get_logger(__name__)

EventHandler = tuple[type[BaseModel], Callable[[MessageContext, Envelope[Any]], Awaitable[list[Outgoing]]]]
"""(the event's model, a function that applies it and returns what to publish)."""

SetHandler = Callable[[Conn, Sequence[Envelope[Any]]], Awaitable[None]]
"""Applies a transaction's events of one idempotent type at once."""


@dataclass(frozen=True)
class FailureHandler:
    """What to do (besides the dead letter) when an event cannot be applied, whether its body could not be read
    or its handler kept failing: e.g. the wallet tells the payment service a payment was refused
    PROCESSING_FAILED, so the province still gets its one answer.

    `identity` is the few fields the compensation needs, read on their own (the envelope's body may be unfit as
    a whole); `run` gets the envelope with that as its body. `settles`: the compensation ends the event for good
    (remembered in the inbox: a replay of the dead letter is skipped), or only makes things safe until an
    operator replays the dead letter, which then applies the event (a quota return)."""

    identity: type[BaseModel]
    run: Callable[[MessageContext, Envelope[Any]], Awaitable[list[Outgoing]]]
    settles: bool = True


class EventStages:
    def __init__(
        self,
        *,
        service: str,
        topic: str,
        outbox: Outbox,
        clock: BusinessClock,
        event_handlers: Mapping[str, EventHandler],
        failure_handlers: Mapping[str, FailureHandler] | None = None,
        idempotent: frozenset[str] = frozenset(),
        set_handlers: Mapping[str, SetHandler] | None = None,
    ) -> None:
        self.service = service
        self.topic = topic
        self.source_topic = topic
        self.consumer = f"{service}.{topic}"
        self.outbox = outbox
        self.clock = clock
        self.dead_letters = DeadLetters(self.consumer, f"{topic}.{service}.dlq")
        self.handlers = {t: run for t, (_model, run) in event_handlers.items()}
        self.classify = EventClassifier({t: model for t, (model, _run) in event_handlers.items()})
        self.idempotent = idempotent
        """Event types whose handler, applied twice, has the effect of once: no inbox row, no log line each."""
        self.set_handlers = {t: h for t, h in (set_handlers or {}).items() if t in idempotent}
        """Idempotent types applied once per transaction for all of its records of that type (in their order), at the
        transaction's end, instead of one handler call each. They return no messages. A failure goes, as any other
        at the end of a batch, one record at a time: then the set is the one record."""
        self.failure_handlers = dict(failure_handlers or {})

    def needs_transaction(self, classified: Sequence[Classified]) -> bool:
        # Every record is tracked, needed here or not: a follower has caught up with its stream only when its
        # tracking record reaches the stream's end, whatever the last records were (ADR 0012).
        return bool(classified)

    def waits_for_followers(self, found: Classified) -> bool:
        """An event applied here is judged on this service's copies of other streams, as a request is: a follower
        given a catch-up (the wallet's of payment events waits for its relationship follower, ADR 0012) waits."""
        return isinstance(found, Parsed)

    def label(self, found: Classified) -> str:
        type_name = found.type if isinstance(found, Invalid) else found.envelope.type if found else None
        return type_name if type_name in self.handlers else "other"

    @contextlib.asynccontextmanager
    async def scope(self, conn: Conn, classified: Sequence[Classified]) -> AsyncIterator[Scope]:
        async with self.outbox.buffered(conn):
            scope = Scope(conn, Tracking(self.consumer))
            yield scope
            for type_, handler in self.set_handlers.items():
                envs = [e for e in scope.deferred if e.type == type_]
                if envs:
                    await handler(conn, envs)
            await scope.end.flush(conn)

    async def apply(self, scope: Scope, record: ConsumerRecord, found: Classified) -> Outcome:
        if not await scope.tracking.claim(scope.conn, record):
            return Outcome.REDELIVERED
        if found is None:
            return Outcome.NOT_MINE  # not needed here, but tracked all the same (`needs_transaction`)
        if isinstance(found, Invalid):
            log.warning("event_invalid", topic=record.topic, offset=record.offset, reason=found.reason)
            dlq = self.dead_letters.of(record, found.code, found.reason, None, found.msgid, found.type, 1)
            await self.outbox.enqueue(scope.conn, [dlq])
            await self._compensate(scope, record)
            return Outcome.DEAD_LETTERED
        env = found.envelope
        if env.type in self.set_handlers:
            scope.deferred.append(env)
            return Outcome.PROCESSED
        if env.type in self.idempotent:
            await self.outbox.enqueue(scope.conn, await self.handlers[env.type](self._context(scope, record), env))
            return Outcome.PROCESSED
        if not await remember_event(scope.conn, record, env, "completed"):
            return Outcome.REPEAT
        with structlog.contextvars.bound_contextvars(msgid=env.msgid, correlation_id=env.msgid, type=env.type):
            messages = await self.handlers[env.type](self._context(scope, record), env)
            await self.outbox.enqueue(scope.conn, messages)
            log.debug("event_applied", published=len(messages))
        return Outcome.PROCESSED

    async def after_failure(
        self, scope: Scope, record: ConsumerRecord, env: Envelope[Any], attempts: int, error: str
    ) -> None:
        reason = f"handler failed {attempts} times"
        dlq = self.dead_letters.of(
            record, ReasonCode.PROCESSING_FAILED, reason, env.sender, env.msgid, env.type, attempts, error
        )
        await self.outbox.enqueue(scope.conn, [dlq])
        await self._compensate(scope, record)

    async def _compensate(self, scope: Scope, record: ConsumerRecord) -> None:
        """The failure handler of a dead-lettered event, on the identity fields read from its body alone. When even
        those cannot be read, nobody can be told: logged for operators (the dead letter has the record)."""
        try:
            data, problem = parse(record.value or b"")
            raw = RawEnvelope.model_validate(data if problem is None else sanitize(data))
        except Exception:  # noqa: BLE001 - no envelope: no type, no failure handler
            return
        on_failure = self.failure_handlers.get(raw.type)
        if on_failure is None:
            return
        try:
            identity = on_failure.identity.model_validate(raw.body)
        except Exception as exc:  # noqa: BLE001 - content: reported, never raised
            log.error(
                "event_failure_unanswerable",
                topic=record.topic,
                offset=record.offset,
                msgid=clean_text(raw.msgid, 40),
                type=raw.type,
                reason=describe(exc),
            )
            return
        env = Envelope[Any](msgid=raw.msgid, type=raw.type, sender=raw.sender, sent_at=raw.sent_at, body=identity)
        if on_failure.settles and not await remember_event(scope.conn, record, env, "rejected"):
            return
        await self.outbox.enqueue(scope.conn, await on_failure.run(self._context(scope, record), env))

    def _context(self, scope: Scope, record: ConsumerRecord) -> MessageContext:
        key = safe_key(record.key) or ""
        return MessageContext(conn=scope.conn, clock=self.clock, service=self.service, record_key=key, end=scope.end)
