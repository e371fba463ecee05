"""Who may help whom: the binding rules, as pure decisions over what the service knows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from services.relationship.domain import events
from services.relationship.domain.people import Person
from shared.contracts.policy import RegionalPolicy
from shared.contracts.reasons import ReasonCode
from shared.identity import redact_text

KinshipGroup = Literal["immediate", "extended"]
KINSHIP_GROUP: dict[str, KinshipGroup] = {
    "spouse": "immediate",
    "parent": "immediate",
    "child": "immediate",
    "sibling": "extended",
    "grandparent": "extended",
    "maternal_grandparent": "extended",
    "grandchild": "extended",
    "maternal_grandchild": "extended",
}
"""The eight close relatives of the Civil Code, by what the recipient is to the provider, with the group the
events carry as `kinship_group` for analytics: immediate family (spouse, parents, children) or not. Regional
caps do not use the groups: they name their own sets of kinships (`RegionalPolicy.kinship_caps`)."""


class Status(StrEnum):
    PENDING = "pending"
    ESTABLISHED = "established"
    ENDED = "ended"


class EndReason(StrEnum):
    TERMINATED_BY_PROVIDER = "terminated_by_provider"
    TERMINATED_BY_RECIPIENT = "terminated_by_recipient"
    INSURANCE_CHANGED = "insurance_changed"
    BIND_REQUEST_EXPIRED = "bind_request_expired"


class RelationshipStateError(Exception):
    """A transition the relationship's state does not allow (a bug in the caller: the use cases check first)."""


@dataclass
class Relationship:
    """A bind request and, once the recipient consents, the relationship: pending -> established -> ended, or
    pending -> ended. Each transition is guarded, bumps the version the events carry, and returns its event."""

    relationship_id: str
    provider_psn_no: str
    recipient_psn_no: str
    kinship: str
    status: Status
    provider_admdvs: str
    recipient_admdvs: str
    expires_at: datetime
    requested_at: datetime | None = None
    version: int = 1
    established_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: EndReason | None = None
    end_detail: str | None = None

    @classmethod
    def request(
        cls, relationship_id: str, provider: Person, recipient: Person, kinship: str, ttl: timedelta, now: datetime
    ) -> tuple[Relationship, events.RelationshipRequested]:
        """A pending bind request, waiting for the recipient's consent for `ttl` (the provider region's)."""
        rel = cls(
            relationship_id,
            provider.psn_no,
            recipient.psn_no,
            kinship,
            Status.PENDING,
            provider.insuplc_admdvs,
            recipient.insuplc_admdvs,
            now + ttl,
            requested_at=now,
        )
        requested = events.RelationshipRequested(
            relationship_id=rel.relationship_id,
            version=rel.version,
            provider_psn_no=rel.provider_psn_no,
            recipient_psn_no=rel.recipient_psn_no,
            kinship=kinship,
            kinship_group=KINSHIP_GROUP[kinship],
            provider_admdvs=rel.provider_admdvs,
            recipient_admdvs=rel.recipient_admdvs,
            expires_at=rel.expires_at,
            occurred_at=now,
        )
        return rel, requested

    def overdue(self, now: datetime) -> bool:
        return self.status is Status.PENDING and self.expires_at <= now

    def establish(self, now: datetime) -> events.RelationshipEstablishedEvent:
        if self.status is not Status.PENDING:
            raise RelationshipStateError(f"{self.relationship_id} is {self.status}, not pending")
        self.status, self.established_at, self.version = Status.ESTABLISHED, now, self.version + 1
        return events.RelationshipEstablishedEvent(
            relationship_id=self.relationship_id,
            version=self.version,
            provider_psn_no=self.provider_psn_no,
            recipient_psn_no=self.recipient_psn_no,
            kinship=self.kinship,
            kinship_group=KINSHIP_GROUP[self.kinship],
            provider_admdvs=self.provider_admdvs,
            recipient_admdvs=self.recipient_admdvs,
            occurred_at=now,
        )

    def end(self, reason: EndReason, detail: str | None, now: datetime) -> events.RelationshipEndedEvent:
        if self.status is Status.ENDED:
            raise RelationshipStateError(f"{self.relationship_id} has ended already")
        was_established = self.status is Status.ESTABLISHED
        self.status, self.ended_at, self.version = Status.ENDED, now, self.version + 1
        self.end_reason, self.end_detail = reason, detail
        return events.RelationshipEndedEvent(
            relationship_id=self.relationship_id,
            version=self.version,
            provider_psn_no=self.provider_psn_no,
            recipient_psn_no=self.recipient_psn_no,
            kinship=self.kinship,
            reason=reason.value,
            detail=detail,
            was_established=was_established,
            provider_admdvs=self.provider_admdvs,
            recipient_admdvs=self.recipient_admdvs,
            occurred_at=now,
        )


