"""What the wallet service is asked to do (imperative)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class CreditAccount:
    """The insured region credited a member's personal account."""

    client_id: str
    psn_no: str
    admdvs: str
    amount: Decimal
    period: str
    kind: str


@dataclass(frozen=True)
class SetRegionWalletStatus:
    admdvs: str
    wallet_enabled: bool
    sender: str
