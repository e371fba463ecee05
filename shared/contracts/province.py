"""Province interface v1: one pydantic model per message body, and the catalogue of types.

Field names are the national ones. Models check form (types, codes, money strings); rules that
have their own rejection reason code (kinship, amount range, contribution insurance type, ...)
are checked by the services, so the sender gets that code rather than INVALID_MESSAGE.
"""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    model_validator,
)

from shared.contracts import topics
from shared.contracts.envelope import FIRST_YEAR, LAST_YEAR, Admdvs, MsgId, Period, PsnNo, RegionCode, WireTime
from shared.money import Amount, Money

Name = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Code = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,6}$")]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
FixmedinsCode = Annotated[str, StringConstraints(pattern=r"^[A-Z][0-9A-Z]{11}$")]

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def _iso_date(value: Any) -> Any:
    """A date on the wire is the string YYYY-MM-DD in ASCII digits (not a number, nor a time)."""
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    if isinstance(value, date):
        return value
    raise ValueError("a date is a string YYYY-MM-DD")


def _in_business_years(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"a date lies in the years {FIRST_YEAR}-{LAST_YEAR}")
    return value


BusinessDate = Annotated[date, BeforeValidator(_iso_date), AfterValidator(_in_business_years)]
"""YYYY-MM-DD of 2000-2099: a day more (the end of a statement's range) is still a date."""
Year = Annotated[int, Strict(), Field(ge=FIRST_YEAR, le=2100)]
"""A JSON integer (not a string, a float or a boolean)."""


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# --- ingress: ingress.enrollment.v1 -------------------------------------------------------


class EnrollmentChanged(Body):
    """A person's insurance enrolment changed (enrol, suspend, resume, terminate, transfer, death)."""

    psn_no: PsnNo
    psn_name: Name
    psn_cert_type: Code = Field(description="01 resident ID card, 90 social security card, 99 other")
    certno: Annotated[str, StringConstraints(min_length=1, max_length=50)] = Field(
        description="certificate number; hashed on arrival, never stored or forwarded in clear"
    )
    insutype: Code = Field(description="310 employee basic, 390 resident basic, 410 long-term care, 510 maternity")
    psn_insu_stas: Code = Field(description="1 normal, 2 suspended, 4 terminated")
    insuplc_admdvs: RegionCode
    has_personal_account: bool
    change_reason: Literal["enrol", "suspend", "resume", "terminate", "transfer", "death"]
    effective_at: WireTime


class AccountCredited(Body):
    """Money credited to a personal account by its insured region."""

    psn_no: PsnNo
    amount: Amount
    period: Period
    kind: Literal["contribution", "retiree_allocation", "interest"] = Field(
        "contribution", description="optional on the wire; absent means contribution"
    )


# --- ingress: ingress.registry.v1 ---------------------------------------------------------


class RegionWalletStatusChanged(Body):
    admdvs: RegionCode
    wallet_enabled: bool


class InstitutionUpserted(Body):
    fixmedins_code: FixmedinsCode
    fixmedins_name: Name
    fixmedins_type: Literal["1", "2"] = Field(description="1 medical institution, 2 retail pharmacy")
    admdvs: RegionCode
    wallet_enabled: bool


# --- ingress: ingress.relationship.v1 -----------------------------------------------------


class RegistryQueryRequested(Body):
    """Interface v1.1: regions with their wallet status, or institutions of a region or a province (`xx0000`)."""

    what: Literal["regions", "institutions"]
    admdvs: RegionCode
    fixmedins_type: Literal["1", "2"] | None = None
    cursor: RegistryCursor | None = None


RegistryCursor = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}(:[A-Z][0-9A-Z]{11})?$")]
"""A `next_cursor` of a listing: the last region code listed, or `admdvs:fixmedins_code` of the last institution."""


class RelationshipBindRequested(Body):
    provider_psn_no: PsnNo
    recipient_psn_no: PsnNo
    kinship: Annotated[str, StringConstraints(min_length=1, max_length=40)] = Field(
        description="what the recipient is to the provider: spouse, parent, child, sibling, grandparent, "
        "maternal_grandparent, grandchild, maternal_grandchild (anything else: NOT_CLOSE_RELATIVE)"
    )
    recipient_certno: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    recipient_name: Name


