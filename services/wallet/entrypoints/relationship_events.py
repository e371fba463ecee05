"""What the wallet follows on relationship.events.v1, read with its own (tolerant) models: only the fields it
needs, so the relationship service can add fields without breaking it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from services.wallet.adapters.wallet_repository import WalletRepository
from services.wallet.domain import commands
from services.wallet.domain.transfers import Party, RelationshipCopy
from services.wallet.entrypoints.unit_of_work import postgres_context
from services.wallet.service_layer.end_relationship import end_relationship
from services.wallet.service_layer.record_person import record_person
from shared.caller import Caller
from shared.contracts.topics import RELATIONSHIP_EVENTS
from shared.logging import get_logger
from shared.messaging.consumer import EventHandler, FailureHandler, MessageContext
from shared.messaging.dispatch import EventRoutes
from shared.messaging.messages import Outgoing

log = get_logger(__name__)


class _Seen(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class PersonSeen(_Seen):
    psn_no: str
    certno_hash: str
    name_hash: str
    insuplc_admdvs: str
    may_provide: bool
    may_receive: bool
    effective_at: datetime
    version: int = 0  # 0: an event from before versions (ADR 0012)


class RelationshipSeen(_Seen):
    relationship_id: str
    provider_psn_no: str
    recipient_psn_no: str
    provider_admdvs: str
    recipient_admdvs: str
    version: int | None = None  # None: an event from before versions (ADR 0012)


class RelationshipEndSeen(RelationshipSeen):
    was_established: bool


class PolicySeen(_Seen):
    admdvs: str
    settings: dict[str, Any]
    version: int


async def on_person(b: PersonSeen, caller: Caller, ctx: MessageContext) -> list[Outgoing]:
    party = Party(b.psn_no, b.certno_hash, b.name_hash, b.insuplc_admdvs, b.may_provide, b.may_receive)
    cmd = commands.RecordPerson(party, b.effective_at, b.version, caller.msgid)
    return await record_person(cmd, postgres_context(ctx.conn, caller, ctx.end))


async def on_established(b: RelationshipSeen, caller: Caller, ctx: MessageContext) -> list[Outgoing]:
    copy = RelationshipCopy(
        b.relationship_id, b.provider_psn_no, b.recipient_psn_no, b.provider_admdvs, b.recipient_admdvs, b.version
    )
    await WalletRepository(ctx.conn).relationship_established(copy)
    return []


async def on_ended(b: RelationshipEndSeen, caller: Caller, ctx: MessageContext) -> list[Outgoing]:
    cmd = commands.EndRelationship(
        relationship_id=b.relationship_id,
        provider_psn_no=b.provider_psn_no,
        recipient_psn_no=b.recipient_psn_no,
        was_established=b.was_established,
        provider_admdvs=b.provider_admdvs,
        recipient_admdvs=b.recipient_admdvs,
        version=b.version,
    )
    return await end_relationship(cmd, postgres_context(ctx.conn, caller, ctx.end))


class EndIdentitySeen(_Seen):
    """What stopping the use of an ended relationship needs, read even when the rest of the event cannot be."""

    relationship_id: str
    provider_psn_no: str | None = None
    recipient_psn_no: str | None = None
    provider_admdvs: str | None = None
    recipient_admdvs: str | None = None


async def on_ended_failed(b: EndIdentitySeen, caller: Caller, ctx: MessageContext) -> list[Outgoing]:
    """An end the wallet could not apply: the relationship is no longer used (no transfer, no provider's account),
    and its unspent quota waits for the operator's replay of the dead letter, which returns it. Until then the
    books check `ended_relationships_leave_no_quota` names its lots."""
    repo = WalletRepository(ctx.conn)
    parties = (b.provider_psn_no, b.recipient_psn_no, b.provider_admdvs, b.recipient_admdvs)
    if all(isinstance(x, str) and x for x in parties):  # then ended even before the wallet heard of it
        await repo.relationship_ended(RelationshipCopy(b.relationship_id, *parties), caller.now())  # type: ignore[arg-type]
    else:
        await repo.stop_using(b.relationship_id, caller.now())
    log.error(
        "relationship_end_waiting_for_replay",
        relationship_id=b.relationship_id,
        replay=f"make dlq ARGS='replay {RELATIONSHIP_EVENTS}.wallet.dlq --reason PROCESSING_FAILED'",
    )
    return []


async def on_policy(b: PolicySeen, caller: Caller, ctx: MessageContext) -> list[Outgoing]:
    await WalletRepository(ctx.conn).record_policy(b.admdvs, b.settings, b.version)
    return []


ROUTES = EventRoutes()
ROUTES.on("relationship.policy-changed", PolicySeen, on_policy)
ROUTES.on("relationship.person-enrolment-changed", PersonSeen, on_person)
ROUTES.on("relationship.relationship-established", RelationshipSeen, on_established)
ROUTES.on("relationship.relationship-ended", RelationshipEndSeen, on_ended)
ROUTES.on_failure("relationship.relationship-ended", EndIdentitySeen, on_ended_failed, settles=False)
HANDLERS: dict[str, EventHandler] = ROUTES.handlers()
FAILURE_HANDLERS: dict[str, FailureHandler] = ROUTES.failure_handlers()
