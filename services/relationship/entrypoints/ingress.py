"""Ingress messages the relationship service answers: translate each into a command, call its use case in the
message's unit of work."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import timedelta

from services.relationship.domain import commands
from services.relationship.domain.people import Person
from services.relationship.entrypoints.unit_of_work import postgres_context
from services.relationship.service_layer.confirm_bind import confirm_bind
from services.relationship.service_layer.record_enrolment import record_enrolment
from services.relationship.service_layer.request_bind import request_bind
from services.relationship.service_layer.terminate import terminate
from shared.caller import Caller
from shared.contracts import province as p
from shared.identity import certno_hash, name_hash
from shared.messaging.consumer import Handler, MessageContext
from shared.messaging.dispatch import Routes
from shared.messaging.messages import Decision


def relationship_id_for(sender: str, msgid: str, key: bytes) -> str:
    """Deterministic (a retried handler names the same relationship) yet unguessable without the platform key."""
    digest = hmac.new(key, f"relationship:{sender}:{msgid}".encode(), hashlib.sha256).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def make_handlers(
    identity_key: bytes, trusted_senders: frozenset[str] = frozenset(), max_ahead: timedelta = timedelta(days=31)
) -> dict[str, Handler]:
    async def on_enrollment_changed(b: p.EnrollmentChanged, caller: Caller, ctx: MessageContext) -> Decision:
        person = Person(
            psn_no=b.psn_no,
            name_hash=name_hash(b.psn_name, identity_key),
            certno_hash=certno_hash(b.certno, identity_key),
            psn_cert_type=b.psn_cert_type,
            insutype=b.insutype,
            psn_insu_stas=b.psn_insu_stas,
            insuplc_admdvs=b.insuplc_admdvs,
            has_personal_account=b.has_personal_account,
            effective_at=b.effective_at,
        )
        cmd = commands.RecordEnrolment(person=person, change_reason=b.change_reason)
        return await record_enrolment(cmd, postgres_context(ctx.conn, caller, max_ahead))

    async def on_bind_requested(b: p.RelationshipBindRequested, caller: Caller, ctx: MessageContext) -> Decision:
        cmd = commands.RequestBind(
            relationship_id=relationship_id_for(caller.sender, caller.msgid, identity_key),
            provider_psn_no=b.provider_psn_no,
            recipient_psn_no=b.recipient_psn_no,
            kinship=b.kinship,
            recipient_certno_hash=certno_hash(b.recipient_certno, identity_key),
            recipient_name_hash=name_hash(b.recipient_name, identity_key),
        )
        return await request_bind(cmd, postgres_context(ctx.conn, caller, max_ahead))

    async def on_bind_confirmed(b: p.RelationshipBindConfirmed, caller: Caller, ctx: MessageContext) -> Decision:
        cmd = commands.ConfirmBind(relationship_id=b.relationship_id, recipient_psn_no=b.recipient_psn_no)
        return await confirm_bind(cmd, postgres_context(ctx.conn, caller, max_ahead))

    async def on_terminate_requested(
        b: p.RelationshipTerminateRequested, caller: Caller, ctx: MessageContext
    ) -> Decision:
        cmd = commands.TerminateRelationship(
            relationship_id=b.relationship_id, requested_by_psn_no=b.requested_by_psn_no
        )
        return await terminate(cmd, postgres_context(ctx.conn, caller, max_ahead))

    routes = Routes(trusted=trusted_senders)
    routes.on(p.EnrollmentChanged, on_enrollment_changed)
    routes.on(p.RelationshipBindRequested, on_bind_requested)
    routes.on(p.RelationshipBindConfirmed, on_bind_confirmed)
    routes.on(p.RelationshipTerminateRequested, on_terminate_requested)
    return routes.handlers()