class RelationshipBindConfirmed(Body):
    relationship_id: Id
    recipient_psn_no: PsnNo


class RelationshipTerminateRequested(Body):
    relationship_id: Id
    requested_by_psn_no: PsnNo


# --- ingress: ingress.wallet.v1 -----------------------------------------------------------


class WalletOpenRequested(Body):
    psn_no: PsnNo
    usage_admdvs: RegionCode
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{6,20}$")]


FreezeReason = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class WalletFreezeRequested(Body):
    """Interface v1.1: from the person's insured province or the national operator (misuse of the funds)."""

    psn_no: PsnNo
    reason: FreezeReason


class WalletUnfreezeRequested(Body):
    psn_no: PsnNo
    reason: FreezeReason


StatementCursor = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,18}$")]
"""A `next_cursor` of a statement: the number of the last movement listed."""


class WalletStatementRequested(Body):
    """Interface v1.1: from the person's insured province or the national app's gateway."""

    psn_no: PsnNo
    from_date: BusinessDate = Field(description="YYYY-MM-DD, business date (Asia/Shanghai), of 2000-2099")
    to_date: BusinessDate = Field(description="YYYY-MM-DD, at most 366 days after from_date")
    cursor: StatementCursor | None = None

    @model_validator(mode="after")
    def _a_year_at_most(self) -> WalletStatementRequested:
        if not 0 <= (self.to_date - self.from_date).days <= 366:
            raise ValueError("to_date is from_date or later, at most 366 days apart")
        return self


class TransferRequested(Body):
    from_psn_no: PsnNo
    to_psn_no: PsnNo
    to_certno: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    to_name: Name
    amount: Amount
    verification: Literal["face", "password"]
    verified: bool


class TransferAccepted(Body):
    transfer_id: Id
    psn_no: PsnNo = Field(description="the recipient")


class TransferDeclined(Body):
    transfer_id: Id
    psn_no: PsnNo = Field(description="the recipient")


# --- ingress: ingress.settlement.v1 -------------------------------------------------------


class SettlementRequested(Body):
    """Like national interface 2207."""

    mdtrt_id: Id
    psn_no: PsnNo
    fixmedins_code: FixmedinsCode
    mdtrtarea_admvs: RegionCode
    med_type: Code = Field(description="11 general outpatient, 14 chronic outpatient, 2101 inpatient, 41 pharmacy")
    medfee_sumamt: Amount
    fund_pay_sumamt: Amount
    psn_part_amt: Amount
    acct_used_flag: Literal["0", "1", "2"]
    provider_psn_no: PsnNo | None = Field(None, description="required when acct_used_flag is 2")
    use_wallet: bool = False
    setl_time: WireTime

    @model_validator(mode="after")
    def _provider_when_binding(self) -> SettlementRequested:
        if self.acct_used_flag == "2" and not self.provider_psn_no:
            raise ValueError("provider_psn_no is required when acct_used_flag is 2")
        return self


class SettlementCancelRequested(Body):
    """Like national interface 2208."""

    setl_id: Id
    mdtrt_id: Id
    psn_no: PsnNo


class ReversalRequested(Body):
    """Like national interface 2601: undo an earlier request by its msgid."""

    omsgid: MsgId
    otype: Annotated[str, StringConstraints(min_length=1, max_length=60)]


class ContributionRequested(Body):
    payer_psn_no: PsnNo
    insured_psn_no: PsnNo
    insutype: Code = Field(description="390 or 410; anything else: PURPOSE_NOT_ALLOWED")
    amount: Amount
    year: Year


# --- ingress: ingress.clearing.v1 ---------------------------------------------------------


class ClearingCloseRequested(Body):
    period: Period


class StatementConfirmed(Body):
    statement_id: Id
    admdvs: RegionCode


class StatementDisputed(Body):
    statement_id: Id
    admdvs: RegionCode
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


# --- egress: province.<prov>.notifications.v1 ---------------------------------------------

