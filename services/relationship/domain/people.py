"""People as the relationship service needs them: who may provide, who may receive. Pure rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.relationship.domain import events

EMPLOYEE = "310"
RESIDENT = "390"
NORMAL = "1"


@dataclass(frozen=True)
class Person:
    psn_no: str
    name_hash: str
    """The keyed hash of the normalized name (shared.identity.name_hash): names are not stored in clear."""
    certno_hash: str
    psn_cert_type: str
    insutype: str
    psn_insu_stas: str
    insuplc_admdvs: str
    has_personal_account: bool
    effective_at: datetime

    @property
    def may_provide(self) -> bool:
        """Employee-insured, normal status, with a personal account (not 'pooling only')."""
        return self.insutype == EMPLOYEE and self.psn_insu_stas == NORMAL and self.has_personal_account

    @property
    def may_receive(self) -> bool:
        return self.insutype in (EMPLOYEE, RESIDENT) and self.psn_insu_stas == NORMAL


def may_record(sender: str, new: Person, current: Person | None) -> str | None:
    """Who may record an enrolment (None: the sender may; otherwise why not, saying nothing of the person).

    A person's record is their insured province's. The province they are insured in now may change anything,
    including moving them out to any region. A first enrolment is the enrolled region's province's. Another
    province may only move them in, and only once the current province has released them (their insurance
    there suspended or ended), naming the certificate and the name already recorded: a certificate number is
    no secret, so naming it alone does not take a person over. A late change (older than the record) comes
    only from the current province: it can end relationships, and nobody else may."""
    refused = f"{sender} may not record this enrolment of {new.psn_no}"
    if current is None:
        return None if sender[:2] == new.insuplc_admdvs[:2] else refused
    if sender[:2] == current.insuplc_admdvs[:2]:
        return None
    moves_in = (
        sender[:2] == new.insuplc_admdvs[:2]
        and current.psn_insu_stas != NORMAL
        and current.certno_hash == new.certno_hash
        and current.name_hash == new.name_hash
        and new.effective_at >= current.effective_at
    )
    return None if moves_in else refused


def supersedes(new: Person, old: Person | None) -> bool:
    """Enrolment changes apply in effective-time order; an older change arriving late changes nothing."""
    return old is None or new.effective_at >= old.effective_at


def enrolment_changed(person: Person, version: int, change_reason: str) -> events.PersonEnrolmentChanged:
    """The event of a recorded enrolment (the person's `version` after it)."""
    return events.PersonEnrolmentChanged(
        psn_no=person.psn_no,
        version=version,
        certno_hash=person.certno_hash,
        name_hash=person.name_hash,
        psn_cert_type=person.psn_cert_type,
        insutype=person.insutype,
        psn_insu_stas=person.psn_insu_stas,
        insuplc_admdvs=person.insuplc_admdvs,
        has_personal_account=person.has_personal_account,
        change_reason=change_reason,
        may_provide=person.may_provide,
        may_receive=person.may_receive,
        effective_at=person.effective_at,
    )
