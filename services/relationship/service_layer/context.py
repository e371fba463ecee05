"""The unit of work a relationship use case runs in: the `Caller` it acts for and one transaction's ports (built by
entrypoints/unit_of_work.py on PostgreSQL, adapters/memory.py in tests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from services.relationship.service_layer.ports import People, Policies, Relationships
from shared.caller import Caller


@dataclass(frozen=True)
class RelationshipContext:
    caller: Caller
    people: People
    relationships: Relationships
    policies: Policies
    enrolment_max_ahead: timedelta = timedelta(days=31)
    """How far ahead an enrolment change may take effect."""
