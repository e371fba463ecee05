"""What the wallet service is asked to do (imperative)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from services.wallet.domain.payments import PaymentOrder
from services.wallet.domain.transfers import Party, TransferRequest
from shared.contracts import province as p


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
class RecordPerson:
    """relationship.events.v1 says who a person is now (enrolment, a change of insurance, a move)."""

    party: Party
    effective_at: datetime
    version: int
    event_id: str
    """The event's msgid: names the carry of a move (unique per event, even among events from before versions)."""


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


@dataclass(frozen=True)
class TakePayment:
    """The payment service asks the wallet to take a payment (payment.payment-opened); the province that asked
    the payment service is the context's sender."""

    order: PaymentOrder


@dataclass(frozen=True)
class RefuseFailedPayment:
    """The wallet could not process a payment it was asked for (dead-lettered): it answers with a refusal."""

    setl_id: str
    purpose: str
    psn_no: str


@dataclass(frozen=True)
class RefundPayment:
    """The payment service asks for a payment back (payment.refund-requested)."""

    setl_id: str


@dataclass(frozen=True)
class RequestStatement:
    """A province (or a trusted gateway) asks for a member's statement; the answer names the context's msgid."""

    request: p.WalletStatementRequested


@dataclass(frozen=True)
class ExpireTransfers:
    """The sweep: up to `limit` transfers nobody accepted by their deadline go back."""

    limit: int = 100
