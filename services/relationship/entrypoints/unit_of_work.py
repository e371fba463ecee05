"""A relationship use case's context on PostgreSQL: the `Caller` it acts for and the ports of one transaction (its
connection)."""

from __future__ import annotations

from datetime import timedelta

from services.relationship.adapters.people_repository import PeopleRepository
from services.relationship.adapters.policy_repository import PolicyRepository
from services.relationship.adapters.relationship_repository import RelationshipRepository
from services.relationship.service_layer.context import RelationshipContext
from shared.caller import Caller
from shared.db.pool import Conn


def postgres_context(
    conn: Conn, caller: Caller, enrolment_max_ahead: timedelta = timedelta(days=31)
) -> RelationshipContext:
    return RelationshipContext(
        caller,
        people=PeopleRepository(conn),
        relationships=RelationshipRepository(conn),
        policies=PolicyRepository(conn),
        enrolment_max_ahead=enrolment_max_ahead,
    )
