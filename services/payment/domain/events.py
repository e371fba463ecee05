"""Events on payment.events.v1."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict

from shared.contracts.envelope import Admdvs


class PaymentEvent(BaseModel):
    model_config = ConfigDict(frozen=True)
    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1


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