@dataclass(frozen=True)
class Standing:
    """What is already bound around the two people, counted over active (pending or established) relationships."""

    provider_recipients: int = 0
    provider_recipients_by_kinship: dict[str, int] = field(default_factory=dict)
    recipient_providers: int = 0
    provider_is_recipient: bool = False
    recipient_is_provider: bool = False
    pair_exists: bool = False
    reverse_exists: bool = False


@dataclass(frozen=True)
class Refusal:
    code: ReasonCode
    reason: str


def check_kinship(provider_psn_no: str, recipient_psn_no: str, kinship: str) -> Refusal | None:
    if kinship not in KINSHIP_GROUP:
        shown = redact_text(kinship[:40])  # free text from a province: never echo an ID number
        return Refusal(ReasonCode.NOT_CLOSE_RELATIVE, f"{shown!r} is not one of the eight close relatives")
    if provider_psn_no == recipient_psn_no:
        return Refusal(ReasonCode.NOT_CLOSE_RELATIVE, "provider and recipient are the same person")
    return None


def check_eligibility(provider: Person | None, recipient: Person | None) -> Refusal | None:
    if provider is None:
        return Refusal(ReasonCode.UNKNOWN_PERSON, "the provider is not enrolled on the platform")
    if recipient is None:
        return Refusal(ReasonCode.UNKNOWN_PERSON, "the recipient is not enrolled on the platform")
    if not provider.may_provide:
        return Refusal(
            ReasonCode.NOT_ELIGIBLE_PROVIDER,
            "a provider must be employee-insured (310), in normal status, with a personal account",
        )
    if not recipient.may_receive:
        return Refusal(
            ReasonCode.NOT_ELIGIBLE_RECIPIENT, "a recipient must be employee- or resident-insured (310/390), normal"
        )
    return None


def check_identity(recipient: Person, certno_hash: str, name_hash: str) -> Refusal | None:
    """Both keyed hashes (shared.identity) of what the requester named match the enrolment's."""
    if recipient.certno_hash != certno_hash or recipient.name_hash != name_hash:
        return Refusal(ReasonCode.IDENTITY_MISMATCH, "the recipient's certificate number or name does not match")
    return None


def check_policy(
    kinship: str, standing: Standing, provider_policy: RegionalPolicy, recipient_policy: RegionalPolicy
) -> Refusal | None:
    """Provider-side limits from the provider's region, recipient-side from the recipient's, two-way from both."""
    if standing.pair_exists:
        return Refusal(ReasonCode.RELATIONSHIP_EXISTS, "these two people already have an active relationship")
    cap = provider_policy.max_active_recipients_per_provider
    if cap is not None and standing.provider_recipients >= cap:
        return Refusal(ReasonCode.POLICY_LIMIT, f"the provider's region allows at most {cap} recipients")
    for kinship_cap in provider_policy.kinship_caps:
        if kinship not in kinship_cap.kinships:
            continue
        bound = sum(standing.provider_recipients_by_kinship.get(k, 0) for k in kinship_cap.kinships)
        if bound >= kinship_cap.max:
            return Refusal(
                ReasonCode.POLICY_LIMIT,
                f"the provider's region allows {kinship_cap.english()} ({kinship_cap.bureau_terms()})",
            )
    if recipient_policy.recipient_single_provider and standing.recipient_providers >= 1:
        return Refusal(ReasonCode.POLICY_LIMIT, "the recipient's region allows only one provider per recipient")
    if not provider_policy.bound_recipient_may_provide and standing.provider_is_recipient:
        return Refusal(ReasonCode.POLICY_LIMIT, "in the provider's region a bound recipient may not be a provider")
    if not recipient_policy.bound_recipient_may_provide and standing.recipient_is_provider:
        return Refusal(ReasonCode.POLICY_LIMIT, "in the recipient's region a provider may not also be a recipient")
    if standing.reverse_exists and not (provider_policy.two_way_allowed and recipient_policy.two_way_allowed):
        return Refusal(ReasonCode.POLICY_LIMIT, "two-way relationships need both regions to allow them")
    return None


ENDING_CHANGES = frozenset({"suspend", "terminate", "transfer", "death"})


def ends_on_enrolment_change(rel: Relationship, person: Person, change_reason: str) -> bool:
    """Suspension, termination, transfer or death of either party ends the relationship; so does a change
    after which the person can no longer play their part in it, or now insured in another region."""
    if change_reason in ENDING_CHANGES:
        return True
    if rel.provider_psn_no == person.psn_no:
        return not person.may_provide or person.insuplc_admdvs != rel.provider_admdvs
    return not person.may_receive or person.insuplc_admdvs != rel.recipient_admdvs


def ends_on_late_change(rel: Relationship, person: Person, change_reason: str, recorded: Person) -> bool:
    """A change older than the one recorded (it arrived late) changes no person data. A death still ends
    everything (it is final); a suspension, termination or transfer ends what was requested before the
    newer recorded change took effect: those were requested while the person was not eligible."""
    if change_reason == "death":
        return True
    if change_reason not in ENDING_CHANGES or rel.requested_at is None:
        return False
    return rel.requested_at <= recorded.effective_at
