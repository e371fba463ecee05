"""Every message the platform reads or writes, by wire type: the source of the generated JSON Schemas
and AsyncAPI documents (tools/contracts/generate.py), and what the contract tests check them against."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, create_model

from shared.contracts import province
from shared.contracts.envelope import Admdvs, MsgId


class DlqSource(BaseModel):
    topic: str
    partition: int
    offset: int
    key: str | None
    timestamp: str


class DlqRecord(BaseModel):
    """A message the platform could not process, for operators. Certificate numbers are masked."""

    model_config = ConfigDict(frozen=True)

    source: DlqSource
    consumer: str = Field(description="<service>.<topic>: who gave up")
    reason_code: str = Field(description="INVALID_MESSAGE, WRONG_TOPIC or PROCESSING_FAILED")
    reason: str
    error: str | None = Field(description="the last exception, for PROCESSING_FAILED")
    attempts: int
    sender: str | None
    msgid: str | None
    type: str | None
    payload: Any = Field(description="the original value, parsed when it was JSON, with certificate numbers masked")


def service_events() -> dict[str, dict[str, type[BaseModel]]]:
    """Each service's typed events by wire type (imported late: services depend on shared, not the reverse)."""
    from services.clearing.domain import events as clearing
    from services.payment.domain import events as payment
    from services.relationship.domain import events as relationship
    from services.wallet.domain import events as wallet

    return {
        "wallet": {e.TYPE: e for e in wallet.EVENTS},
        "relationship": {e.TYPE: e for e in relationship.EVENTS},
        "payment": {e.TYPE: e for e in payment.EVENTS},
        "clearing": {e.TYPE: e for e in clearing.EVENTS},
    }


def message_model(type_name: str, body: type[BaseModel]) -> type[BaseModel]:
    """The whole message as on the wire: the envelope with `type` fixed and the body's model."""
    name = "".join(part.capitalize() for part in type_name.replace("-", ".").split(".")) + "Message"
    model: type[BaseModel] = create_model(
        name,
        __config__=ConfigDict(title=type_name),
        __doc__=(body.__doc__ or type_name).strip(),
        msgid=(MsgId, Field(description="1-30 chars, unique per sender; the idempotency key")),
        type=(Literal[type_name], Field(description="the message type")),  # type: ignore[arg-type]
        sender=(Admdvs, Field(description="region code of the sender; 000000 for the platform")),
        sent_at=(AwareDatetime, Field(description="ISO 8601 with offset")),
        body=(body, ...),
    )
    return model


def all_messages() -> dict[str, type[BaseModel]]:
    from shared.messaging.msgids import CLAIMED, MsgidClaimed

    bodies: dict[str, type[BaseModel]] = {**province.ALL_MESSAGES, "dlq.record": DlqRecord, CLAIMED: MsgidClaimed}
    for events in service_events().values():
        clash = set(events) & set(bodies)
        if clash:
            raise ValueError(f"message types defined twice: {sorted(clash)}")
        bodies.update(events)
    names = [b.__name__ for b in bodies.values()]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:  # the AsyncAPI documents name schemas by class: two alike would overwrite each other
        raise ValueError(f"message body classes named alike: {twice}")
    return {t: message_model(t, b) for t, b in sorted(bodies.items())}
