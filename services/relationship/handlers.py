"""The relationship service's handlers."""

from __future__ import annotations

from services.relationship.adapters.people_repository import PeopleRepository
from services.relationship.domain import commands, events
from services.relationship.domain.people import supersedes
from shared.contracts.topics import RELATIONSHIP_EVENTS
from shared.identity import certno_hash
from shared.messaging.consumer import Decision
from shared.messaging.outbox import Outgoing


def event(e: events.RelationshipEvent, key: str) -> Outgoing:
    return e.outgoing(RELATIONSHIP_EVENTS, key)


async def record_enrolment(cmd: commands.RecordEnrolment, people: PeopleRepository, identity_key: bytes) -> Decision:
    person = cmd.person
    current = await people.get_for_update(person.psn_no)
    if not supersedes(person, current):
        return Decision.completed()  # an older change arriving late: the newer one stands
    await people.save(person, cmd.change_reason)
    changed = events.PersonEnrolmentChanged(
        psn_no=person.psn_no,
        certno_hash=person.certno_hash,
        name_hash=certno_hash(person.psn_name, identity_key),
        psn_cert_type=person.psn_cert_type,
        insutype=person.insutype,
        psn_insu_stas=person.psn_insu_stas,
        insuplc_admdvs=person.insuplc_admdvs,
        has_personal_account=person.has_personal_account,
        change_reason=cmd.change_reason,
        may_provide=person.may_provide,
        may_receive=person.may_receive,
        effective_at=person.effective_at,
    )
    return Decision.completed([event(changed, person.psn_no)])
