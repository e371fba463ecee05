"""The composition of a relationship use case's context on PostgreSQL: one message's transaction (its
connection), the business clock and the authenticated sender."""

from __future__ import annotations

from datetime import timedelta

from services.relationship.adapters.people_repository import PeopleRepository
from services.relationship.adapters.policy_repository import PolicyRepository
from services.relationship.adapters.relationship_repository import RelationshipRepository
from services.relationship.service_layer.context import RelationshipContext
from services.relationship.service_layer.ports import Clock
from shared.contracts.topics import PLATFORM_SENDER
from shared.db.pool import Conn


def postgres_context(
    conn: Conn,
    clock: Clock,
    sender: str = PLATFORM_SENDER,
    msgid: str = "",
    trusted: frozenset[str] = frozenset(),
    enrolment_max_ahead: timedelta = timedelta(days=31),
) -> RelationshipContext:
    return RelationshipContext(
        people=PeopleRepository(conn),
        relationships=RelationshipRepository(conn),
        policies=PolicyRepository(conn),
        clock=clock,
        sender=sender,
        msgid=msgid,
        trusted=trusted,
        enrolment_max_ahead=enrolment_max_ahead,
    )
