"""The ports of the relationship service's layer: what its use cases need from storage, as Protocols. PostgreSQL
implements them in services/relationship/adapters/, memory in adapters/memory.py; tests/ports/ runs one abstract
test per port against both."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from services.relationship.domain.people import Person
from services.relationship.domain.relationships import Relationship, Standing


class People(Protocol):
    async def get_for_update(self, psn_no: str) -> Person | None:
        """The person, locked; so is the psn_no when nobody has it yet (two first enrolments wait in turn)."""

    async def save(self, person: Person, change_reason: str) -> int:
        """The person's new version (1 for a first enrolment)."""

    async def lock(self, *psn_nos: str) -> dict[str, Person]:
        """The enrolled ones among them, locked in one order (decisions about the same people run in turn)."""


class Relationships(Protocol):
    async def add(self, rel: Relationship, msgid: str) -> None:
        """A new bind request (`msgid`: the request that made it)."""

    async def get(self, relationship_id: str) -> Relationship | None: ...

    async def get_for_update(self, relationship_id: str) -> Relationship | None: ...

    async def save(self, rel: Relationship) -> None:
        """Its status, version and the instants and reason of its transitions; only over an older version
        (RelationshipStateError otherwise: a copy read without its lock, or saved twice, never overwrites)."""

    async def active_of(self, psn_no: str) -> list[Relationship]:
        """The person's pending and established relationships, as a party of either side, locked, by id."""

    async def expired_pending(self, now: datetime, limit: int) -> list[Relationship]:
        """Bind requests past their deadline, the oldest deadline first, locked (those locked elsewhere skipped)."""

    async def standing(self, provider: str, recipient: str, exclude: str | None = None) -> Standing:
        """What is already bound around the two people (active relationships, `exclude` left out)."""


class Policies(Protocol):
    async def rows(self, *admdvs: str) -> dict[str, dict[str, Any]]:
        """The stored rows of the regions, their provinces and the nation (the levels a policy inherits)."""

    async def for_update(self, admdvs: str, created_by: str) -> tuple[dict[str, Any], int]:
        """A region's row and its version, locked (an empty row, version 0, when it has none yet)."""

    async def save(self, admdvs: str, settings: dict[str, Any], version: int, changed_by: str) -> None: ...

    async def all_for_update(self) -> dict[str, dict[str, Any]]:
        """Every row, locked, in region order."""
