"""What the relationship service is asked to do."""

from __future__ import annotations

from dataclasses import dataclass

from services.relationship.domain.people import Person


@dataclass(frozen=True)
class RecordEnrolment:
    person: Person
    change_reason: str
