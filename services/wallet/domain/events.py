"""What happened in the wallet service (past tense), published on wallet.events.v1.

Each event has a stable wire type and a version; a change that breaks readers is a new version.
"""

from __future__ import annotations

from pydantic import AwareDatetime

from shared.contracts.envelope import Admdvs, Period, PsnNo
from shared.contracts.events import DomainEvent
from shared.money import Money


class WalletEvent(DomainEvent):
    """An event of the wallet service."""


class PersonalAccountCredited(WalletEvent):
    TYPE = "wallet.personal-account-credited"

    transfer_id: str
    psn_no: PsnNo
    admdvs: Admdvs
    amount: Money
    period: Period
    kind: str
    balance: Money
    occurred_at: AwareDatetime


class RegionWalletStatusRecorded(WalletEvent):
    TYPE = "wallet.region-wallet-status-changed"

    admdvs: Admdvs
    wallet_enabled: bool
    occurred_at: AwareDatetime


EVENTS: tuple[type[WalletEvent], ...] = (PersonalAccountCredited, RegionWalletStatusRecorded)
