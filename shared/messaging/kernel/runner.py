"""Runs a list of stages over a partition's records: in order, in as few transactions as they allow (ADR 0018),
each record until its effects are committed. The caller commits the Kafka offset only after this returns.

The happy path is one transaction for the whole batch: one catch-up wait, one commit (one WAL flush). A record
whose handler fails for a reason of its own rolls the batch back; the records before it are committed again as a
batch, the record itself goes on alone (its retries and dead letter, this failure counting as its first attempt),
and the records after it form the next batch. A failure of the infrastructure (the database away, a deadlock)
sends the whole batch one record at a time, each retried without limit: the partition waits, nothing is skipped.
Either way each record ends exactly as it would have alone: nothing is committed for a batch that did not commit.
A record that keeps failing is dead-lettered after `poison_attempts`, with its reason, in a fresh transaction."""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import asyncpg

from shared.contracts.envelope import Envelope
from shared.contracts.reasons import ReasonCode
from shared.db.pool import Conn
from shared.identity import redact_text
from shared.logging import get_logger
from shared.messaging.catch_up import CatchUp
from shared.messaging.kernel.dead_letter import DeadLetters
from shared.messaging.kernel.inbox import Scope
from shared.messaging.kernel.position import Tracking
from shared.messaging.kernel.records import Classified, ConsumerRecord, Outcome, Parsed, RecordFailedError, is_transient
from shared.messaging.outbox import Outbox
from shared.observability import metrics

log = get_logger(__name__)


class Stages(Protocol):
    """What one kind of consumer does with its records; the runner does the rest."""

    service: str
    topic: str
    source_topic: str
    """The Kafka topic actually read: the contract's topic, or a private copy in tests."""
    consumer: str
    """The tracking records' consumer: `<service>.<source topic>`."""
    outbox: Outbox
    dead_letters: DeadLetters

    def classify(self, record: ConsumerRecord) -> Classified: ...

    def needs_transaction(self, classified: Sequence[Classified]) -> bool: ...

    def waits_for_followers(self, found: Classified) -> bool:
        """Judged on copies of other services' state: the batch first waits for this service's followers."""
        ...

    def label(self, found: Classified) -> str:
        """The metrics' type label: a type this consumer handles, else "other" (never a sender's free text)."""
        ...

    def scope(self, conn: Conn, classified: Sequence[Classified]) -> AbstractAsyncContextManager[Scope]: ...

    async def apply(self, scope: Scope, record: ConsumerRecord, found: Classified) -> Outcome: ...

    async def after_failure(
        self, scope: Scope, record: ConsumerRecord, env: Envelope[Any], attempts: int, error: str
    ) -> None:
        """A readable record that kept failing: its dead letter, and whatever must follow it."""
        ...


