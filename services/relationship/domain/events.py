"""Events on relationship.events.v1. No certificate number or name in clear: keyed hashes only."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict

from shared.contracts.envelope import Admdvs, PsnNo


class RelationshipEvent(BaseModel):
    model_config = ConfigDict(frozen=True)
    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1


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
