"""Ingress messages the relationship service answers."""

from __future__ import annotations

from typing import Any

from services.relationship import handlers
from services.relationship.adapters.people_repository import PeopleRepository
from services.relationship.domain import commands
from services.relationship.domain.people import Person
from shared.contracts import province as p
from shared.contracts.envelope import Envelope
from shared.identity import certno_hash
from shared.messaging.consumer import Decision, Handler, MessageContext


def make_handlers(identity_key: bytes) -> dict[str, Handler]:
    async def on_enrollment_changed(ctx: MessageContext, env: Envelope[Any]) -> Decision:
        b: p.EnrollmentChanged = env.body
        person = Person(
            psn_no=b.psn_no,
            psn_name=b.psn_name,
            certno_hash=certno_hash(b.certno, identity_key),
            psn_cert_type=b.psn_cert_type,
            insutype=b.insutype,
            psn_insu_stas=b.psn_insu_stas,
            insuplc_admdvs=b.insuplc_admdvs,
            has_personal_account=b.has_personal_account,
            effective_at=b.effective_at,
        )
        cmd = commands.RecordEnrolment(person=person, change_reason=b.change_reason)
        return await handlers.record_enrolment(cmd, PeopleRepository(ctx.conn), identity_key)

    return {"enrollment.changed": on_enrollment_changed}
