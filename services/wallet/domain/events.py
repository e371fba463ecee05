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


class WalletOpened(WalletEvent):
    TYPE = "wallet.wallet-opened"

    psn_no: PsnNo
    usage_admdvs: Admdvs
    occurred_at: AwareDatetime


class QuotaHeld(WalletEvent):
    """A transfer was requested: the amount is reserved on the provider's personal account."""

    TYPE = "wallet.quota-held"

    transfer_id: str
    from_psn_no: PsnNo
    to_psn_no: PsnNo
    relationship_id: str
    amount: Money
    deadline: AwareDatetime
    occurred_at: AwareDatetime


class QuotaGranted(WalletEvent):
    """The recipient accepted: the hold is posted and a lot of quota, funded by the provider's region,
    is in the wallet."""

    TYPE = "wallet.quota-granted"

    transfer_id: str
    from_psn_no: PsnNo
    to_psn_no: PsnNo
    funding_admdvs: Admdvs
    amount: Money
    occurred_at: AwareDatetime


class QuotaReleased(WalletEvent):
    """A waiting transfer went back: the hold is voided, nothing moved."""

    TYPE = "wallet.quota-released"

    transfer_id: str
    from_psn_no: PsnNo
    to_psn_no: PsnNo
    amount: Money
    reason: str
    occurred_at: AwareDatetime


class QuotaReturned(WalletEvent):
    """A relationship ended: the recipient's unspent quota from that provider went back to the provider's account."""

    TYPE = "wallet.quota-returned"

    lot_id: str
    relationship_id: str
    wallet_psn_no: PsnNo
    provider_psn_no: PsnNo
    amount: Money
    occurred_at: AwareDatetime


EVENTS: tuple[type[WalletEvent], ...] = (
    PersonalAccountCredited,
    RegionWalletStatusRecorded,
    WalletOpened,
    QuotaHeld,
    QuotaGranted,
    QuotaReleased,
    QuotaReturned,
)
