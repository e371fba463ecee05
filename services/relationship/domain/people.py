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
    psn_name: str
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


def supersedes(new: Person, old: Person | None) -> bool:
    """Enrolment changes apply in effective-time order; an older change arriving late changes nothing."""
    return old is None or new.effective_at >= old.effective_at
