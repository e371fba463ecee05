"""The answer to a request: recorded in the inbox (so a repeat gets it again) and written to the outbox with the
msgid's claim (ADR 0013) and the handler's messages, in the request's transaction. A repeat is answered as it was
the first time. An answer about a msgid goes to a province only when that province wrote the record (ADR 0023)."""

from __future__ import annotations

from typing import Any

from shared.clock import BusinessClock
from shared.contracts.envelope import Envelope
from shared.contracts.province import RequestResult
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import province_topic
from shared.db.pool import Conn
from shared.logging import get_logger
from shared.messaging.hostile import clean_text
from shared.messaging.kernel.dead_letter import DeadLetters
from shared.messaging.kernel.dispatch import answer_key
from shared.messaging.kernel.inbox import Scope
from shared.messaging.kernel.records import ConsumerRecord, Invalid, Outcome, safe_key
from shared.messaging.messages import Decision, Outgoing
from shared.messaging.msgids import claim
from shared.messaging.outbox import Outbox
from shared.signing import Verdict

log = get_logger(__name__)


class Answers:
    """The answers of one service's requests."""

    def __init__(self, service: str, clock: BusinessClock, outbox: Outbox, dead_letters: DeadLetters) -> None:
        self.service = service
        self.clock = clock
        self.outbox = outbox
        self.dead_letters = dead_letters

    async def repeat(self, scope: Scope, sender: str, msgid: str) -> bool:
        """Answer a msgid answered before as it was answered (a deferred one: later, once); False when it is new."""
        if not scope.may_be_answered(sender, msgid):
            return False  # the transaction's look-up found no inbox row for it, and it wrote none
        row = await scope.conn.fetchrow(
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
        answer = Outgoing(
            province_topic(sender),
            result.pop("_key"),
            "request.result",
            result,
            correlation_id=msgid,
            headers={"repeat": str(row["repeats"])},
        )
        await self.outbox.enqueue(scope.conn, [answer])
        log.info("message_repeat_answered", repeats=row["repeats"], status=result["status"])
        return True

    async def record(
        self,
        scope: Scope,
        record: ConsumerRecord,
        sender: str,
        msgid: str,
        type_name: str,
        decision: Decision,
        key: str,
        extra: list[Outgoing] | None = None,
    ) -> None:
        """The first answer to (sender, msgid): the inbox row, then the answer (unless deferred), the claim, the
        decision's messages and `extra` (a dead letter) in the outbox."""
        messages = [*decision.messages]
        if decision.reason_code != ReasonCode.MSGID_REUSED:
            messages.append(claim(self.service, sender, msgid, type_name, self.clock.now()))
        messages += extra or []
        stored: dict[str, Any]
        if decision.status == "deferred":
            status, reason_code, stored = "deferred", None, {"status": "deferred", "_key": key}
        else:
            result = RequestResult(
                omsgid=msgid,
                otype=type_name,
                status=decision.status,
                reason_code=decision.reason_code,
                reason=decision.reason,
                **decision.ids,
            ).wire()
            status, reason_code, stored = decision.status, decision.reason_code, {**result, "_key": key}
            messages.insert(0, Outgoing(province_topic(sender), key, "request.result", result, correlation_id=msgid))
        await scope.conn.execute(
            """INSERT INTO inbox (sender, msgid, type, status, reason_code, result, topic, partition, "offset")
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            sender,
            msgid,
            type_name,
            status,
            reason_code,
            stored,
            record.topic,
            record.partition,
            record.offset,
        )
        scope.recorded(sender, msgid)
        await self.outbox.enqueue(scope.conn, messages)

    async def reject_invalid(self, scope: Scope, record: ConsumerRecord, invalid: Invalid) -> Outcome:
        """A record refused for what it is. A record whose signature does not verify is dead-lettered as a digest and
        answered to nobody (operators see it: the DLQ, the console, a metric), except that a late copy of an answered
        msgid, signed by its sender, gets its original answer again (the contract's "a repeat gets the original
        result again")."""
        dlq = self.dead_letters.of(
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
        sender, msgid = invalid.sender, invalid.msgid
        if sender is None or msgid is None:
            await self.outbox.enqueue(scope.conn, [dlq])  # nobody to answer: operators see it in the DLQ
            return Outcome.DEAD_LETTERED
        if invalid.unsigned is not None:
            # Signed by its sender, only late (a replay, or a backlog before the broker): an answered msgid is
            # answered again as it was. Anything else is not known to be its sender's: nothing stored, no answer.
            if invalid.unsigned is Verdict.OUTSIDE_REPLAY_WINDOW and await self.repeat(scope, sender, msgid):
                return Outcome.REPEAT
            await self.outbox.enqueue(scope.conn, [dlq])
            return Outcome.DEAD_LETTERED
        if invalid.code is ReasonCode.WRONG_TOPIC:
            # Signed by its sender, but signatures do not cover the topic: a copy of a msgid answered on its own topic
            # must get that answer (here) or none (another service's), never WRONG_TOPIC after it; and it is not
            # stored, so that it cannot take its msgid from the real one.
            if await self.repeat(scope, sender, msgid):
                await self.outbox.enqueue(scope.conn, [dlq])
                return Outcome.REPEAT
            if await scope.claimed_elsewhere(sender, msgid) is not None:
                await self.outbox.enqueue(scope.conn, [dlq])  # answered by the service that owns it: no second answer
                return Outcome.DEAD_LETTERED
            result = RequestResult(
                omsgid=msgid,
                otype=invalid.type or "unknown",
                status="rejected",
                reason_code=invalid.code,
                reason=clean_text(invalid.reason),
            ).wire()
            key = safe_key(record.key) or sender
            answer = Outgoing(province_topic(sender), key, "request.result", result, correlation_id=msgid)
            await self.outbox.enqueue(scope.conn, [answer, dlq])  # no inbox row, no msgid claim
            return Outcome.DEAD_LETTERED
        if await self.repeat(scope, sender, msgid):
            await self.outbox.enqueue(scope.conn, [dlq])
            return Outcome.DEAD_LETTERED
        decision = Decision.rejected(invalid.code, clean_text(invalid.reason))
        key = safe_key(record.key) or sender
        await self.record(scope, record, sender, msgid, invalid.type or "unknown", decision, key, extra=[dlq])
        return Outcome.DEAD_LETTERED

    async def reject_after_failure(
        self,
        scope: Scope,
        record: ConsumerRecord,
        env: Envelope[Any],
        attempts: int,
        error: str,
        national_operators: frozenset[str],
    ) -> None:
        """A request whose handler kept failing: dead-lettered, and answered PROCESSING_FAILED unless answered."""
        reason = f"handler failed {attempts} times"
        dlq = self.dead_letters.of(
            record, ReasonCode.PROCESSING_FAILED, reason, env.sender, env.msgid, env.type, attempts, error
        )
        if await self.repeat(scope, env.sender, env.msgid):
            await self.outbox.enqueue(scope.conn, [dlq])
            return
        decision = Decision.rejected(
            ReasonCode.PROCESSING_FAILED, "the platform could not process this message; operators were alerted"
        )
        key = answer_key(env, national_operators)
        await self.record(scope, record, env.sender, env.msgid, env.type, decision, key, extra=[dlq])


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
