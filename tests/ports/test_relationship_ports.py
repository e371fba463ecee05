"""One abstract test per port of the relationship service's layer (services/relationship/service_layer/ports.py),
run on the in-memory adapters and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.relationship.adapters.memory import MemoryRelationshipStore, UniqueViolationError
from services.relationship.domain.people import Person
from services.relationship.domain.relationships import (
    EndReason,
    Relationship,
    RelationshipStateError,
    Standing,
    Status,
)
from services.relationship.entrypoints.unit_of_work import postgres_context
from services.relationship.service_layer.context import RelationshipContext
from shared.caller import Caller
from shared.clock import BUSINESS_TZ
from tests.support.infra import Infra
from tests.support.ports import migrated_database, rolled_back

NOON = datetime(2030, 3, 14, 12, 0, tzinfo=BUSINESS_TZ)


class Clock:
    def now(self) -> datetime:
        return NOON


def a_person(psn_no: str, admdvs: str = "990100") -> Person:
    return Person(psn_no, f"n-{psn_no}", f"c-{psn_no}", "01", "310", "1", admdvs, True, NOON - timedelta(days=1))


def a_request(rid: str, provider: str, recipient: str, kinship: str = "parent", hours: float = 24) -> Relationship:
    rel, _ = Relationship.request(
        rid, a_person(provider), a_person(recipient, "990200"), kinship, timedelta(hours=hours), NOON
    )
    return rel


class RelationshipPortsContract:
    @pytest.fixture
    async def ctx(self) -> RelationshipContext:
        raise NotImplementedError

    # -- People -----------------------------------------------------------------------------------------------------

    async def test_people_are_saved_with_a_version_and_locked_when_enrolled(self, ctx: RelationshipContext) -> None:
        assert await ctx.people.get_for_update("P1") is None
        assert await ctx.people.save(a_person("P1"), "new") == 1
        moved = replace(a_person("P1"), insuplc_admdvs="990300", effective_at=NOON)
        assert await ctx.people.save(moved, "transfer") == 2
        assert await ctx.people.get_for_update("P1") == moved
        await ctx.people.save(a_person("P2"), "new")
        assert await ctx.people.lock("P2", "P1", "P9", "P1") == {"P1": moved, "P2": a_person("P2")}

    # -- Relationships ----------------------------------------------------------------------------------------------

    async def test_a_relationship_is_stored_and_its_transitions_saved(self, ctx: RelationshipContext) -> None:
        rel = a_request("rel-1", "P1", "R1")
        await ctx.relationships.add(rel, "msg-1")
        assert await ctx.relationships.get("rel-1") == rel
        assert await ctx.relationships.get("rel-x") is None
        loaded = await ctx.relationships.get_for_update("rel-1")
        assert loaded is not None
        loaded.establish(NOON + timedelta(hours=1))
        await ctx.relationships.save(loaded)
        assert await ctx.relationships.get("rel-1") == loaded
        loaded.end(EndReason.INSURANCE_CHANGED, "R1: death", NOON + timedelta(hours=2))
        await ctx.relationships.save(loaded)
        ended = await ctx.relationships.get("rel-1")
        assert ended == loaded
        assert ended is not None
        assert (ended.status, ended.version, ended.end_reason) == (Status.ENDED, 3, EndReason.INSURANCE_CHANGED)

    async def test_a_stale_copy_never_overwrites_a_newer_version(self, ctx: RelationshipContext) -> None:
        await ctx.relationships.add(a_request("rel-1", "P1", "R1"), "msg-1")
        first, second = await ctx.relationships.get("rel-1"), await ctx.relationships.get("rel-1")
        assert first is not None
        assert second is not None
        first.establish(NOON)
        await ctx.relationships.save(first)
        second.end(EndReason.TERMINATED_BY_PROVIDER, None, NOON)  # version 2 too, from the same pending copy
        with pytest.raises(RelationshipStateError):
            await ctx.relationships.save(second)
        with pytest.raises(RelationshipStateError):
            await ctx.relationships.save(first)  # saved twice
        assert await ctx.relationships.get("rel-1") == first
        unknown = a_request("rel-x", "P2", "R2")
        unknown.establish(NOON)
        with pytest.raises(RelationshipStateError):
            await ctx.relationships.save(unknown)

    async def test_reads_are_copies_until_saved(self, ctx: RelationshipContext) -> None:
        await ctx.relationships.add(a_request("rel-1", "P1", "R1"), "msg-1")
        loaded = await ctx.relationships.get_for_update("rel-1")
        assert loaded is not None
        loaded.establish(NOON)
        stored = await ctx.relationships.get("rel-1")
        assert stored is not None
        assert stored.status is Status.PENDING

    async def test_active_ones_of_a_person_on_either_side(self, ctx: RelationshipContext) -> None:
        for rel in (a_request("b", "P1", "R1"), a_request("a", "R1", "R2"), a_request("c", "P2", "R3")):
            await ctx.relationships.add(rel, f"m-{rel.relationship_id}")
        ended = a_request("d", "P3", "R1")
        await ctx.relationships.add(ended, "m-d")
        ended.end(EndReason.TERMINATED_BY_PROVIDER, None, NOON)
        await ctx.relationships.save(ended)
        assert [r.relationship_id for r in await ctx.relationships.active_of("R1")] == ["a", "b"]
        assert await ctx.relationships.active_of("nobody") == []

    async def test_expired_requests_oldest_deadline_first(self, ctx: RelationshipContext) -> None:
        await ctx.relationships.add(a_request("late", "P1", "R1", hours=2), "m1")
        await ctx.relationships.add(a_request("early", "P2", "R2", hours=1), "m2")
        await ctx.relationships.add(a_request("later", "P3", "R3", hours=48), "m3")
        established = a_request("done", "P4", "R4", hours=1)
        await ctx.relationships.add(established, "m4")
        established.establish(NOON)
        await ctx.relationships.save(established)
        in_3h = NOON + timedelta(hours=3)
        assert [r.relationship_id for r in await ctx.relationships.expired_pending(in_3h, 10)] == ["early", "late"]
        assert [r.relationship_id for r in await ctx.relationships.expired_pending(in_3h, 1)] == ["early"]
        assert await ctx.relationships.expired_pending(NOON, 10) == []

    async def test_standing_counts_what_is_active_around_the_two(self, ctx: RelationshipContext) -> None:
        assert await ctx.relationships.standing("P1", "R1") == Standing()
        await ctx.relationships.add(a_request("r1", "P1", "R1", "child"), "m1")
        await ctx.relationships.add(a_request("r2", "P1", "R2", "child"), "m2")
        await ctx.relationships.add(a_request("r3", "P1", "R3", "spouse"), "m3")
        await ctx.relationships.add(a_request("r4", "R1", "P1"), "m4")
        await ctx.relationships.add(a_request("r5", "P9", "R1"), "m5")
        gone = a_request("r6", "P1", "R6", "sibling")
        await ctx.relationships.add(gone, "m6")
        gone.end(EndReason.TERMINATED_BY_RECIPIENT, None, NOON)
        await ctx.relationships.save(gone)
        assert await ctx.relationships.standing("P1", "R1") == Standing(
            provider_recipients=3,
            provider_recipients_by_kinship={"child": 2, "spouse": 1},
            recipient_providers=2,
            provider_is_recipient=True,
            recipient_is_provider=True,
            pair_exists=True,
            reverse_exists=True,
        )
        without = await ctx.relationships.standing("P1", "R1", exclude="r1")
        assert (without.provider_recipients, without.pair_exists, without.recipient_providers) == (2, False, 1)

    async def test_one_active_relationship_per_pair(self, ctx: RelationshipContext) -> None:
        await ctx.relationships.add(a_request("r1", "P1", "R1"), "m1")
        with pytest.raises((UniqueViolationError, asyncpg.UniqueViolationError)):
            await ctx.relationships.add(a_request("r2", "P1", "R1"), "m2")

    # -- Policies ---------------------------------------------------------------------------------------------------

    async def test_a_policy_row_is_created_empty_locked_and_saved(self, ctx: RelationshipContext) -> None:
        assert await ctx.policies.for_update("990100", "ops") == ({}, 0)
        await ctx.policies.save("990100", {"two_way_allowed": True}, 1, "ops")
        assert await ctx.policies.for_update("990100", "someone") == ({"two_way_allowed": True}, 1)

    async def test_rows_of_the_levels_a_region_inherits(self, ctx: RelationshipContext) -> None:
        await ctx.policies.for_update("000000", "ops")
        rows_to_store: dict[str, dict[str, Any]] = {
            "990000": {"two_way_allowed": True},
            "990100": {"max_active_recipients_per_provider": 2},
            "990200": {"recipient_single_provider": True},
            "980100": {"two_way_allowed": False},
        }
        for admdvs, settings in rows_to_store.items():
            await ctx.policies.for_update(admdvs, "ops")
            await ctx.policies.save(admdvs, settings, 1, "ops")
        rows = await ctx.policies.rows("990100")
        assert {a for a in rows if a.startswith("9")} == {"990000", "990100"}
        assert rows["990100"] == {"max_active_recipients_per_provider": 2}
        assert "000000" in rows
        assert set(await ctx.policies.rows("990100", "990200")) >= {"990000", "990100", "990200"}
        every = await ctx.policies.all_for_update()
        assert list(every) == sorted(every)
        assert every["980100"] == {"two_way_allowed": False}


class TestInMemory(RelationshipPortsContract):
    @pytest.fixture
    async def ctx(self) -> RelationshipContext:
        return MemoryRelationshipStore().context(Caller(Clock()))


@pytest.fixture(scope="module")
async def relationship_dsn(infra: Infra) -> str:
    return await migrated_database(infra, "relationship")


@pytest.mark.integration
class TestPostgreSQL(RelationshipPortsContract):
    @pytest.fixture
    async def ctx(self, relationship_dsn: str) -> AsyncIterator[RelationshipContext]:
        async with rolled_back(relationship_dsn) as conn:
            yield postgres_context(conn, Caller(Clock()))
