"""The ingress consumer kernel: one Kafka record in, one committed PostgreSQL transaction out.

For each record, in ONE transaction:
  1. tracking record (consumer, topic, partition) -> a record at or below the stored offset is a
     redelivery whose effects are already committed: nothing happens again;
  2. parse the envelope and body; unreadable input -> DLQ record and, when the sender and msgid can
     be read, a `rejected` INVALID_MESSAGE result;
  3. inbox (sender, msgid) -> a repeat from the province gets the stored result again, no effect;
  4. the handler changes state and decides a result and messages;
  5. inbox row with the result, outbox rows (result + events + notifications).
Records of one partition are taken in micro-batches, one transaction for the batch where nothing fails
(`process_batch`, ADR 0018). The caller commits the Kafka offset only after this returns.
A handler that keeps failing is
retried `poison_attempts` times, then dead-lettered with its reason (and the sender rejected
PROCESSING_FAILED) in a fresh transaction; infrastructure errors (database down, deadlock) are
retried without limit: the partition waits, nothing is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

import asyncpg
import structlog
from pydantic import BaseModel, ValidationError

from shared.clock import BusinessClock
from shared.contracts.envelope import Envelope, RawEnvelope
from shared.contracts.province import INGRESS, TOPIC_PRIMARY, RequestResult
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import dlq_topic, province_of, province_topic
from shared.db.pool import Conn
from shared.identity import redact, redact_text
from shared.logging import get_logger
from shared.messaging.catch_up import CatchUp
from shared.messaging.hostile import clean_text, parse, sanitize
from shared.messaging.inbox import InboxLookups
from shared.messaging.messages import Decision, Outgoing
from shared.messaging.msgids import claim, claimed_elsewhere
from shared.messaging.outbox import Outbox
from shared.messaging.tracking import Tracking
from shared.observability import metrics
from shared.signing import HEADER_KEY_ID, EnvelopeVerifier, Verdict

log = get_logger(__name__)


NATIONAL_OPERATOR_TYPES: tuple[str, ...] = (
    "clearing.close-requested",
    "wallet.freeze-requested",
    "wallet.unfreeze-requested",
)
"""What a national operator's sender code may send (MEDAID_NATIONAL_OPERATORS); anything else from it is refused
SENDER_NOT_ALLOWED before any handler, so the code never acts as the province it lies in."""


class ConsumerRecord(Protocol):
    """What the kernel needs of a Kafka record (aiokafka's ConsumerRecord has it)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int


@dataclass
class MessageContext:
    """What a handler gets besides the message: its transaction's connection and the business clock."""

    conn: Conn
    clock: BusinessClock
    service: str
    record_key: str


Handler = Callable[[MessageContext, Envelope[Any]], Awaitable[Decision]]


class Outcome(StrEnum):
    PROCESSED = "processed"
    REPEAT = "repeat"
    REDELIVERED = "redelivered"
    NOT_MINE = "not_mine"
    DEAD_LETTERED = "dead_lettered"


@dataclass
class _Invalid:
    reason: str
    sender: str | None = None
    msgid: str | None = None
    type: str | None = None
    code: ReasonCode = ReasonCode.INVALID_MESSAGE
    unsigned: Verdict | None = None
    """Not signed by its claimed sender (docs/signing.md): nobody wrote it that the platform knows, so it is answered
    to no province (ADR 0023), only dead-lettered as a digest; a late copy of an answered msgid is answered again."""

    @property
    def authenticated(self) -> bool:
        """Its writer is known: its claimed sender signed it (judged on its content alone). Otherwise it is
        dead-lettered as a bounded digest, whoever wrote it (ADR 0023)."""
        return self.unsigned is None and self.sender is not None


@dataclass
class _Parsed:
    envelope: Envelope[Any]


class _RecordFailedError(Exception):
    """A record of a batch failed for a reason of its own; the batch's transaction was rolled back."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(f"record {index} of the batch failed: {error!r}")
        self.index = index
        self.error = error


_TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57", "58")
_NOT_TRANSIENT_SQLSTATES = ("57014",)  # query_canceled (a statement timeout): the message's work, not the server


def is_transient(exc: BaseException) -> bool:
    """Errors of the infrastructure, not of the message: retry without limit, never dead-letter."""
    if isinstance(exc, asyncpg.exceptions.InvalidCachedStatementError):
        return True  # a migration changed a table under a prepared statement: the retry re-prepares
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", "") or ""
        return state[:2] in _TRANSIENT_SQLSTATE_CLASSES and state not in _NOT_TRANSIENT_SQLSTATES
    if isinstance(exc, asyncpg.exceptions._base.DataError):  # client-side: a bad argument, the message's fault
        return False
    return isinstance(
        exc,
        (
            OSError,
            ConnectionError,
            TimeoutError,
            asyncpg.InterfaceError,
            asyncpg.exceptions.ConnectionDoesNotExistError,
        ),
    )


# What may be stored and echoed back of an unreadable message's identity.
_SAFE_MSGID = re.compile(r"^[\x21-\x7e]{1,30}$")  # as the envelope's MsgId
_SAFE_TYPE = re.compile(r"^[a-z][a-z0-9.-]{0,59}$")
# The largest original payload a DLQ record carries; larger ones are cut (the record says so).
DLQ_PAYLOAD_LIMIT = 64 * 1024
# What a digest (the dead letter of a record no sender is known to have written, ADR 0023) keeps of the value:
# its first characters, masked.
DIGEST_HEAD = 1024


class IngressConsumer:
    """Processes records of one ingress topic for one service."""

    def __init__(
        self,
        *,
        service: str,
        topic: str,
        pool: asyncpg.Pool[Any],
        outbox: Outbox,
        clock: BusinessClock,
        handlers: Mapping[str, Handler],
        poison_attempts: int = 3,
        retry_backoff_seconds: float = 0.2,
        source_topic: str | None = None,
        signatures: EnvelopeVerifier | None = None,
    ) -> None:
        self.service = service
        self.signatures = signatures
        """Verifies each record's signature (docs/signing.md). The composition root always sets it; only tests of
        other parts of the kernel build a consumer without."""
        self.topic = topic
        # The Kafka topic actually read: the contract's topic, or a private copy in tests.
        self.source_topic = source_topic or topic
        self.consumer = f"{service}.{self.source_topic}"
        self.is_primary = TOPIC_PRIMARY.get(topic) == service
        self.pool = pool
        self.outbox = outbox
        self.clock = clock
        self.handlers = dict(handlers)
        self.poison_attempts = poison_attempts
        self.backoff = retry_backoff_seconds
        self.catch_up: CatchUp | None = None
        """Set by the composition root: wait for this service's followers before judging (ADR 0012)."""
        self._lookups: dict[int, InboxLookups] = {}
        self._decided: dict[int, str] = {}
        """Per transaction in progress: the status of the answer its last record got (for the metrics' outcome)."""
        """Per transaction in progress (by its connection): what `_batched` looked up for its records."""
        self.national_operators: frozenset[str] = frozenset()
        """Set by the composition root: sender codes that send only NATIONAL_OPERATOR_TYPES (ADR 0016). Their codes
        lie inside a province, and must not act as that province's systems."""
        self._check_handlers()

    def _check_handlers(self) -> None:
        for type_name in self.handlers:
            spec = INGRESS.get(type_name)
            if spec is None or spec.owner != self.service or spec.topic != self.topic:
                raise ValueError(
                    f"{self.service} cannot answer {type_name} on {self.topic}: see shared/contracts/province.py"
                )

    def _dlq_of(self, topic: str) -> str:
        return dlq_topic(topic)

    # -- classification (pure) ----------------------------------------------------------

    def _classify(self, record: ConsumerRecord) -> _Parsed | _Invalid | None:
        """None = another service answers this record. Total: whatever the bytes, it returns."""
        try:
            found = self._classify_content(record)
            return found if found is None or self.signatures is None else self._signed(record, found)
        except Exception as exc:  # noqa: BLE001 - content must never escape classification (issue 10)
            reason = clean_text(f"unreadable: {type(exc).__name__}: {exc}", 300)
            log.error("classification_failed", topic=record.topic, offset=record.offset, error=reason)
            return _Invalid(reason)  # every consumer of the topic dead-letters it: never dropped unseen

    def _classify_content(self, record: ConsumerRecord) -> _Parsed | _Invalid | None:
        data, problem = parse(record.value or b"")
        if data is None:
            return _Invalid(f"value is {problem}") if self.is_primary else None
        if not isinstance(data, dict):
            return _Invalid("value is not a JSON object") if self.is_primary else None
        sender = data.get("sender") if isinstance(data.get("sender"), str) else None
        msgid = data.get("msgid") if isinstance(data.get("msgid"), str) else None
        type_name = data.get("type") if isinstance(data.get("type"), str) else None
        if sender is not None:
            try:
                province_of(sender)
            except ValueError:
                sender = None
        if msgid is not None and not _SAFE_MSGID.fullmatch(msgid):
            msgid = None  # control characters or odd lengths are not echoed back or stored
        if type_name is not None and not _SAFE_TYPE.fullmatch(type_name):
            type_name = None
        spec = INGRESS.get(type_name or "")
        if spec is None or spec.topic != self.topic:
            if not self.is_primary:
                return None
            if spec is not None:
                return _Invalid(
                    f"{type_name} is carried by {spec.topic}, not {self.topic}",
                    sender,
                    msgid,
                    type_name,
                    ReasonCode.WRONG_TOPIC,
                )
            return _Invalid(
                f"unknown message type {type_name!r}" if type_name else "missing or unreadable message type",
                sender,
                msgid,
                type_name,
            )
        if spec.owner != self.service:
            return None
        if problem is not None:  # unfit to process or store, but its sender can be answered
            return _Invalid(f"value is {problem}", sender, msgid, type_name)
        try:
            raw = RawEnvelope.model_validate(data)
            province_of(raw.sender)
            body = spec.body.model_validate(raw.body)
        except (ValidationError, ValueError) as exc:
            return _Invalid(_describe(exc), sender, msgid, type_name)
        return _Parsed(Envelope[Any](msgid=raw.msgid, type=raw.type, sender=raw.sender, sent_at=raw.sent_at, body=body))

    def _signed(self, record: ConsumerRecord, found: _Parsed | _Invalid) -> _Parsed | _Invalid:
        """A record this service would answer, as long as its claimed sender signed it; otherwise SIGNATURE_INVALID,
        judged before anything is stored for its msgid (so a forger cannot take a msgid from its owner) and answered
        to no province (ADR 0023). A record whose sender cannot be read is dead-lettered as it is: nobody to answer."""
        assert self.signatures is not None
        if isinstance(found, _Invalid):
            sender, msgid, type_name = found.sender, found.msgid, found.type
        else:
            env = found.envelope
            sender, msgid, type_name = env.sender, env.msgid, env.type
        if sender is None:
            return found
        data, _problem = parse(record.value or b"")
        headers = _text_headers(record)
        # The replay window is judged at the record's arrival on the broker (LogAppendTime, on the business clock),
        # not when it is processed: a backlog must not turn valid records into refusals.
        arrived = (
            datetime.fromtimestamp(record.timestamp / 1000, UTC) + timedelta(seconds=self.clock.offset_seconds)
            if 0 < record.timestamp < 32_503_680_000_000  # before year 3000: a broker's clock, else unusable
            else self.clock.now()
        )
        verdict = self.signatures.verdict(headers, data if isinstance(data, dict) else {}, record.value or b"", arrived)
        if verdict is Verdict.VALID:
            return found
        return _Invalid(
            f"signature: {verdict.value} (docs/signing.md)",
            sender,
            msgid,
            type_name,
            ReasonCode.SIGNATURE_INVALID,
            unsigned=verdict,
        )

    # -- the transaction ----------------------------------------------------------------

    async def process(self, record: ConsumerRecord, *, failed: Exception | None = None) -> Outcome:
        """Process one record until its effects are committed. Safe to call again for the same record.
        `failed`: the error of an attempt that already failed for a reason of the message (in a batch: ADR 0018)."""
        failures = 0  # non-transient ones: only these count towards dead-lettering
        transient = 0
        if failed is not None:
            failures = 1
            if failures >= self.poison_attempts:
                return await self._dead_letter_after_failure(record, failed, failures)
            await self._retry_later("message_retry", record, failures, failed, self.backoff)
        while True:
            try:
                return await self._process_once(record)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - classified below: transient, retried, or dead-lettered
                if is_transient(exc):
                    transient += 1
                    await self._retry_later(
                        "message_retry_transient",
                        record,
                        transient,
                        exc,
                        min(self.backoff * 2 ** min(transient, 5), 5.0),
                    )
                    continue
                failures += 1
                if failures >= self.poison_attempts:
                    return await self._dead_letter_after_failure(record, exc, failures)
                await self._retry_later("message_retry", record, failures, exc, self.backoff * 2 ** (failures - 1))

    @staticmethod
    async def _retry_later(event: str, record: ConsumerRecord, attempt: int, exc: Exception, delay: float) -> None:
        log.warning(
            event,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            attempt=attempt,
            error=redact_text(repr(exc)),
            retry_in=delay,
        )
        await asyncio.sleep(delay)

    async def _claim(self, conn: Conn, record: ConsumerRecord) -> bool:
        """Advance the tracking record in a transaction of this record alone; False when its effects are already
        committed."""
        tracking = Tracking(self.consumer)
        claimed = await tracking.claim(conn, record)
        await tracking.save(conn)
        return claimed

    async def process_batch(self, records: Sequence[ConsumerRecord]) -> list[Outcome]:
        """Process records of one partition, in order, in as few transactions as they allow (ADR 0018).

        The happy path is one transaction for the whole batch: one catch-up wait, one commit (one WAL flush). A
        record whose handler fails for a reason of its own rolls the batch back; the records before it are
        committed again as a batch, the record itself goes on alone through `process` (its retries and dead
        letter, this failure counting as its first attempt), and the records after it form the next batch. A
        failure of the infrastructure (the database away, a deadlock) sends the whole batch through `process`
        one record at a time, which retries without limit. Either way each record ends exactly as it would have
        alone: nothing is committed for a batch that did not commit."""
        outcomes: list[Outcome] = []
        pending = list(records)
        while pending:
            try:
                outcomes += await self._batch_once(pending)
                return outcomes
            except asyncio.CancelledError:
                raise
            except _RecordFailedError as failed:
                log.warning(
                    "batch_isolating_record",
                    topic=pending[failed.index].topic,
                    partition=pending[failed.index].partition,
                    offset=pending[failed.index].offset,
                    batch=len(pending),
                    error=redact_text(repr(failed.error)),
                )
                if failed.index:
                    outcomes += await self.process_batch(pending[: failed.index])
                outcomes.append(await self.process(pending[failed.index], failed=failed.error))
                pending = pending[failed.index + 1 :]
            except Exception as exc:  # noqa: BLE001 - the infrastructure, or the commit: one at a time, retried
                log.warning("batch_one_at_a_time", batch=len(pending), error=redact_text(repr(exc)))
                for record in pending:
                    outcomes.append(await self.process(record))
                return outcomes
        return outcomes

    async def _batch_once(self, records: Sequence[ConsumerRecord]) -> list[Outcome]:
        started = time.perf_counter()
        classified = [self._classify(record) for record in records]
        if any(_judged_on_claims(c) for c in classified) and self.catch_up is not None:
            await self.catch_up.wait()  # one wait covers every record: all of them had arrived before it began
        if not self._needs_transaction(classified):
            return [Outcome.NOT_MINE] * len(records)
        observed: list[tuple[str, str, float]] = []
        async with self.pool.acquire() as conn, conn.transaction(), self._batched(conn, classified):
            tracking = Tracking(self.consumer)
            outcomes = []
            for index, (record, found) in enumerate(zip(records, classified, strict=True)):
                try:
                    at = time.perf_counter()
                    outcomes.append(await self._in_transaction(conn, tracking, record, found))
                    self._observe(observed, conn, found, outcomes[-1], at)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    raise _RecordFailedError(index, exc) from exc
            await tracking.save(conn)
        metrics.observe_records(self.source_topic, self.consumer, observed)  # committed: observed once
        metrics.BATCH_DURATION.labels(self.source_topic, self.consumer).observe(time.perf_counter() - started)
        return outcomes

    def _observe(
        self,
        observed: list[tuple[str, str, float]],
        conn: Conn,
        found: _Parsed | _Invalid | None,
        outcome: Outcome,
        at: float,
    ) -> None:
        """A record's type, outcome and duration, kept until its transaction commits."""
        decided = self._decided.pop(id(conn), None)
        if found is None or outcome is Outcome.NOT_MINE:
            return
        type_name = found.envelope.type if isinstance(found, _Parsed) else found.type
        if type_name not in self.handlers and type_name not in self._followed_types():
            type_name = "other"  # a label never takes a sender's free text
        label = (decided or "applied") if outcome is Outcome.PROCESSED else outcome.value
        observed.append((type_name or "other", label, time.perf_counter() - at))

    def _followed_types(self) -> Mapping[str, Any]:
        return {}

    @contextlib.asynccontextmanager
    async def _batched(self, conn: Conn, classified: Sequence[_Parsed | _Invalid | None]) -> AsyncIterator[None]:
        """A transaction's look-ups done once (`InboxLookups`) and its outbox rows written once, at its end."""
        keys = self._msgid_keys(classified)
        self._lookups[id(conn)] = await InboxLookups.load(conn, keys) if keys else InboxLookups(set(), {})
        try:
            async with self.outbox.buffered(conn):
                yield
        finally:
            del self._lookups[id(conn)]

    def _msgid_keys(self, classified: Sequence[_Parsed | _Invalid | None]) -> list[tuple[str, str]]:
        keys = []
        for c in classified:
            if isinstance(c, _Parsed):
                keys.append((c.envelope.sender, c.envelope.msgid))
            elif isinstance(c, _Invalid) and c.sender is not None and c.msgid is not None:
                keys.append((c.sender, c.msgid))
        return keys

    def _needs_transaction(self, classified: Sequence[_Parsed | _Invalid | None]) -> bool:
        return any(c is not None for c in classified)

    async def _process_once(self, record: ConsumerRecord) -> Outcome:
        classified = self._classify(record)
        if not self._needs_transaction([classified]):
            return Outcome.NOT_MINE
        if _judged_on_claims(classified) and self.catch_up is not None:
            await self.catch_up.wait()  # judged on copies as new as any answer its sender could have seen
        observed: list[tuple[str, str, float]] = []
        async with self.pool.acquire() as conn, conn.transaction(), self._batched(conn, [classified]):
            tracking = Tracking(self.consumer)
            at = time.perf_counter()
            outcome = await self._in_transaction(conn, tracking, record, classified)
            self._observe(observed, conn, classified, outcome, at)
            await tracking.save(conn)
        metrics.observe_records(self.source_topic, self.consumer, observed)
        return outcome

    async def _in_transaction(
        self, conn: Conn, tracking: Tracking, record: ConsumerRecord, classified: _Parsed | _Invalid | None
    ) -> Outcome:
        """One record's work inside the caller's transaction (its own, or its batch's)."""
        if classified is None:
            return Outcome.NOT_MINE
        if not await tracking.claim(conn, record):
            log.info("message_redelivered", topic=record.topic, partition=record.partition, offset=record.offset)
            return Outcome.REDELIVERED
        if isinstance(classified, _Invalid):
            return await self._reject_invalid(conn, record, classified)
        env = classified.envelope
        with structlog.contextvars.bound_contextvars(
            msgid=env.msgid, correlation_id=env.msgid, sender=env.sender, type=env.type
        ):
            if await self._answer_repeat(conn, env.sender, env.msgid):
                return Outcome.REPEAT
            # a national operator's answers land on the topic of the province its code lies in: keyed by its
            # own code, they name no person there
            key = env.sender if env.sender in self.national_operators else _key_of(env)
            ctx = MessageContext(conn=conn, clock=self.clock, service=self.service, record_key=key)
            lookups = self._lookups.get(id(conn))
            elsewhere = (
                lookups.claimed_elsewhere(env.sender, env.msgid)
                if lookups is not None
                else await claimed_elsewhere(conn, env.sender, env.msgid)
            )
            if elsewhere is not None:  # ADR 0013: one msgid per sender, platform-wide
                decision = Decision.rejected(
                    ReasonCode.MSGID_REUSED,
                    f"msgid {env.msgid} was already used by this sender for {elsewhere[1]}; use a new msgid",
                )
            elif env.sender in self.national_operators and env.type not in NATIONAL_OPERATOR_TYPES:
                decision = Decision.rejected(
                    ReasonCode.SENDER_NOT_ALLOWED,
                    f"{env.sender} is the national operator's: it sends only {', '.join(NATIONAL_OPERATOR_TYPES)}",
                )
            else:
                decision = await self.handlers.get(env.type, _not_supported_yet)(ctx, env)
            await self._record_result(conn, record, env.sender, env.msgid, env.type, decision, ctx.record_key)
            log.info("message_processed", status=decision.status, reason_code=decision.reason_code, **decision.ids)
            self._decided[id(conn)] = decision.status
            return Outcome.PROCESSED

    async def _answer_repeat(self, conn: Conn, sender: str, msgid: str) -> bool:
        lookups = self._lookups.get(id(conn))
        if lookups is not None and not lookups.may_be_answered(sender, msgid):
            return False  # the transaction's look-up found no inbox row for it, and it wrote none
        row = await conn.fetchrow(
            """UPDATE inbox SET repeats = repeats + 1, last_repeat_at = now()
               WHERE sender=$1 AND msgid=$2 RETURNING type, result, repeats""",
            sender,
            msgid,
        )
        if row is None:
            return False
        result = row["result"]
        if result.get("status") == "deferred":
            log.info("message_repeat_while_deferred", repeats=row["repeats"])
            return True  # the one answer comes when the saga decides
        await self.outbox.enqueue(
            conn,
            [
                Outgoing(
                    province_topic(sender),
                    result.pop("_key"),
                    "request.result",
                    result,
                    correlation_id=msgid,
                    headers={"repeat": str(row["repeats"])},
                )
            ],
        )
        log.info("message_repeat_answered", repeats=row["repeats"], status=result["status"])
        return True

    async def _record_result(
        self,
        conn: Conn,
        record: ConsumerRecord,
        sender: str,
        msgid: str,
        type_name: str,
        decision: Decision,
        key: str,
        extra: list[Outgoing] | None = None,
    ) -> None:
        claims = (
            []
            if decision.reason_code == ReasonCode.MSGID_REUSED
            else [claim(self.service, sender, msgid, type_name, self.clock.now())]
        )
        extra = [*claims, *(extra or [])]
        if decision.status == "deferred":
            await conn.execute(
                """INSERT INTO inbox (sender, msgid, type, status, result, topic, partition, "offset")
                   VALUES ($1, $2, $3, 'deferred', $4, $5, $6, $7)""",
                sender,
                msgid,
                type_name,
                {"status": "deferred", "_key": key},
                record.topic,
                record.partition,
                record.offset,
            )
            self._recorded(conn, sender, msgid)
            await self.outbox.enqueue(conn, [*decision.messages, *(extra or [])])
            return
        result = RequestResult(
            omsgid=msgid,
            otype=type_name,
            status=decision.status,
            reason_code=decision.reason_code,
            reason=decision.reason,
            **decision.ids,
        ).wire()
        await conn.execute(
            """INSERT INTO inbox (sender, msgid, type, status, reason_code, result, topic, partition, "offset")
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            sender,
            msgid,
            type_name,
            decision.status,
            decision.reason_code,
            {**result, "_key": key},
            record.topic,
            record.partition,
            record.offset,
        )
        self._recorded(conn, sender, msgid)
        notification = Outgoing(province_topic(sender), key, "request.result", result, correlation_id=msgid)
        await self.outbox.enqueue(conn, [notification, *decision.messages, *(extra or [])])

    def _recorded(self, conn: Conn, sender: str, msgid: str) -> None:
        lookups = self._lookups.get(id(conn))
        if lookups is not None:
            lookups.recorded(sender, msgid)

    def _dlq_record(
        self,
        record: ConsumerRecord,
        code: ReasonCode,
        reason: str,
        sender: str | None,
        msgid: str | None,
        type_name: str | None,
        attempts: int,
        error: str | None = None,
        minimal: bool = False,
        unverified: Verdict | None = None,
        digest_only: bool = False,
    ) -> Outgoing:
        """The record's dead letter. Total over the record's content; `minimal` keeps nothing of it but its
        size and hash (the last resort, when even a full record could not be written). `digest_only`: a record no
        sender is known to have written (its signature did not verify: `unverified`, or no sender to verify) keeps
        a digest of bounded size (ADR 0023), whatever its size: nobody's dead letter of 64 KiB costs a forger
        nothing but its writing."""
        raw = record.value or b""
        payload: Any
        digest = hashlib.sha256(raw).hexdigest()
        if digest_only and not minimal:
            key_id = _text_headers(record).get(HEADER_KEY_ID)
            payload = {
                "digest": True,
                "size": len(raw),
                "sha256": digest,
                "verdict": unverified.value if unverified is not None else None,
                "key_id": clean_text(key_id, 64) if key_id else None,
                "head": _masked_head(raw),
            }
        elif len(raw) > DLQ_PAYLOAD_LIMIT or minimal:
            head = None if minimal else clean_text(raw[:1024].decode("utf-8", errors="replace"), 1024, cut=True)
            payload = {"truncated": True, "size": len(raw), "sha256": digest, "head": head}
        else:
            data, problem = parse(raw)
            # as JSON, made safe to publish again where it is not (lone surrogates, NULs, depth, infinity), and
            # masked by field; as masked text only when it is not JSON at all
            if data is not None:
                payload = redact(data if problem is None else sanitize(data))
            else:
                payload = clean_text(raw.decode("utf-8", errors="replace"), 10**6)
        key = _safe_key(record.key)
        try:
            timestamp: str | int = datetime.fromtimestamp(record.timestamp / 1000, UTC).isoformat()
        except (ValueError, OverflowError, OSError):  # a producer's CreateTime is content too
            timestamp = record.timestamp
        body = {
            "source": {
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "key": key,
                "timestamp": timestamp,
                "sha256": digest,  # of the original record's value: a replay checks it is the same record
            },
            "consumer": self.consumer,
            "reason_code": code.value,
            "reason": clean_text(reason),
            "error": clean_text(error) if error and not minimal else None,
            "attempts": attempts,
            "sender": sender,
            "msgid": msgid,
            "type": type_name,
            "payload": payload,
        }
        dlq_key = key or msgid or f"{record.partition}:{record.offset}"
        return Outgoing(self._dlq_of(record.topic), dlq_key, "dlq.record", body, correlation_id=msgid)

    async def _reject_invalid(self, conn: Conn, record: ConsumerRecord, invalid: _Invalid) -> Outcome:
        """A record refused for what it is. An answer about a msgid goes to its sender's province only when that
        sender wrote it (ADR 0023): a record whose signature does not verify is dead-lettered as a digest and
        answered to nobody (operators see it: the DLQ, the console, a metric), except that a late copy of an answered
        msgid, signed by its sender, gets its original answer again (the contract's "a repeat gets the original
        result again")."""
        dlq = self._dlq_record(
            record,
            invalid.code,
            invalid.reason,
            invalid.sender,
            invalid.msgid,
            invalid.type,
            attempts=1,
            unverified=invalid.unsigned,
            digest_only=not invalid.authenticated,
        )
        log.warning(
            "message_invalid",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            msgid=invalid.msgid,
            sender=invalid.sender,
            reason=invalid.reason,
        )
        if invalid.sender is None or invalid.msgid is None:
            await self.outbox.enqueue(conn, [dlq])  # nobody to answer: operators see it in the DLQ
            return Outcome.DEAD_LETTERED
        if invalid.unsigned is not None:
            # Signed by its sender, only late (a replay, or a backlog before the broker): an answered msgid is
            # answered again as it was. Anything else is not known to be its sender's: nothing stored, no answer.
            if invalid.unsigned is Verdict.OUTSIDE_REPLAY_WINDOW and await self._answer_repeat(
                conn, invalid.sender, invalid.msgid
            ):
                return Outcome.REPEAT
            await self.outbox.enqueue(conn, [dlq])
            return Outcome.DEAD_LETTERED
        if invalid.code is ReasonCode.WRONG_TOPIC:
            # Signed by its sender, but signatures do not cover the topic: a copy of a msgid answered on its own topic
            # must get that answer (here) or none (another service's), never WRONG_TOPIC after it; and it is not
            # stored, so that it cannot take its msgid from the real one.
            if await self._answer_repeat(conn, invalid.sender, invalid.msgid):
                await self.outbox.enqueue(conn, [dlq])
                return Outcome.REPEAT
            lookups = self._lookups.get(id(conn))
            elsewhere = (
                lookups.claimed_elsewhere(invalid.sender, invalid.msgid)
                if lookups is not None
                else await claimed_elsewhere(conn, invalid.sender, invalid.msgid)
            )
            if elsewhere is not None:
                await self.outbox.enqueue(conn, [dlq])  # answered by the service that owns it: no second answer
                return Outcome.DEAD_LETTERED
            result = RequestResult(
                omsgid=invalid.msgid,
                otype=invalid.type or "unknown",
                status="rejected",
                reason_code=invalid.code,
                reason=clean_text(invalid.reason),
            ).wire()
            key = _safe_key(record.key) or invalid.sender
            answer = Outgoing(
                province_topic(invalid.sender), key, "request.result", result, correlation_id=invalid.msgid
            )
            await self.outbox.enqueue(conn, [answer, dlq])  # no inbox row, no msgid claim
            return Outcome.DEAD_LETTERED
        if await self._answer_repeat(conn, invalid.sender, invalid.msgid):
            await self.outbox.enqueue(conn, [dlq])
            return Outcome.DEAD_LETTERED
        decision = Decision.rejected(invalid.code, clean_text(invalid.reason))
        await self._record_result(
            conn,
            record,
            invalid.sender,
            invalid.msgid,
            invalid.type or "unknown",
            decision,
            _safe_key(record.key) or invalid.sender,
            extra=[dlq],
        )
        return Outcome.DEAD_LETTERED

    async def _dead_letter_after_failure(self, record: ConsumerRecord, exc: Exception, attempts: int) -> Outcome:
        """A message that keeps failing: DLQ with the reason and, when it can be answered, `rejected`.

        First the full path (rejection in the inbox + DLQ record). If even that fails for a reason of
        its own (not the database being away), a last-resort DLQ record without any of the message's
        identity fields, which no stored value can break. Nothing is ever skipped without a record.
        """
        classified = self._classify(record)
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        log.error(
            "message_dead_lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            attempts=attempts,
            error=redact_text(error),
        )
        own_failures = 0
        type_name = classified.envelope.type if isinstance(classified, _Parsed) else None
        if type_name not in self.handlers and type_name not in self._followed_types():
            type_name = "other"
        while True:
            try:
                at = time.perf_counter()
                async with self.pool.acquire() as conn, conn.transaction():
                    if not await self._claim(conn, record):
                        return Outcome.REDELIVERED
                    if own_failures < 2 and isinstance(classified, _Parsed):
                        await self._reject_after_failure(conn, record, classified.envelope, attempts, error)
                    else:
                        await self.outbox.enqueue(
                            conn,
                            [
                                self._dlq_record(
                                    record,
                                    ReasonCode.PROCESSING_FAILED,
                                    f"failed {attempts} times, and so did recording the failure",
                                    None,
                                    None,
                                    None,
                                    attempts,
                                    error,
                                    minimal=own_failures >= 3,  # then nothing of the record but its hash
                                )
                            ],
                        )
                observed = [(type_name or "other", Outcome.DEAD_LETTERED.value, time.perf_counter() - at)]
                metrics.observe_records(self.source_topic, self.consumer, observed)
                return Outcome.DEAD_LETTERED
            except asyncio.CancelledError:
                raise
            except Exception as again:  # noqa: BLE001 - wait for the database, or fall back; never skip
                if not is_transient(again):
                    own_failures += 1
                log.warning("dead_letter_retry", error=redact_text(repr(again)), own_failures=own_failures)
                await asyncio.sleep(min(self.backoff * 4, 5.0))

    def _failure_record(self, record: ConsumerRecord, env: Envelope[Any], attempts: int, error: str) -> Outgoing:
        reason = f"handler failed {attempts} times"
        return self._dlq_record(
            record, ReasonCode.PROCESSING_FAILED, reason, env.sender, env.msgid, env.type, attempts, error
        )

    async def _reject_after_failure(
        self, conn: Conn, record: ConsumerRecord, env: Envelope[Any], attempts: int, error: str
    ) -> None:
        dlq = self._failure_record(record, env, attempts, error)
        if await self._answer_repeat(conn, env.sender, env.msgid):
            await self.outbox.enqueue(conn, [dlq])
            return
        decision = Decision.rejected(
            ReasonCode.PROCESSING_FAILED, "the platform could not process this message; operators were alerted"
        )
        await self._record_result(conn, record, env.sender, env.msgid, env.type, decision, _key_of(env), extra=[dlq])


async def answer_deferred(conn: Conn, sender: str, msgid: str, decision: Decision) -> list[Outgoing]:
    """The answer to an ingress message whose handler deferred it: stored in the inbox (so a repeat gets it
    again) and returned with the decision's messages for the caller's outbox. Empty when it was answered."""
    if decision.status == "deferred":
        raise ValueError("an answer cannot be deferred again")
    row = await conn.fetchrow(
        "SELECT type, result FROM inbox WHERE sender = $1 AND msgid = $2 AND status = 'deferred' FOR UPDATE",
        sender,
        msgid,
    )
    if row is None:
        return []
    key = row["result"]["_key"]
    result = RequestResult(
        omsgid=msgid,
        otype=row["type"],
        status=decision.status,
        reason_code=decision.reason_code,
        reason=decision.reason,
        **decision.ids,
    ).wire()
    await conn.execute(
        "UPDATE inbox SET status = $3, reason_code = $4, result = $5 WHERE sender = $1 AND msgid = $2",
        sender,
        msgid,
        decision.status,
        decision.reason_code,
        {**result, "_key": key},
    )
    answer = Outgoing(province_topic(sender), key, "request.result", result, correlation_id=msgid)
    return [answer, *decision.messages]


async def _not_supported_yet(ctx: MessageContext, env: Envelope[Any]) -> Decision:
    return Decision.rejected(ReasonCode.NOT_SUPPORTED_YET, f"{env.type} is not processed by this platform release yet")


def _key_of(env: Envelope[Any]) -> str:
    spec = INGRESS[env.type]
    return str(getattr(env.body, spec.key_field, None) or env.sender)


def _judged_on_claims(found: _Parsed | _Invalid | None) -> bool:
    """A record judged on the followers' copies (ADR 0012): a request, or a signed record on the wrong topic (which
    must not be answered WRONG_TOPIC when another service answered its msgid)."""
    return isinstance(found, _Parsed) or (
        isinstance(found, _Invalid) and found.code is ReasonCode.WRONG_TOPIC and found.authenticated
    )


def _masked_head(raw: bytes) -> str:
    """The first DIGEST_HEAD characters of a value, personal data masked: by field when it is JSON (so no escaping
    hides an ID number from the masking), else by pattern."""
    data, problem = parse(raw)
    if data is not None:
        text = json.dumps(redact(data if problem is None else sanitize(data)), ensure_ascii=False)
    else:
        text = raw[: DIGEST_HEAD * 4].decode("utf-8", errors="replace")
    return _within_bytes(clean_text(text, DIGEST_HEAD), DIGEST_HEAD)


def _within_bytes(text: str, limit: int) -> str:
    """The longest start of `text` that takes at most `limit` bytes however it is written (UTF-8, or a JSON
    escape: an emoji is 4 bytes, or 12 as `\\ud83d\\ude00`), so a digest stays bounded in bytes."""
    kept, size = [], 0
    for char in text:
        size += max(len(char.encode("utf-8", errors="replace")), len(json.dumps(char)) - 2)
        if size > limit:
            break
        kept.append(char)
    return "".join(kept)


def _text_headers(record: ConsumerRecord) -> dict[str, str]:
    """A record's headers as text; a value that is not UTF-8 is left out (it cannot be a signature header)."""
    out: dict[str, str] = {}
    for name, value in getattr(record, "headers", None) or ():
        try:
            out[str(name)] = (value or b"").decode("utf-8")
        except (UnicodeDecodeError, AttributeError):
            continue
    return out


def _safe_key(key: bytes | None) -> str | None:
    """A record key fit to store and echo: decoded, ID numbers masked, bounded."""
    if not key or len(key) > 200:
        return None
    return clean_text(key.decode("utf-8", errors="replace"), 200)


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors(include_url=False, include_input=False):
            loc = ".".join(str(p) for p in err["loc"])
            parts.append(f"{loc}: {err['msg']}")
        return clean_text("; ".join(parts), 2000)
    return clean_text(str(exc), 2000)


EventHandler = tuple[type[BaseModel], Callable[[MessageContext, Envelope[Any]], Awaitable[list[Outgoing]]]]
"""(the event's model, a function that applies it and returns what to publish)."""


@dataclass(frozen=True)
class FailureHandler:
    """What to do (besides the DLQ record) when an event cannot be applied, whether its body could not be read
    or its handler kept failing: e.g. the wallet tells the payment service a payment was refused
    PROCESSING_FAILED, so the province still gets its one answer (issue 10).

    `identity` is the few fields the compensation needs, read on their own (the envelope's body may be unfit as
    a whole); `run` gets the envelope with that as its body. `settles`: the compensation ends the event for good
    (remembered in the inbox: a replay of the dead letter is skipped), or only makes things safe until an
    operator replays the dead letter, which then applies the event (a quota return)."""

    identity: type[BaseModel]
    run: Callable[[MessageContext, Envelope[Any]], Awaitable[list[Outgoing]]]
    settles: bool = True


SetHandler = Callable[[Conn, Sequence[Envelope[Any]]], Awaitable[None]]
"""Applies a transaction's events of one idempotent type at once (EventConsumer.set_handlers)."""


class EventConsumer(IngressConsumer):
    """Consumes another service's event stream with the same guarantees as ingress (tracking record,
    retries, dead letters) but nobody to answer: a platform msgid seen before is skipped (the relay
    may publish a row twice), and what cannot be processed goes to `<topic>.<service>.dlq`."""

    def __init__(
        self,
        *,
        service: str,
        topic: str,
        pool: asyncpg.Pool[Any],
        outbox: Outbox,
        clock: BusinessClock,
        event_handlers: Mapping[str, EventHandler],
        failure_handlers: Mapping[str, FailureHandler] | None = None,
        idempotent: frozenset[str] = frozenset(),
        set_handlers: Mapping[str, SetHandler] | None = None,
        poison_attempts: int = 3,
        retry_backoff_seconds: float = 0.2,
    ) -> None:
        self.event_handlers = dict(event_handlers)
        self.idempotent = idempotent
        """Event types whose handler, applied twice, has the effect of once: no inbox row, no log line each."""
        self.set_handlers = {t: h for t, h in (set_handlers or {}).items() if t in idempotent}
        """Idempotent types applied once per transaction for all of its records of that type (in their order), at the
        transaction's end, instead of one handler call each. They return no messages. A failure goes, as any other
        at the end of a batch, one record at a time: then the set is the one record."""
        self._deferred: dict[int, list[Envelope[Any]]] = {}
        self.failure_handlers = dict(failure_handlers or {})
        super().__init__(
            service=service,
            topic=topic,
            pool=pool,
            outbox=outbox,
            clock=clock,
            handlers={},
            poison_attempts=poison_attempts,
            retry_backoff_seconds=retry_backoff_seconds,
        )
        self.is_primary = False

    def _check_handlers(self) -> None:
        return None

    def _followed_types(self) -> Mapping[str, Any]:
        return self.event_handlers

    def _dlq_of(self, topic: str) -> str:
        return f"{topic}.{self.service}.dlq"

    def _classify(self, record: ConsumerRecord) -> _Parsed | _Invalid | None:
        try:
            data, problem = parse(record.value or b"")
            if problem is not None:
                return _Invalid(f"value is {problem}")
            raw = RawEnvelope.model_validate(data)  # an event nobody answers: unfit is enough to set it aside
        except Exception as exc:  # noqa: BLE001 - content must never escape classification (issue 10)
            return _Invalid(_describe(exc))
        handler = self.event_handlers.get(raw.type)
        if handler is None:
            return None  # an event this service does not need
        try:
            body = handler[0].model_validate(raw.body)
        except Exception as exc:  # noqa: BLE001 - as above
            return _Invalid(_describe(exc), None, clean_text(raw.msgid, 40), clean_text(raw.type, 60))
        return _Parsed(Envelope[Any](msgid=raw.msgid, type=raw.type, sender=raw.sender, sent_at=raw.sent_at, body=body))

    def _msgid_keys(self, classified: Sequence[_Parsed | _Invalid | None]) -> list[tuple[str, str]]:
        return []  # an event is remembered by `_first_time`, not answered: nothing to look up

    @contextlib.asynccontextmanager
    async def _batched(self, conn: Conn, classified: Sequence[_Parsed | _Invalid | None]) -> AsyncIterator[None]:
        async with super()._batched(conn, classified):
            if not self.set_handlers:
                yield
                return
            self._deferred[id(conn)] = []
            try:
                yield
                deferred = self._deferred[id(conn)]
                for type_, handler in self.set_handlers.items():
                    envs = [e for e in deferred if e.type == type_]
                    if envs:
                        await handler(conn, envs)
            finally:
                self._deferred.pop(id(conn), None)

    def _needs_transaction(self, classified: Sequence[_Parsed | _Invalid | None]) -> bool:
        # Every record is tracked, needed here or not: a follower has caught up with its stream only when its
        # tracking record reaches the stream's end, whatever the last records were (ADR 0012).
        return bool(classified)

    async def _in_transaction(
        self, conn: Conn, tracking: Tracking, record: ConsumerRecord, classified: _Parsed | _Invalid | None
    ) -> Outcome:
        if isinstance(classified, _Invalid):
            if not await tracking.claim(conn, record):
                return Outcome.REDELIVERED
            log.warning("event_invalid", topic=record.topic, offset=record.offset, reason=classified.reason)
            await self.outbox.enqueue(
                conn,
                [
                    self._dlq_record(
                        record, classified.code, classified.reason, None, classified.msgid, classified.type, 1
                    )
                ],
            )
            await self._compensate(conn, record)
            return Outcome.DEAD_LETTERED
        return await self._apply(conn, tracking, record, classified)

    async def _apply(
        self, conn: Conn, tracking: Tracking, record: ConsumerRecord, classified: _Parsed | None
    ) -> Outcome:
        """A readable record, inside the caller's transaction."""
        if not await tracking.claim(conn, record):
            return Outcome.REDELIVERED
        if classified is None:
            return Outcome.NOT_MINE  # not needed here, but tracked all the same (`_needs_transaction`)
        env = classified.envelope
        deferred = self._deferred.get(id(conn))
        if env.type in self.set_handlers and deferred is not None:
            deferred.append(env)
            return Outcome.PROCESSED
        if env.type in self.idempotent:
            await self.outbox.enqueue(conn, await self.event_handlers[env.type][1](self._context(conn, record), env))
            return Outcome.PROCESSED
        if not await self._first_time(conn, record, env, "completed"):
            return Outcome.REPEAT
        with structlog.contextvars.bound_contextvars(msgid=env.msgid, correlation_id=env.msgid, type=env.type):
            messages = await self.event_handlers[env.type][1](self._context(conn, record), env)
            await self.outbox.enqueue(conn, messages)
            log.info("event_applied", published=len(messages))
        return Outcome.PROCESSED

    async def _reject_after_failure(
        self, conn: Conn, record: ConsumerRecord, env: Envelope[Any], attempts: int, error: str
    ) -> None:
        dlq = self._failure_record(record, env, attempts, error)
        await self.outbox.enqueue(conn, [dlq])
        await self._compensate(conn, record)

    async def _compensate(self, conn: Conn, record: ConsumerRecord) -> None:
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
                reason=_describe(exc),
            )
            return
        env = Envelope[Any](msgid=raw.msgid, type=raw.type, sender=raw.sender, sent_at=raw.sent_at, body=identity)
        if on_failure.settles and not await self._first_time(conn, record, env, "rejected"):
            return
        await self.outbox.enqueue(conn, await on_failure.run(self._context(conn, record), env))

    def _context(self, conn: Conn, record: ConsumerRecord) -> MessageContext:
        return MessageContext(conn=conn, clock=self.clock, service=self.service, record_key=_safe_key(record.key) or "")

    @staticmethod
    async def _first_time(conn: Conn, record: ConsumerRecord, env: Envelope[Any], status: str) -> bool:
        """Remember the event by its platform msgid; False when it was applied (or given up on) before."""
        return bool(
            await conn.fetchval(
                """INSERT INTO inbox (sender, msgid, type, status, result, topic, partition, "offset")
                   VALUES ($1, $2, $3, $4, '{}'::jsonb, $5, $6, $7)
                   ON CONFLICT (sender, msgid) DO NOTHING RETURNING true""",
                env.sender,
                env.msgid,
                env.type,
                status,
                record.topic,
                record.partition,
                record.offset,
            )
        )
