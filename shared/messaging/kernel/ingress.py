"""The stages of an ingress topic: one service's requests, each answered exactly once.

Per record, in its batch's transaction: its position (a redelivery does nothing again), its classification
(signed by its sender, fit, this service's), a refusal of what it is, or a repeat answered as before, or the sender
policy and its handler; then its answer in the inbox and the outbox."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import structlog

from shared.clock import BusinessClock
from shared.contracts.province import INGRESS
from shared.contracts.topics import dlq_topic
from shared.db.pool import Conn
from shared.logging import get_logger
from shared.messaging.kernel.answers import Answers
from shared.messaging.kernel.classify import IngressClassifier, judged_on_claims
from shared.messaging.kernel.dead_letter import DeadLetters
from shared.messaging.kernel.dispatch import Dispatch, Handler, answer_key
from shared.messaging.kernel.inbox import InboxLookups, Scope
from shared.messaging.kernel.position import Tracking
from shared.messaging.kernel.records import Classified, ConsumerRecord, Invalid, Outcome, Parsed
from shared.messaging.outbox import Outbox
from shared.signing import EnvelopeVerifier

log = get_logger(__name__)


class IngressStages:
    def __init__(
        self,
        *,
        service: str,
        topic: str,
        outbox: Outbox,
        clock: BusinessClock,
        handlers: Mapping[str, Handler],
        source_topic: str | None = None,
        signatures: EnvelopeVerifier | None = None,
        national_operators: frozenset[str] = frozenset(),
    ) -> None:
        for type_name in handlers:
            spec = INGRESS.get(type_name)
            if spec is None or spec.owner != service or spec.topic != topic:
                raise ValueError(f"{service} cannot answer {type_name} on {topic}: see shared/contracts/province.py")
        self.service = service
        self.topic = topic
        self.source_topic = source_topic or topic
        self.consumer = f"{service}.{self.source_topic}"
        self.outbox = outbox
        self.classify = IngressClassifier(service, topic, clock, signatures)
        self.dead_letters = DeadLetters(self.consumer, dlq_topic(self.source_topic))
        self.dispatch = Dispatch(service, clock, handlers, national_operators)
        self.answers = Answers(service, clock, outbox, self.dead_letters)

    def secure(self, signatures: EnvelopeVerifier, national_operators: frozenset[str]) -> None:
        """Set by the composition root once the key registry is read: every record must be signed by its sender
        (docs/signing.md), and a national operator's codes send only their own types (ADR 0016)."""
        self.classify.signatures = signatures
        self.dispatch.national_operators = national_operators

    @property
    def national_operators(self) -> frozenset[str]:
        return self.dispatch.national_operators

    def needs_transaction(self, classified: Sequence[Classified]) -> bool:
        return any(c is not None for c in classified)

    def waits_for_followers(self, found: Classified) -> bool:
        return judged_on_claims(found)

    def label(self, found: Classified) -> str:
        type_name = found.envelope.type if isinstance(found, Parsed) else found.type if found else None
        return type_name if type_name in self.dispatch.handlers else "other"

    @contextlib.asynccontextmanager
    async def scope(self, conn: Conn, classified: Sequence[Classified]) -> AsyncIterator[Scope]:
        """The batch's msgids looked up at once, and its outbox rows written at once, at its end."""
        keys = []
        for c in classified:
            if isinstance(c, Parsed):
                keys.append((c.envelope.sender, c.envelope.msgid))
            elif isinstance(c, Invalid) and c.sender is not None and c.msgid is not None:
                keys.append((c.sender, c.msgid))
        lookups = await InboxLookups.load(conn, keys)
        async with self.outbox.buffered(conn):
            scope = Scope(conn, Tracking(self.consumer), lookups)
            yield scope
            await scope.end.flush(conn)

    async def apply(self, scope: Scope, record: ConsumerRecord, found: Classified) -> Outcome:
        if found is None:
            return Outcome.NOT_MINE
        if not await scope.tracking.claim(scope.conn, record):
            log.info("message_redelivered", topic=record.topic, partition=record.partition, offset=record.offset)
            return Outcome.REDELIVERED
        if isinstance(found, Invalid):
            return await self.answers.reject_invalid(scope, record, found)
        env = found.envelope
        with structlog.contextvars.bound_contextvars(
            msgid=env.msgid, correlation_id=env.msgid, sender=env.sender, type=env.type
        ):
            if await self.answers.repeat(scope, env.sender, env.msgid):
                return Outcome.REPEAT
            key = answer_key(env, self.national_operators)
            decision = await self.dispatch.decide(scope, env, key)
            await self.answers.record(scope, record, env.sender, env.msgid, env.type, decision, key)
            log.debug("message_processed", status=decision.status, reason_code=decision.reason_code, **decision.ids)
            scope.decided = decision.status
            return Outcome.PROCESSED

    async def after_failure(self, scope: Scope, record: ConsumerRecord, env: Any, attempts: int, error: str) -> None:
        await self.answers.reject_after_failure(scope, record, env, attempts, error, self.national_operators)