ResultStatus = Literal["completed", "accepted", "rejected"]


class RequestResult(Body):
    """Exactly one per ingress message. `accepted` = valid and waiting for someone."""

    omsgid: MsgId
    otype: str
    status: ResultStatus
    reason_code: str | None = None
    reason: str | None = None
    relationship_id: str | None = None
    transfer_id: str | None = None
    setl_id: str | None = None
    statement_id: str | None = None

    def wire(self) -> dict[str, object]:
        """As on the wire: reason fields always present (null when none), created ids only when set."""
        data = self.model_dump(mode="json", exclude_none=True)
        data.setdefault("reason_code", None)
        data.setdefault("reason", None)
        return data


class TransferPending(Body):
    transfer_id: Id
    from_psn_no: PsnNo
    to_psn_no: PsnNo
    amount: Money
    expires_at: AwareDatetime


class TransferCompleted(Body):
    transfer_id: Id
    from_psn_no: PsnNo
    to_psn_no: PsnNo
    amount: Money


class TransferReturned(Body):
    transfer_id: Id
    from_psn_no: PsnNo
    to_psn_no: PsnNo
    amount: Money
    reason: Literal["declined", "expired", "relationship_ended", "frozen"]


class WalletFrozen(Body):
    """Interface v1.1, to the person's insured province: the wallet cannot receive or pay, the personal account
    cannot send transfers; the quota stays where it is."""

    psn_no: PsnNo
    reason: FreezeReason


class WalletUnfrozen(Body):
    psn_no: PsnNo
    reason: FreezeReason


class RegionListed(Body):
    admdvs: Admdvs
    wallet_enabled: bool


class InstitutionListed(Body):
    fixmedins_code: FixmedinsCode
    fixmedins_name: Name
    fixmedins_type: Literal["1", "2"]
    admdvs: Admdvs
    wallet_enabled: bool


class RegistryListing(Body):
    """Interface v1.1, to the requester's province only: at most 500 items a page, in code order."""

    omsgid: MsgId
    what: Literal["regions", "institutions"]
    items: list[RegionListed] | list[InstitutionListed]
    next_cursor: str | None = Field(None, description="absent on the last page; pass it as `cursor` for the next")


class QuotaOfRegion(Body):
    """Quota in a wallet funded from one region; the provider is never named."""

    provider_admdvs: Admdvs
    amount: Money


MovementKind = Literal[
    "transfer_in",
    "transfer_returned",
    "payment",
    "payment_cancelled",
    "contribution",
    "quota_returned",
    "credit",
    "transfer_out",
]


class StatementMovement(Body):
    """One change to what the member may spend, with the balance of that account after it."""

    at: AwareDatetime = Field(description="business time")
    kind: MovementKind
    account: Literal["wallet", "personal"] = Field(
        description="the account it moved (platform addition): `balance_after` is that account's"
    )
    amount: Money = Field(description="signed: negative when it left the account")
    balance_after: Money
    transfer_id: str | None = Field(None, description="the transfer (or credit) it belongs to")
    setl_id: str | None = Field(None, description="the settlement or contribution it belongs to")


class FreezeListed(Body):
    """A freeze or unfreeze the platform accepted for the person (platform addition)."""

    at: AwareDatetime
    action: Literal["frozen", "unfrozen"]
    by: Literal["province", "national"]
    changed: bool = Field(description="false when the wallet was frozen (or not) already")
    reason: FreezeReason


class WalletStatement(Body):
    """Interface v1.1, to the requester's province only: balances now, and the movements of the date range,
    oldest first, at most 500 a page."""

    omsgid: MsgId
    psn_no: PsnNo
    wallet_balc: Money
    acct_balc: Money | None = Field(None, description="the person's own personal account, if they have one")
    frozen: bool
    quota: list[QuotaOfRegion]
    movements: list[StatementMovement]
    freezes: list[FreezeListed] = Field(
        default_factory=list,
        description="platform addition: freezes in the date range (the last 100), on the first page only",
    )
    next_cursor: str | None = Field(None, description="absent on the last page; pass it as `cursor` for the next")


