"""Events on relationship.events.v1: every state change, for analytics and the other services.
No certificate number or name in clear: keyed hashes only."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, Field

from shared.contracts.envelope import Admdvs, PsnNo
from shared.contracts.events import DomainEvent
from shared.contracts.topics import RELATIONSHIP_EVENTS


class RelationshipEvent(DomainEvent):
    """An event of the relationship service."""

    STREAM = RELATIONSHIP_EVENTS


class PersonEnrolmentChanged(RelationshipEvent):
    """The platform's copy of a person's enrolment changed; other services keep their own copy from this."""

    TYPE = "relationship.person-enrolment-changed"

    psn_no: PsnNo
    version: int = Field(ge=1, description="the person's version after this change: copies keep the highest")
    certno_hash: str
    name_hash: str
    psn_cert_type: str
    insutype: str
    psn_insu_stas: str
    insuplc_admdvs: Admdvs
    has_personal_account: bool
    change_reason: str
    may_provide: bool
    may_receive: bool
    effective_at: AwareDatetime


class RelationshipChange(RelationshipEvent):
    """What every change of a relationship says first: which one, its version, its parties and their kinship."""

    relationship_id: str
    version: int = Field(ge=1, description="the relationship's version after this change: copies keep the highest")
    provider_psn_no: PsnNo
    recipient_psn_no: PsnNo
    kinship: str


class RelationshipRequested(RelationshipChange):
    """A provider asked to bind a relative; it waits for the recipient's consent until `expires_at`."""

    TYPE = "relationship.relationship-requested"

    kinship_group: str
    provider_admdvs: Admdvs
    recipient_admdvs: Admdvs
    expires_at: AwareDatetime
    occurred_at: AwareDatetime


class RelationshipRefused(RelationshipEvent):
    """A bind request or confirmation was refused (the sender got `rejected` with this code)."""

    TYPE = "relationship.bind-refused"

    relationship_id: str | None = None
    provider_psn_no: PsnNo
    recipient_psn_no: PsnNo
    kinship: str
    reason_code: str
    occurred_at: AwareDatetime


class RelationshipEstablishedEvent(RelationshipChange):
    """Both parties consented: the provider's account may now help the recipient."""

    TYPE = "relationship.relationship-established"

    kinship_group: str
    provider_admdvs: Admdvs
    recipient_admdvs: Admdvs
    occurred_at: AwareDatetime


class RelationshipEndedEvent(RelationshipChange):
    """A relationship (or a bind request) ended. When `was_established`, the recipient's unspent quota from
    this provider goes back to the provider's account (the wallet service acts on this event)."""

    TYPE = "relationship.relationship-ended"

    reason: str
    detail: str | None
    was_established: bool
    provider_admdvs: Admdvs
    recipient_admdvs: Admdvs
    occurred_at: AwareDatetime


class PolicyChanged(RelationshipEvent):
    """An operator changed a region's policy row (the override, not the effective policy)."""

    TYPE = "relationship.policy-changed"

    admdvs: Admdvs
    settings: dict[str, Any]
    version: int
    changed_by: str
    occurred_at: AwareDatetime


EVENTS: tuple[type[RelationshipEvent], ...] = (
    PersonEnrolmentChanged,
    RelationshipRequested,
    RelationshipRefused,
    RelationshipEstablishedEvent,
    RelationshipEndedEvent,
    PolicyChanged,
)
