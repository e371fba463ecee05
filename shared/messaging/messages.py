"""What a use case hands back to the messaging kernel, with no I/O: the messages it wants published
(`Outgoing`, written to the outbox in the use case's transaction) and, for an ingress request, its
`Decision` (the one answer the sender gets). The service layers import this module, never the outbox's
or the consumer's machinery, so they run in unit tests without Kafka or PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from shared.contracts.events import DomainEvent
from shared.contracts.province import ResultStatus
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import province_topic


@dataclass(frozen=True)
class Outgoing:
    """A message the platform will publish, wrapped in the envelope with sender 000000."""

    topic: str
    key: str
    type: str
    body: dict[str, Any]
    correlation_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def published(e: DomainEvent, key: str) -> Outgoing:
    """A domain event on its service's stream (`<service>.events.v1`), keyed by its aggregate's id."""
    return Outgoing(e.STREAM, key, e.TYPE, e.model_dump(mode="json"), headers={"type_version": str(e.VERSION)})


def to_provinces(regions: Sequence[str], type_: str, body: BaseModel, key: str) -> list[Outgoing]:
    """One notification to each province the regions belong to (one when they share a province)."""
    topics = dict.fromkeys(province_topic(a) for a in regions)
    wire = body.model_dump(mode="json", exclude_none=True)
    return [Outgoing(t, key, type_, wire) for t in topics]


def to_province(admdvs: str, type_: str, body: BaseModel, key: str) -> Outgoing:
    """One notification to the province of one region."""
    return Outgoing(province_topic(admdvs), key, type_, body.model_dump(mode="json", exclude_none=True))


@dataclass
class Decision:
    """What a handler decided about one ingress message."""

    status: ResultStatus | Literal["deferred"]
    reason_code: str | None = None
    reason: str | None = None
    ids: dict[str, str] = field(default_factory=dict)
    messages: list[Outgoing] = field(default_factory=list)

    @classmethod
    def completed(cls, messages: list[Outgoing] | None = None, **ids: str) -> Decision:
        return cls("completed", ids=dict(ids), messages=messages or [])

    @classmethod
    def accepted(cls, messages: list[Outgoing] | None = None, **ids: str) -> Decision:
        return cls("accepted", ids=dict(ids), messages=messages or [])

    @classmethod
    def rejected(cls, code: ReasonCode, reason: str, messages: list[Outgoing] | None = None) -> Decision:
        return cls("rejected", reason_code=code.value, reason=reason, messages=messages or [])

    @classmethod
    def deferred(cls, messages: list[Outgoing] | None = None) -> Decision:
        """No answer yet: another service must act first (a saga). The inbox remembers the message; the
        answer is written later by `answer_deferred`, exactly once, and a repeat meanwhile gets nothing
        (the one answer is on its way)."""
        return cls("deferred", messages=messages or [])