class Pipeline:
    """One consumer: its stages, run over batches of one partition's records."""

    def __init__(
        self,
        stages: Stages,
        *,
        pool: asyncpg.Pool[Any],
        poison_attempts: int = 3,
        retry_backoff_seconds: float = 0.2,
    ) -> None:
        self.stages = stages
        self.pool = pool
        self.poison_attempts = poison_attempts
        self.backoff = retry_backoff_seconds
        self.catch_up: CatchUp | None = None
        """Set by the composition root: wait for this service's followers before judging (ADR 0012)."""

    @property
    def service(self) -> str:
        return self.stages.service

    @property
    def topic(self) -> str:
        return self.stages.topic

    @property
    def source_topic(self) -> str:
        return self.stages.source_topic

    @property
    def consumer(self) -> str:
        return self.stages.consumer

    @property
    def outbox(self) -> Outbox:
        return self.stages.outbox

    def classify(self, record: ConsumerRecord) -> Classified:
        return self.stages.classify(record)

    async def process_batch(self, records: Sequence[ConsumerRecord]) -> list[Outcome]:
        """Process records of one partition, in order, in as few transactions as they allow."""
        outcomes: list[Outcome] = []
        pending = list(records)
        while pending:
            try:
                outcomes += await self._batch_once(pending)
                return outcomes
            except asyncio.CancelledError:
                raise
            except RecordFailedError as failed:
                at = pending[failed.index]
                log.warning(
                    "batch_isolating_record",
                    topic=at.topic,
                    partition=at.partition,
                    offset=at.offset,
                    batch=len(pending),
                    error=redact_text(repr(failed.error)),
                )
                if failed.index:
                    outcomes += await self.process_batch(pending[: failed.index])
                outcomes.append(await self.process(at, failed=failed.error))
                pending = pending[failed.index + 1 :]
            except Exception as exc:  # noqa: BLE001 - the infrastructure, or the commit: one at a time, retried
                log.warning("batch_one_at_a_time", batch=len(pending), error=redact_text(repr(exc)))
                for record in pending:
                    outcomes.append(await self.process(record))
                return outcomes
        return outcomes

    async def process(self, record: ConsumerRecord, *, failed: Exception | None = None) -> Outcome:
        """Process one record until its effects are committed. Safe to call again for the same record.
        `failed`: the error of an attempt that already failed for a reason of the message (in a batch)."""
        failures = 0  # non-transient ones: only these count towards dead-lettering
        transient = 0
        if failed is not None:
            failures = 1
            if failures >= self.poison_attempts:
                return await self._dead_letter(record, failed, failures)
            await _retry_later("message_retry", record, failures, failed, self.backoff)
        while True:
            try:
                return (await self._batch_once([record], alone=True))[0]
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - classified below: transient, retried, or dead-lettered
                cause = exc.error if isinstance(exc, RecordFailedError) else exc
                if is_transient(cause):
                    transient += 1
                    delay = min(self.backoff * 2 ** min(transient, 5), 5.0)
                    await _retry_later("message_retry_transient", record, transient, cause, delay)
                    continue
                failures += 1
                if failures >= self.poison_attempts:
                    return await self._dead_letter(record, cause, failures)
                await _retry_later("message_retry", record, failures, cause, self.backoff * 2 ** (failures - 1))

    async def _batch_once(self, records: Sequence[ConsumerRecord], *, alone: bool = False) -> list[Outcome]:
        started = time.perf_counter()
        stages = self.stages
        classified = [stages.classify(record) for record in records]
        if self.catch_up is not None and any(stages.waits_for_followers(c) for c in classified):
            await self.catch_up.wait()  # one wait covers every record: all of them had arrived before it began
        if not stages.needs_transaction(classified):
            return [Outcome.NOT_MINE] * len(records)
        observed: list[tuple[str, str, float]] = []
        async with self.pool.acquire() as conn, conn.transaction(), stages.scope(conn, classified) as scope:
            outcomes = []
            for index, (record, found) in enumerate(zip(records, classified, strict=True)):
                at = time.perf_counter()
                scope.decided = None
                try:
                    outcome = await stages.apply(scope, record, found)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    raise RecordFailedError(index, exc) from exc
                outcomes.append(outcome)
                if found is not None and outcome is not Outcome.NOT_MINE:
                    label = (scope.decided or "applied") if outcome is Outcome.PROCESSED else outcome.value
                    observed.append((stages.label(found), label, time.perf_counter() - at))
            await scope.tracking.save(conn)
        metrics.observe_records(stages.source_topic, stages.consumer, observed)  # committed: observed once
        if not alone:
            metrics.BATCH_DURATION.labels(stages.source_topic, stages.consumer).observe(time.perf_counter() - started)
        return outcomes

    async def _dead_letter(self, record: ConsumerRecord, exc: Exception, attempts: int) -> Outcome:
        """A record that keeps failing: dead-lettered with the reason, and whatever the stages do after a failure.

        First the full path (for a request: its rejection in the inbox and the dead letter). If even that fails for
        a reason of its own (not the database being away), a last-resort dead letter without any of the record's
        identity fields, which no stored value can break. Nothing is ever skipped without a record."""
        stages = self.stages
        found = stages.classify(record)
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
        label = stages.label(found) if isinstance(found, Parsed) else "other"
        while True:
            try:
                at = time.perf_counter()
                async with self.pool.acquire() as conn, conn.transaction():
                    tracking = Tracking(stages.consumer)
                    if not await tracking.claim(conn, record):
                        return Outcome.REDELIVERED
                    await tracking.save(conn)
                    if own_failures < 2 and isinstance(found, Parsed):
                        scope = Scope(conn, tracking)
                        await stages.after_failure(scope, record, found.envelope, attempts, error)
                        await scope.end.flush(conn)
                    else:
                        dlq = stages.dead_letters.of(
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
                        await stages.outbox.enqueue(conn, [dlq])
                observed = [(label, Outcome.DEAD_LETTERED.value, time.perf_counter() - at)]
                metrics.observe_records(stages.source_topic, stages.consumer, observed)
                return Outcome.DEAD_LETTERED
            except asyncio.CancelledError:
                raise
            except Exception as again:  # noqa: BLE001 - wait for the database, or fall back; never skip
                if not is_transient(again):
                    own_failures += 1
                log.warning("dead_letter_retry", error=redact_text(repr(again)), own_failures=own_failures)
                await asyncio.sleep(min(self.backoff * 4, 5.0))


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
