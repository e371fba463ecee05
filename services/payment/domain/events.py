"""Events on payment.events.v1."""

from __future__ import annotations

from pydantic import AwareDatetime

from shared.contracts.envelope import Admdvs
from shared.contracts.events import DomainEvent


class PaymentEvent(DomainEvent):
    """An event of the payment service."""


class InstitutionRegistered(PaymentEvent):
    """An institution was added or changed (type, region or wallet switch)."""

    TYPE = "payment.institution-registered"

    fixmedins_code: str
    fixmedins_name: str
    fixmedins_type: str
    admdvs: Admdvs
    wallet_enabled: bool
    occurred_at: AwareDatetime


EVENTS: tuple[type[PaymentEvent], ...] = (InstitutionRegistered,)