class RelationshipEstablished(Body):
    relationship_id: Id
    provider_psn_no: PsnNo
    recipient_psn_no: PsnNo
    kinship: str


class RelationshipEnded(Body):
    relationship_id: Id
    provider_psn_no: PsnNo
    recipient_psn_no: PsnNo
    reason: str = Field(
        description="terminated_by_provider, terminated_by_recipient, insurance_changed (either party suspended, "
        "terminated, transferred, died or lost eligibility), bind_request_expired"
    )
    detail: str | None = Field(None, description="for insurance_changed: whose enrolment changed, and how")


class SettlementCompleted(Body):
    setl_id: Id
    mdtrt_id: Id
    psn_no: PsnNo
    fixmedins_code: FixmedinsCode
    acct_pay: Money
    acct_mulaid_pay: Money
    wallet_pay: Money
    psn_cash_pay: Money
    balc: Money = Field(description="the patient's own personal-account balance after the settlement")
    wallet_balc: Money | None = Field(None, description="platform addition: the quota left in the patient's wallet")


class SettlementCancelled(Body):
    setl_id: Id
    mdtrt_id: Id
    psn_no: PsnNo


class CounterpartAmount(Body):
    admdvs: Admdvs
    owes: Money
    owed: Money
    net: Money


class ClearingStatementIssued(Body):
    """One region's statement for a closed month: per counterpart region what it owes (its fund supplied
    money spent there) and is owed, and the net (owed - owes)."""

    statement_id: Id
    period: Period
    admdvs: Admdvs
    counterparts: list[CounterpartAmount]
    owes: Money | None = Field(None, description="platform addition: the total it owes")
    owed: Money | None = Field(None, description="platform addition: the total it is owed")
    net: Money | None = Field(None, description="platform addition: owed - owes")


# --- the catalogue ------------------------------------------------------------------------

ServiceName = Literal["wallet", "relationship", "payment", "clearing"]


@dataclass(frozen=True)
class IngressType:
    """An ingress message type: where it arrives, its body, and the one service that answers it."""

    type: str
    topic: str
    body: builtins.type[Body]
    owner: ServiceName
    key_field: str


INGRESS: dict[str, IngressType] = {
    t.type: t
    for t in (
        IngressType("enrollment.changed", topics.INGRESS_ENROLLMENT, EnrollmentChanged, "relationship", "psn_no"),
        IngressType("account.credited", topics.INGRESS_ENROLLMENT, AccountCredited, "wallet", "psn_no"),
        IngressType(
            "region.wallet-status-changed", topics.INGRESS_REGISTRY, RegionWalletStatusChanged, "wallet", "admdvs"
        ),
        IngressType("institution.upserted", topics.INGRESS_REGISTRY, InstitutionUpserted, "payment", "admdvs"),
        IngressType("registry.query-requested", topics.INGRESS_REGISTRY, RegistryQueryRequested, "payment", "admdvs"),
        IngressType(
            "relationship.bind-requested",
            topics.INGRESS_RELATIONSHIP,
            RelationshipBindRequested,
            "relationship",
            "provider_psn_no",
        ),
        IngressType(
            "relationship.bind-confirmed",
            topics.INGRESS_RELATIONSHIP,
            RelationshipBindConfirmed,
            "relationship",
            "recipient_psn_no",
        ),
        IngressType(
            "relationship.terminate-requested",
            topics.INGRESS_RELATIONSHIP,
            RelationshipTerminateRequested,
            "relationship",
            "requested_by_psn_no",
        ),
        IngressType("wallet.open-requested", topics.INGRESS_WALLET, WalletOpenRequested, "wallet", "psn_no"),
        IngressType("transfer.requested", topics.INGRESS_WALLET, TransferRequested, "wallet", "from_psn_no"),
        IngressType("transfer.accepted", topics.INGRESS_WALLET, TransferAccepted, "wallet", "psn_no"),
        IngressType("transfer.declined", topics.INGRESS_WALLET, TransferDeclined, "wallet", "psn_no"),
        IngressType("wallet.statement-requested", topics.INGRESS_WALLET, WalletStatementRequested, "wallet", "psn_no"),
        IngressType("wallet.freeze-requested", topics.INGRESS_WALLET, WalletFreezeRequested, "wallet", "psn_no"),
        IngressType("wallet.unfreeze-requested", topics.INGRESS_WALLET, WalletUnfreezeRequested, "wallet", "psn_no"),
        IngressType("settlement.requested", topics.INGRESS_SETTLEMENT, SettlementRequested, "payment", "psn_no"),
        IngressType(
            "settlement.cancel-requested", topics.INGRESS_SETTLEMENT, SettlementCancelRequested, "payment", "psn_no"
        ),
        IngressType("reversal.requested", topics.INGRESS_SETTLEMENT, ReversalRequested, "payment", "omsgid"),
        IngressType(
            "contribution.requested", topics.INGRESS_SETTLEMENT, ContributionRequested, "payment", "payer_psn_no"
        ),
        IngressType("clearing.close-requested", topics.INGRESS_CLEARING, ClearingCloseRequested, "clearing", "period"),
        IngressType("statement.confirmed", topics.INGRESS_CLEARING, StatementConfirmed, "clearing", "statement_id"),
        IngressType("statement.disputed", topics.INGRESS_CLEARING, StatementDisputed, "clearing", "statement_id"),
    )
}

