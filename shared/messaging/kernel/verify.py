"""The claimed sender's signature (docs/signing.md). A record this service would answer is handled only when its
claimed sender signed it; otherwise it is SIGNATURE_INVALID, judged before anything is stored for its msgid (so a
forger cannot take a msgid from its owner) and answered to no province (ADR 0023)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.clock import BusinessClock
from shared.contracts.reasons import ReasonCode
from shared.messaging.hostile import parse
from shared.messaging.kernel.records import ConsumerRecord, Invalid, Parsed, text_headers
from shared.signing import EnvelopeVerifier, Verdict

_LAST_BROKER_MILLIS = 32_503_680_000_000  # year 3000: a later timestamp is no broker's clock


def arrived_at(record: ConsumerRecord, clock: BusinessClock) -> datetime:
    """When the record reached the broker (LogAppendTime), on the business clock. The replay window is judged
    there, not when the record is processed: a backlog must not turn valid records into refusals."""
    if 0 < record.timestamp < _LAST_BROKER_MILLIS:
        return datetime.fromtimestamp(record.timestamp / 1000, UTC) + timedelta(seconds=clock.offset_seconds)
    return clock.now()


def signed(
    signatures: EnvelopeVerifier, clock: BusinessClock, record: ConsumerRecord, found: Parsed | Invalid
) -> Parsed | Invalid:
    """`found` as it is when its claimed sender signed the record; SIGNATURE_INVALID otherwise. A record whose sender
    cannot be read is left as it is: it is dead-lettered, with nobody to answer."""
    if isinstance(found, Invalid):
        sender, msgid, type_name = found.sender, found.msgid, found.type
    else:
        env = found.envelope
        sender, msgid, type_name = env.sender, env.msgid, env.type
    if sender is None:
        return found
    data, _problem = parse(record.value or b"")
    verdict = signatures.verdict(
        text_headers(record), data if isinstance(data, dict) else {}, record.value or b"", arrived_at(record, clock)
    )
    if verdict is Verdict.VALID:
        return found
    return Invalid(
        f"signature: {verdict.value} (docs/signing.md)",
        sender,
        msgid,
        type_name,
        ReasonCode.SIGNATURE_INVALID,
        unsigned=verdict,
    )
