"""What the payment service is asked to do."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from services.payment.domain.institutions import Institution
from services.payment.domain.settlements import Debited
from shared.contracts import province as p


@dataclass(frozen=True)
class UpsertInstitution:
    institution: Institution


@dataclass(frozen=True)
class QueryRegistry:
    """A province's system asks for a registry listing; the answer names the context's msgid."""

    request: p.RegistryQueryRequested


@dataclass(frozen=True)
class RecordRegion:
    """wallet.events.v1 says a region's wallet function was switched (the copy registry listings show)."""

    admdvs: str
    wallet_enabled: bool


@dataclass(frozen=True)
class RequestSettlement:
    setl_id: str
    request: p.SettlementRequested


@dataclass(frozen=True)
class RequestContribution:
    setl_id: str
    request: p.ContributionRequested


@dataclass(frozen=True)
class CancelSettlement:
    request: p.SettlementCancelRequested


@dataclass(frozen=True)
class Reverse:
    request: p.ReversalRequested


@dataclass(frozen=True)
class RecordDebit:
    """wallet.payment-debited: the wallet took the money."""

    setl_id: str
    debited: Debited


@dataclass(frozen=True)
class RecordRefusal:
    """wallet.payment-refused: the wallet took nothing."""

    setl_id: str
    reason_code: str
    reason: str


@dataclass(frozen=True)
class RecordRefund:
    """wallet.payment-refunded: the wallet gave the money back."""

    setl_id: str


@dataclass(frozen=True)
class GiveUpOnWalletAnswer:
    """The wallet's answer could not be applied (dead-lettered): money_taken when it was a debit."""

    setl_id: str
    money_taken: bool


@dataclass(frozen=True)
class RecordInsuredPerson:
    """relationship.events.v1 says where a person is insured now (the copy whose region's standard applies)."""

    psn_no: str
    insuplc_admdvs: str
    version: int


@dataclass(frozen=True)
class SetContributionStandard:
    """An operator sets a region's (a province's xx0000, the nation's 000000) yearly personal contribution."""

    admdvs: str
    insutype: str
    year: int
    amount: Decimal
    source: str
