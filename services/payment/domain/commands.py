"""What the payment service is asked to do."""

from __future__ import annotations

from dataclasses import dataclass

from services.payment.domain.institutions import Institution


@dataclass(frozen=True)
class UpsertInstitution:
    institution: Institution
    sender: str