NATIONAL_OPERATOR_TYPES: tuple[str, ...] = (
    "clearing.close-requested",
    "wallet.freeze-requested",
    "wallet.unfreeze-requested",
)
"""All a national operator's sender code may send (MEDAID_NATIONAL_OPERATORS, ADR 0016); anything else from it is
refused SENDER_NOT_ALLOWED before any handler: its code lies inside a province, and must never act as that
province's systems."""

_INGRESS_BY_BODY: dict[builtins.type[Body], IngressType] = {t.body: t for t in INGRESS.values()}
assert len(_INGRESS_BY_BODY) == len(INGRESS), "each ingress type has a body model of its own"


def ingress_type_of(body: builtins.type[Body]) -> IngressType:
    """The ingress type whose body `body` is: a handler is registered by its model, and the type's name is written
    only in INGRESS."""
    try:
        return _INGRESS_BY_BODY[body]
    except KeyError:
        raise ValueError(f"{body.__name__} is the body of no ingress type: see INGRESS") from None


# The service that answers what cannot be attributed to a type (unreadable JSON, unknown type) on each topic.
TOPIC_PRIMARY: dict[str, ServiceName] = {
    topics.INGRESS_ENROLLMENT: "relationship",
    topics.INGRESS_REGISTRY: "wallet",
    topics.INGRESS_RELATIONSHIP: "relationship",
    topics.INGRESS_WALLET: "wallet",
    topics.INGRESS_SETTLEMENT: "payment",
    topics.INGRESS_CLEARING: "clearing",
}

NOTIFICATIONS: dict[str, type[Body]] = {
    "request.result": RequestResult,
    "transfer.pending": TransferPending,
    "transfer.completed": TransferCompleted,
    "transfer.returned": TransferReturned,
    "wallet.frozen": WalletFrozen,
    "registry.listing": RegistryListing,
    "wallet.statement": WalletStatement,
    "wallet.unfrozen": WalletUnfrozen,
    "relationship.established": RelationshipEstablished,
    "relationship.ended": RelationshipEnded,
    "settlement.completed": SettlementCompleted,
    "settlement.cancelled": SettlementCancelled,
    "clearing.statement-issued": ClearingStatementIssued,
}

ALL_MESSAGES: dict[str, type[Body]] = {**{k: v.body for k, v in INGRESS.items()}, **NOTIFICATIONS}


def ingress_topics_of(service: str) -> tuple[str, ...]:
    """Topics a service consumes: those carrying a type it answers, or whose garbage it answers."""
    mine = {t.topic for t in INGRESS.values() if t.owner == service}
    mine |= {topic for topic, primary in TOPIC_PRIMARY.items() if primary == service}
    return tuple(t for t in topics.INGRESS_TOPICS if t in mine)
