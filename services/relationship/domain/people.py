"""People as the relationship service needs them: who may provide, who may receive. Pure rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
    """Who may record an enrolment (None: the sender may; otherwise why not). A person's record is their insured
    province's: the province they are insured in now, which may also move them out to any region; or, for a move
    in, the province of the new region, which must then name the identity already recorded (a province cannot
    take over a stranger by enrolling their psn_no)."""
    if current is not None and sender[:2] == current.insuplc_admdvs[:2]:
        return None
    if sender[:2] != new.insuplc_admdvs[:2]:
        where = f"insured in {current.insuplc_admdvs}" if current else "not enrolled yet"
        return f"{sender} may not enrol {new.psn_no} in {new.insuplc_admdvs} ({where}): not that province's system"
    if current is not None and current.certno_hash != new.certno_hash:
        return f"a move of {new.psn_no} into {new.insuplc_admdvs} must name the certificate already recorded"
    return None


def supersedes(new: Person, old: Person | None) -> bool:
    """Enrolment changes apply in effective-time order; an older change arriving late changes nothing."""
    return old is None or new.effective_at >= old.effective_at
