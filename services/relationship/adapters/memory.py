"""The relationship service's ports in memory, for unit tests of its use cases: the same behaviour as the
PostgreSQL adapters (tests/ports/ proves it, one abstract test per port). Reads hand out copies and only the
writes store them, as rows do; what PostgreSQL refuses (a second active relationship between the same two
people, a relationship id used twice), this refuses too."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.relationship.domain.people import Person
from services.relationship.domain.relationships import Relationship, RelationshipStateError, Standing, Status
from services.relationship.service_layer.context import RelationshipContext
from shared.caller import Caller
from shared.contracts.policy import SEED


class UniqueViolationError(Exception):
    """What PostgreSQL's unique constraints would refuse."""


@dataclass
class PolicyRow:
    settings: dict[str, Any]
    version: int
    updated_by: str


@dataclass
class MemoryRelationshipStore:
    people: dict[str, tuple[Person, int, str]] = field(default_factory=dict)
    """psn_no -> (person, version, last change reason)"""
    relationships: dict[str, tuple[Relationship, str]] = field(default_factory=dict)
    """relationship_id -> (relationship, the msgid that requested it)"""
    policies: dict[str, PolicyRow] = field(default_factory=dict)

    def context(self, caller: Caller, enrolment_max_ahead: timedelta = timedelta(days=31)) -> RelationshipContext:
        return RelationshipContext(
            caller,
            people=MemoryPeople(self),
            relationships=MemoryRelationships(self),
            policies=MemoryPolicies(self),
            enrolment_max_ahead=enrolment_max_ahead,
        )

    def seed_policies(self) -> None:
        """As `seed_policies` on PostgreSQL: the national defaults and the published variations (version 1)."""
        for admdvs, settings in SEED.items():
            self.policies.setdefault(admdvs, PolicyRow(copy.deepcopy(settings), 1, "seed"))

    def active(self) -> list[Relationship]:
        return [rel for rel, _ in self.relationships.values() if rel.status is not Status.ENDED]


class MemoryPeople:
    def __init__(self, db: MemoryRelationshipStore) -> None:
        self.db = db

    async def get_for_update(self, psn_no: str) -> Person | None:
        found = self.db.people.get(psn_no)
        return None if found is None else found[0]  # Person is frozen: no copy needed

    async def save(self, person: Person, change_reason: str) -> int:
        version = self.db.people[person.psn_no][1] + 1 if person.psn_no in self.db.people else 1
        self.db.people[person.psn_no] = (person, version, change_reason)
        return version

    async def lock(self, *psn_nos: str) -> dict[str, Person]:
        return {n: self.db.people[n][0] for n in sorted(set(psn_nos)) if n in self.db.people}


class MemoryRelationships:
    def __init__(self, db: MemoryRelationshipStore) -> None:
        self.db = db

    async def add(self, rel: Relationship, msgid: str) -> None:
        if rel.relationship_id in self.db.relationships:
            raise UniqueViolationError(f"relationship {rel.relationship_id} exists")
        self._check_one_active_per_pair(rel)
        self.db.relationships[rel.relationship_id] = (copy.copy(rel), msgid)

    async def get(self, relationship_id: str) -> Relationship | None:
        found = self.db.relationships.get(relationship_id)
        return None if found is None else copy.copy(found[0])

    async def get_for_update(self, relationship_id: str) -> Relationship | None:
        return await self.get(relationship_id)

    async def save(self, rel: Relationship) -> None:
        found = self.db.relationships.get(rel.relationship_id)
        if found is None or found[0].version >= rel.version:
            raise RelationshipStateError(f"{rel.relationship_id} is stored at version {rel.version} or later")
        stored, msgid = found
        self._check_one_active_per_pair(rel)
        # only what the UPDATE writes: the parties, the kinship and the deadline are the request's for good
        saved = copy.copy(stored)
        saved.status, saved.version = rel.status, rel.version
        saved.established_at, saved.ended_at = rel.established_at, rel.ended_at
        saved.end_reason, saved.end_detail = rel.end_reason, rel.end_detail
        self.db.relationships[rel.relationship_id] = (saved, msgid)

    async def active_of(self, psn_no: str) -> list[Relationship]:
        mine = [r for r in self.db.active() if psn_no in (r.provider_psn_no, r.recipient_psn_no)]
        return [copy.copy(r) for r in sorted(mine, key=lambda r: r.relationship_id)]

    async def expired_pending(self, now: datetime, limit: int) -> list[Relationship]:
        due = [r for r in self.db.active() if r.status is Status.PENDING and r.expires_at <= now]
        return [copy.copy(r) for r in sorted(due, key=lambda r: r.expires_at)[:limit]]

    async def standing(self, provider: str, recipient: str, exclude: str | None = None) -> Standing:
        active = [r for r in self.db.active() if r.relationship_id != exclude]
        by_kinship: dict[str, int] = {}
        for r in active:
            if r.provider_psn_no == provider:
                by_kinship[r.kinship] = by_kinship.get(r.kinship, 0) + 1
        pairs = {(r.provider_psn_no, r.recipient_psn_no) for r in active}
        return Standing(
            provider_recipients=sum(by_kinship.values()),
            provider_recipients_by_kinship=by_kinship,
            recipient_providers=sum(1 for r in active if r.recipient_psn_no == recipient),
            provider_is_recipient=any(r.recipient_psn_no == provider for r in active),
            recipient_is_provider=any(r.provider_psn_no == recipient for r in active),
            pair_exists=(provider, recipient) in pairs,
            reverse_exists=(recipient, provider) in pairs,
        )

    def _check_one_active_per_pair(self, rel: Relationship) -> None:
        if rel.status is Status.ENDED:
            return
        for other in self.db.active():
            same_pair = (other.provider_psn_no, other.recipient_psn_no) == (rel.provider_psn_no, rel.recipient_psn_no)
            if same_pair and other.relationship_id != rel.relationship_id:
                raise UniqueViolationError("these two people have an active relationship already")


class MemoryPolicies:
    def __init__(self, db: MemoryRelationshipStore) -> None:
        self.db = db

    async def rows(self, *admdvs: str) -> dict[str, dict[str, Any]]:
        levels = {"000000"} | {a[:2] + "0000" for a in admdvs} | set(admdvs)
        return {a: copy.deepcopy(row.settings) for a, row in self.db.policies.items() if a in levels}

    async def for_update(self, admdvs: str, created_by: str) -> tuple[dict[str, Any], int]:
        row = self.db.policies.setdefault(admdvs, PolicyRow({}, 0, created_by))
        return copy.deepcopy(row.settings), row.version

    async def save(self, admdvs: str, settings: dict[str, Any], version: int, changed_by: str) -> None:
        self.db.policies[admdvs] = PolicyRow(copy.deepcopy(settings), version, changed_by)

    async def all_for_update(self) -> dict[str, dict[str, Any]]:
        return {a: copy.deepcopy(self.db.policies[a].settings) for a in sorted(self.db.policies)}
