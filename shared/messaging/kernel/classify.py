"""Whose record it is, and whether it is fit: total over any bytes (content never escapes classification).

An ingress topic is shared by the services that answer its types; the topic's primary service answers what no
service would (unreadable values, unknown types), so every record gets exactly one answer or dead letter. An event
stream's record is either one this service applies, one it does not need, or unfit (dead-lettered here)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from shared.clock import BusinessClock
from shared.contracts.envelope import Envelope, RawEnvelope
from shared.contracts.province import INGRESS, TOPIC_PRIMARY
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import province_of
from shared.logging import get_logger
from shared.messaging.hostile import clean_text, parse
from shared.messaging.kernel.records import Classified, ConsumerRecord, Invalid, Parsed, describe, text_headers
from shared.messaging.kernel.verify import signed
from shared.signing import EnvelopeVerifier

log = get_logger(__name__)

# What may be stored and echoed back of an unreadable message's identity.
_SAFE_MSGID = re.compile(r"^[\x21-\x7e]{1,30}$")  # as the envelope's MsgId
_SAFE_TYPE = re.compile(r"^[a-z][a-z0-9.-]{0,59}$")


class IngressClassifier:
    """The requests of one ingress topic that one service answers."""

    def __init__(self, service: str, topic: str, clock: BusinessClock, signatures: EnvelopeVerifier | None) -> None:
        self.service = service
        self.topic = topic
        self.clock = clock
        self.signatures = signatures
        """The composition root always sets it; only tests of other stages classify without."""
        self.is_primary = TOPIC_PRIMARY.get(topic) == service

    def __call__(self, record: ConsumerRecord) -> Classified:
        try:
            found = self._content(record)
            if found is None or self.signatures is None:
                return found
            return signed(self.signatures, self.clock, record, found)
        except Exception as exc:  # noqa: BLE001 - content must never escape classification
            reason = clean_text(f"unreadable: {type(exc).__name__}: {exc}", 300)
            log.error("classification_failed", topic=record.topic, offset=record.offset, error=reason)
            return Invalid(reason)  # every consumer of the topic dead-letters it: never dropped unseen

    def _content(self, record: ConsumerRecord) -> Classified:
        data, problem = parse(record.value or b"")
        if data is None:
            return Invalid(f"value is {problem}") if self.is_primary else None
        if not isinstance(data, dict):
            return Invalid("value is not a JSON object") if self.is_primary else None
        sender, msgid, type_name = _identity(data)
        spec = INGRESS.get(type_name or "")
        if spec is None or spec.topic != self.topic:
            if not self.is_primary:
                return None
            if spec is not None:
                reason = f"{type_name} is carried by {spec.topic}, not {self.topic}"
                return Invalid(reason, sender, msgid, type_name, ReasonCode.WRONG_TOPIC)
            reason = f"unknown message type {type_name!r}" if type_name else "missing or unreadable message type"
            return Invalid(reason, sender, msgid, type_name)
        if spec.owner != self.service:
            return None
        if problem is not None:  # unfit to process or store, but its sender can be answered
            return Invalid(f"value is {problem}", sender, msgid, type_name)
        try:
            raw = RawEnvelope.model_validate(data)
            province_of(raw.sender)
            body = spec.body.model_validate(raw.body)
        except (ValidationError, ValueError) as exc:
            return Invalid(describe(exc), sender, msgid, type_name)
        return Parsed(Envelope[Any](msgid=raw.msgid, type=raw.type, sender=raw.sender, sent_at=raw.sent_at, body=body))


def _identity(data: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(sender, msgid, type) as far as they are safe to store and echo back: a sender that is no region code,
    a msgid with control characters or an odd length, or a type that is no type name is None."""
    sender = data.get("sender") if isinstance(data.get("sender"), str) else None
    msgid = data.get("msgid") if isinstance(data.get("msgid"), str) else None
    type_name = data.get("type") if isinstance(data.get("type"), str) else None
    if sender is not None:
        try:
            province_of(sender)
        except ValueError:
            sender = None
    if msgid is not None and not _SAFE_MSGID.fullmatch(msgid):
        msgid = None
    if type_name is not None and not _SAFE_TYPE.fullmatch(type_name):
        type_name = None
    return sender, msgid, type_name


class EventClassifier:
    """The events of another service's stream that this service applies, by type."""

    def __init__(self, models: Mapping[str, type[BaseModel]]) -> None:
        self.models = dict(models)

    def __call__(self, record: ConsumerRecord) -> Classified:
        try:
            named = text_headers(record).get("type")
            if named is not None and named not in self.models:
                # An event stream has one writer, the platform's relay (deploy/acls.toml), which names each record's
                # type in a header: a type this service does not apply is skipped without decoding the record.
                return None
            data, problem = parse(record.value or b"")
            if problem is not None:
                return Invalid(f"value is {problem}")
            raw = RawEnvelope.model_validate(data)  # an event nobody answers: unfit is enough to set it aside
        except Exception as exc:  # noqa: BLE001 - content must never escape classification
            return Invalid(describe(exc))
        model = self.models.get(raw.type)
        if model is None:
            return None  # an event this service does not need
        try:
            body = model.model_validate(raw.body)
        except Exception as exc:  # noqa: BLE001 - as above
            return Invalid(describe(exc), None, clean_text(raw.msgid, 40), clean_text(raw.type, 60))
        return Parsed(Envelope[Any](msgid=raw.msgid, type=raw.type, sender=raw.sender, sent_at=raw.sent_at, body=body))


def judged_on_claims(found: Classified) -> bool:
    """A record judged on the followers' copies (ADR 0012): a request, or a signed record on the wrong topic (which
    must not be answered WRONG_TOPIC when another service answered its msgid)."""
    return isinstance(found, Parsed) or (
        isinstance(found, Invalid) and found.code is ReasonCode.WRONG_TOPIC and found.authenticated
    )
