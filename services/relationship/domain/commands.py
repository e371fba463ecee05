"""What the relationship service is asked to do. Who asks (the authenticated sender, the message id) is the
context's, not the command's (service_layer/context.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.relationship.domain.people import Person


@dataclass(frozen=True)
class RecordEnrolment:
    person: Person
    change_reason: str


@dataclass(frozen=True)
class RequestBind:
    relationship_id: str
    provider_psn_no: str
    recipient_psn_no: str
    kinship: str
    recipient_certno_hash: str
    recipient_name_hash: str


@dataclass(frozen=True)
class ConfirmBind:
    relationship_id: str
    recipient_psn_no: str


@dataclass(frozen=True)
class TerminateRelationship:
    relationship_id: str
    requested_by_psn_no: str


@dataclass(frozen=True)
class SetPolicy:
    admdvs: str
    settings: dict[str, Any]
    changed_by: str
    replace: bool = False
    unset: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExpireBindRequests:
    """The sweep: up to `limit` bind requests nobody consented to in time end."""

    limit: int = 100


@dataclass(frozen=True)
class UpgradePolicies:
    """At start: rows still in the legacy terms are rewritten in kinship caps."""
