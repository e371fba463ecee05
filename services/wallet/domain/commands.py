"""What the wallet service is asked to do (imperative)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from services.wallet.domain.transfers import TransferRequest


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


@dataclass(frozen=True)
class OpenWallet:
    psn_no: str
    usage_admdvs: str


@dataclass(frozen=True)
class RequestTransfer:
    """A provider's province asks to move quota into a relative's wallet. `transfer_id` is derived from the
    request (a retried handler names the same transfer); the recipient's identity arrives hashed."""

    transfer_id: str
    client_id: str
    request: TransferRequest


@dataclass(frozen=True)
class AnswerTransfer:
    """The recipient's province accepts (or declines) a waiting transfer for the recipient."""

    transfer_id: str
    psn_no: str
    accepting: bool


@dataclass(frozen=True)
class EndRelationship:
    """relationship.events.v1 says a relationship ended (was_established: it had been in use)."""

    relationship_id: str
    provider_psn_no: str
    recipient_psn_no: str
    was_established: bool
    provider_admdvs: str
    recipient_admdvs: str
    version: int | None


@dataclass(frozen=True)
class ChangeFreeze:
    """A person's insured province or the national operator freezes (or unfreezes) the person's wallet."""

    psn_no: str
    frozen: bool
    reason: str
    msgid: str
