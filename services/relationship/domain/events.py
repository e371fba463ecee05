"""Events on relationship.events.v1. No certificate number or name in clear: keyed hashes only."""

from __future__ import annotations

from pydantic import AwareDatetime

from shared.contracts.envelope import Admdvs, PsnNo
from shared.contracts.events import DomainEvent


class RelationshipEvent(DomainEvent):
    """An event of the relationship service."""


class PersonEnrolmentChanged(RelationshipEvent):
    """The platform's copy of a person's enrolment changed; other services keep their own copy from this."""

    TYPE = "relationship.person-enrolment-changed"

    psn_no: PsnNo
    certno_hash: str
    name_hash: str
    psn_cert_type: str
    insutype: str
    psn_insu_stas: str
    insuplc_admdvs: Admdvs
    has_personal_account: bool
    change_reason: str
    may_provide: bool
    may_receive: bool
    effective_at: AwareDatetime


EVENTS: tuple[type[RelationshipEvent], ...] = (PersonEnrolmentChanged,)
