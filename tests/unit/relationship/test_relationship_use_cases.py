"""The relationship service's use cases without servers: the service layer on the in-memory ports
(services/relationship/adapters/memory.py). The black-box suites prove the same through Kafka and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from services.relationship.adapters.memory import MemoryRelationshipStore
from services.relationship.domain import commands
from services.relationship.domain.people import Person
from services.relationship.domain.relationships import EndReason, Relationship, RelationshipStateError, Status
from services.relationship.service_layer.confirm_bind import confirm_bind
from services.relationship.service_layer.context import RelationshipContext
from services.relationship.service_layer.expire_bind_requests import expire_bind_requests
from services.relationship.service_layer.record_enrolment import record_enrolment
from services.relationship.service_layer.request_bind import request_bind
from services.relationship.service_layer.set_policy import set_policy
from services.relationship.service_layer.terminate import terminate
from services.relationship.service_layer.upgrade_policies import UPGRADED_BY, upgrade_policies
from shared.caller import Caller
from shared.clock import BUSINESS_TZ
from shared.contracts.policy import LEGACY_GROUP_CAPS
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import RELATIONSHIP_EVENTS, province_topic
from shared.messaging.messages import Decision
from tests.support.clock import FixedClock

NOON = datetime(2030, 3, 14, 12, 0, tzinfo=BUSINESS_TZ)  # a fixed business instant: nothing reads today's date
GUANGDONG, SHAANXI, TIANJIN, NATIONAL_GATEWAY = "440300", "610100", "120100", "100000"


def person(psn_no: str, admdvs: str, insutype: str = "310", status: str = "1") -> Person:
    return Person(
        psn_no=psn_no,
        name_hash=f"n-{psn_no}",
        certno_hash=f"c-{psn_no}",
        psn_cert_type="01",
        insutype=insutype,
        psn_insu_stas=status,
        insuplc_admdvs=admdvs,
        has_personal_account=True,
        effective_at=NOON - timedelta(days=30),
    )


PROVIDER = person("P440300000000000001", GUANGDONG)
RECIPIENT = person("R610100000000000001", SHAANXI, insutype="390")


@dataclass
class World:
    db: MemoryRelationshipStore
    clock: FixedClock

    def as_(
        self,
        sender: str,
        msgid: str = "m-1",
        trusted: frozenset[str] = frozenset(),
        enrolment_max_ahead: timedelta = timedelta(days=31),
    ) -> RelationshipContext:
        """The unit of work of a message signed by `sender`."""
        return self.db.context(Caller(self.clock, sender, msgid, trusted), enrolment_max_ahead)

    @property
    def platform(self) -> RelationshipContext:
        return self.db.context(Caller(self.clock))

    async def enrol(self, who: Person, change_reason: str = "new", sender: str | None = None) -> Decision:
        cmd = commands.RecordEnrolment(who, change_reason)
        return await record_enrolment(cmd, self.as_(sender or who.insuplc_admdvs))

    async def ask(self, rid: str = "rel-1", kinship: str = "parent", **kw: str) -> Decision:
        recipient = kw.pop("recipient", RECIPIENT.psn_no)
        cmd = commands.RequestBind(
            relationship_id=rid,
            provider_psn_no=kw.pop("provider", PROVIDER.psn_no),
            recipient_psn_no=recipient,
            kinship=kinship,
            recipient_certno_hash=kw.pop("certno_hash", f"c-{recipient}"),
            recipient_name_hash=kw.pop("name_hash", f"n-{recipient}"),
        )
        return await request_bind(cmd, self.as_(kw.pop("sender", GUANGDONG), msgid=f"bind-{rid}"))

    async def consent(self, rid: str = "rel-1", sender: str = SHAANXI, recipient: str = RECIPIENT.psn_no) -> Decision:
        return await confirm_bind(commands.ConfirmBind(rid, recipient), self.as_(sender))

    def relationship(self, rid: str = "rel-1") -> Relationship:
        return self.db.relationships[rid][0]


@pytest.fixture
async def world() -> World:
    w = World(MemoryRelationshipStore(), FixedClock(NOON))
    w.db.seed_policies()
    assert (await w.enrol(PROVIDER)).status == "completed"
    assert (await w.enrol(RECIPIENT)).status == "completed"
    return w


def types(decision: Decision) -> list[tuple[str, str]]:
    return [(m.topic, m.type) for m in decision.messages]


def refused_with(decision: Decision, code: ReasonCode) -> bool:
    return decision.status == "rejected" and decision.reason_code == code.value


# -- binding ------------------------------------------------------------------------------------------------------


async def test_a_bind_request_waits_for_consent_then_both_provinces_hear_of_the_relationship(world: World) -> None:
    asked = await world.ask()
    assert (asked.status, asked.ids) == ("accepted", {"relationship_id": "rel-1"})
    assert types(asked) == [(RELATIONSHIP_EVENTS, "relationship.relationship-requested")]
    assert world.db.relationships["rel-1"][1] == "bind-rel-1", "the request that made it is remembered"
    assert world.relationship().expires_at > NOON
    consented = await world.consent()
    assert consented.status == "completed"
    assert types(consented) == [
        (province_topic(GUANGDONG), "relationship.established"),
        (province_topic(SHAANXI), "relationship.established"),
        (RELATIONSHIP_EVENTS, "relationship.relationship-established"),
    ]
    assert consented.messages[-1].body["version"] == 2 == world.relationship().version
    again = await world.consent()
    assert (again.status, again.messages) == ("completed", []), "a repeated consent gets the same answer, no events"


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"kinship": "cousin"}, ReasonCode.NOT_CLOSE_RELATIVE),
        ({"recipient": PROVIDER.psn_no}, ReasonCode.NOT_CLOSE_RELATIVE),
        ({"recipient": "R610100999999999999"}, ReasonCode.UNKNOWN_PERSON),
        ({"sender": SHAANXI}, ReasonCode.NOT_A_PARTY),
        ({"name_hash": "n-someone-else"}, ReasonCode.IDENTITY_MISMATCH),
    ],
)
async def test_a_bind_request_is_refused_with_its_reason_and_an_event(
    world: World, kw: dict[str, str], code: ReasonCode
) -> None:
    kinship = kw.pop("kinship", "parent")
    decision = await world.ask(kinship=kinship, **kw)
    assert refused_with(decision, code), decision
    assert types(decision) == [(RELATIONSHIP_EVENTS, "relationship.bind-refused")]
    assert world.db.relationships == {}


async def test_only_an_employee_with_a_personal_account_provides(world: World) -> None:
    await world.enrol(replace(PROVIDER, has_personal_account=False, effective_at=NOON), "change")
    assert refused_with(await world.ask(), ReasonCode.NOT_ELIGIBLE_PROVIDER)


async def test_a_trusted_national_gateway_speaks_for_any_province(world: World) -> None:
    cmd = commands.RequestBind("rel-1", PROVIDER.psn_no, RECIPIENT.psn_no, "parent", f"c-{RECIPIENT.psn_no}",
                               f"n-{RECIPIENT.psn_no}")  # fmt: skip
    assert refused_with(await request_bind(cmd, world.as_(NATIONAL_GATEWAY)), ReasonCode.NOT_A_PARTY)
    decision = await request_bind(cmd, world.as_(NATIONAL_GATEWAY, trusted=frozenset({NATIONAL_GATEWAY})))
    assert decision.status == "accepted"


async def test_a_second_request_for_the_same_two_people_is_refused(world: World) -> None:
    assert (await world.ask("rel-1")).status == "accepted"
    assert refused_with(await world.ask("rel-2"), ReasonCode.RELATIONSHIP_EXISTS)


async def test_tianjin_allows_four_children_siblings_and_grandchildren(world: World) -> None:
    provider = person("P120100000000000001", TIANJIN)
    await world.enrol(provider)
    for n in range(5):
        await world.enrol(person(f"R61010000000000010{n}", SHAANXI))
    answers = [
        await world.ask(
            f"rel-{n}",
            "child" if n % 2 else "sibling",
            provider=provider.psn_no,
            recipient=f"R61010000000000010{n}",
            sender=TIANJIN,
        )
        for n in range(5)
    ]
    assert [a.status for a in answers] == ["accepted"] * 4 + ["rejected"]
    assert answers[-1].reason_code == ReasonCode.POLICY_LIMIT.value
    assert (await world.ask("rel-s", "spouse", provider=provider.psn_no, sender=TIANJIN)).status == "accepted"


async def test_a_consent_comes_from_the_named_recipient_and_their_province(world: World) -> None:
    await world.ask()
    assert refused_with(await world.consent(recipient="R610100999999999999"), ReasonCode.NOT_A_PARTY)
    assert refused_with(await world.consent(sender=GUANGDONG), ReasonCode.NOT_A_PARTY)
    assert refused_with(await world.consent("rel-unknown"), ReasonCode.NO_RELATIONSHIP)
    assert world.relationship().status is Status.PENDING


async def test_a_late_consent_ends_the_bind_request(world: World) -> None:
    await world.ask()
    world.clock.advance(days=30)
    decision = await world.consent()
    assert refused_with(decision, ReasonCode.NO_RELATIONSHIP)
    assert (RELATIONSHIP_EVENTS, "relationship.relationship-ended") in types(decision)
    assert world.relationship().end_reason is EndReason.BIND_REQUEST_EXPIRED
    assert refused_with(await world.consent(), ReasonCode.NO_RELATIONSHIP), "ended is ended"


async def test_an_enrolment_change_ends_the_pending_requests_it_makes_impossible(world: World) -> None:
    await world.ask()
    decision = await world.enrol(replace(PROVIDER, has_personal_account=False, effective_at=NOON), "change")
    assert decision.messages[-1].body["reason"] == "insurance_changed"
    assert refused_with(await world.consent(), ReasonCode.NO_RELATIONSHIP)


async def test_the_sweep_ends_bind_requests_nobody_consented_to(world: World) -> None:
    await world.ask()
    assert await expire_bind_requests(commands.ExpireBindRequests(), world.platform) == []
    world.clock.advance(days=30)
    messages = await expire_bind_requests(commands.ExpireBindRequests(), world.platform)
    assert [m.type for m in messages] == ["relationship.ended", "relationship.ended", "relationship.relationship-ended"]
    assert messages[-1].body["was_established"] is False
    assert await expire_bind_requests(commands.ExpireBindRequests(), world.platform) == [], "once"


# -- ending ---------------------------------------------------------------------------------------------------------


async def test_either_party_ends_it_from_their_own_province(world: World) -> None:
    await world.ask()
    await world.consent()
    cmd = commands.TerminateRelationship("rel-1", RECIPIENT.psn_no)
    assert refused_with(await terminate(cmd, world.as_(GUANGDONG)), ReasonCode.NOT_A_PARTY)
    outsider = commands.TerminateRelationship("rel-1", "P440300000000000999")
    assert refused_with(await terminate(outsider, world.as_(GUANGDONG)), ReasonCode.NOT_A_PARTY)
    decision = await terminate(cmd, world.as_(SHAANXI))
    assert decision.status == "completed"
    ended = decision.messages[-1].body
    assert (ended["reason"], ended["was_established"], ended["version"]) == ("terminated_by_recipient", True, 3)
    assert refused_with(await terminate(cmd, world.as_(SHAANXI)), ReasonCode.NO_RELATIONSHIP)
    assert refused_with(
        await terminate(commands.TerminateRelationship("nope", RECIPIENT.psn_no), world.as_(SHAANXI)),
        ReasonCode.NO_RELATIONSHIP,
    )


@pytest.mark.parametrize("change", ["death", "suspend", "transfer"])
async def test_an_enrolment_change_that_ends_insurance_ends_the_relationships(world: World, change: str) -> None:
    await world.ask()
    await world.consent()
    decision = await world.enrol(replace(RECIPIENT, psn_insu_stas="2", effective_at=NOON), change)
    assert decision.status == "completed"
    assert [t for _, t in types(decision)] == [
        "relationship.person-enrolment-changed", "relationship.ended", "relationship.ended",
        "relationship.relationship-ended",
    ]  # fmt: skip
    assert world.relationship().end_reason is EndReason.INSURANCE_CHANGED
    assert world.db.people[RECIPIENT.psn_no][1:] == (2, change)


async def test_a_late_death_ends_relationships_but_changes_no_person_data(world: World) -> None:
    await world.ask()
    await world.consent()
    old = replace(RECIPIENT, psn_insu_stas="2", effective_at=NOON - timedelta(days=60))
    decision = await world.enrol(old, "death")
    assert [t for _, t in types(decision)][-1] == "relationship.relationship-ended"
    assert "relationship.person-enrolment-changed" not in [t for _, t in types(decision)]
    assert world.db.people[RECIPIENT.psn_no][0] == RECIPIENT


# -- enrolments ----------------------------------------------------------------------------------------------------


async def test_an_enrolment_is_its_insured_provinces(world: World) -> None:
    stranger = person("P440300000000000777", GUANGDONG)
    assert refused_with(await world.enrol(stranger, sender=SHAANXI), ReasonCode.SENDER_NOT_ALLOWED)
    takeover = replace(PROVIDER, insuplc_admdvs=SHAANXI, effective_at=NOON)
    assert refused_with(await world.enrol(takeover, "transfer", sender=SHAANXI), ReasonCode.SENDER_NOT_ALLOWED)
    too_far = replace(stranger, effective_at=NOON + timedelta(days=32))
    assert refused_with(await world.enrol(too_far), ReasonCode.EFFECTIVE_AT_OUT_OF_RANGE)
    decision = await record_enrolment(
        commands.RecordEnrolment(too_far, "new"), world.as_(GUANGDONG, enrolment_max_ahead=timedelta(days=40))
    )
    assert decision.status == "completed"
    assert decision.messages[0].body["version"] == 1


# -- policies ------------------------------------------------------------------------------------------------------


async def test_operators_change_a_row_merged_validated_and_published(world: World) -> None:
    stored, messages = await set_policy(commands.SetPolicy("440300", {"two_way_allowed": True}, "ops"), world.platform)
    assert stored == {"two_way_allowed": True}
    assert [(m.type, m.body["version"], m.body["changed_by"]) for m in messages] == [
        ("relationship.policy-changed", 1, "ops")
    ]
    merged, _ = await set_policy(
        commands.SetPolicy("440300", {"max_active_recipients_per_provider": 3}, "ops"), world.platform
    )
    assert merged == {"two_way_allowed": True, "max_active_recipients_per_provider": 3}
    unset, _ = await set_policy(commands.SetPolicy("440300", {}, "ops", unset=("two_way_allowed",)), world.platform)
    assert unset == {"max_active_recipients_per_provider": 3}
    with pytest.raises((ValueError, ValidationError)):
        await set_policy(
            commands.SetPolicy("440300", {"max_active_recipients_per_provider": -1}, "ops"), world.platform
        )
    assert world.db.policies["440300"].version == 3, "a refused row is not stored"


async def test_a_policy_change_takes_effect_for_the_next_message(world: World) -> None:
    other = person("R610100000000000002", SHAANXI)
    await world.enrol(other)
    await world.ask("rel-1")
    await world.ask("rel-2", "child", recipient=other.psn_no)
    await set_policy(commands.SetPolicy("440000", {"max_active_recipients_per_provider": 1}, "ops"), world.platform)
    decision = await world.consent("rel-1")
    assert refused_with(decision, ReasonCode.POLICY_LIMIT), "a consent is judged on the policy as it is now"
    assert types(decision) == [(RELATIONSHIP_EVENTS, "relationship.bind-refused")]
    assert world.relationship().status is Status.PENDING


async def test_legacy_rows_are_upgraded_once_as_published_changes(world: World) -> None:
    world.db.policies["120000"].settings = {LEGACY_GROUP_CAPS: {"immediate": 4, "extended": 0}}
    upgraded, messages = await upgrade_policies(commands.UpgradePolicies(), world.platform)
    assert [(u.admdvs, u.dropped_bans) for u in upgraded] == [("120000", ["extended"])]
    assert LEGACY_GROUP_CAPS not in world.db.policies["120000"].settings
    assert world.db.policies["120000"].updated_by == UPGRADED_BY
    assert [m.type for m in messages] == ["relationship.policy-changed"]
    assert await upgrade_policies(commands.UpgradePolicies(), world.platform) == ([], []), "once"


# -- the aggregate ---------------------------------------------------------------------------------------------------


def test_a_relationship_moves_forward_only() -> None:
    rel, requested = Relationship.request("r", PROVIDER, RECIPIENT, "parent", timedelta(days=1), NOON)
    assert (rel.status, rel.version, requested.version, requested.kinship_group) == (Status.PENDING, 1, 1, "immediate")
    assert rel.establish(NOON).version == 2
    with pytest.raises(RelationshipStateError):
        rel.establish(NOON)
    assert rel.end(EndReason.TERMINATED_BY_PROVIDER, None, NOON).was_established
    with pytest.raises(RelationshipStateError):
        rel.end(EndReason.TERMINATED_BY_PROVIDER, None, NOON)
    assert not rel.overdue(NOON + timedelta(days=2)), "only a pending request is overdue"


async def test_a_bind_request_from_an_outsider_says_nothing_of_enrolment_or_eligibility(world: World) -> None:
    """Issue 29, item 5: the sender first; a province that may not ask gets one answer whoever the people are."""
    w = world
    ineligible = person("P440300000000000009", GUANGDONG, insutype="390")  # no employee insurance
    await w.enrol(ineligible)
    answers = [
        await w.ask("r-1", sender=TIANJIN),  # both enrolled and eligible
        await w.ask("r-2", provider=ineligible.psn_no, sender=TIANJIN),  # NOT_ELIGIBLE_PROVIDER to its province
        await w.ask("r-3", provider="P000000000000000000", sender=TIANJIN),  # nobody
        await w.ask("r-4", recipient="R000000000000000000", sender=TIANJIN),  # a recipient who is nobody
    ]
    assert {(a.status, a.reason_code, a.reason) for a in answers} == {
        ("rejected", ReasonCode.NOT_A_PARTY, "a bind request comes from the provider's insured province")
    }
    assert (await w.ask("r-5", provider=ineligible.psn_no)).reason_code == ReasonCode.NOT_ELIGIBLE_PROVIDER
    nobody = await w.ask("r-6", provider="P000000000000000000")
    assert nobody.reason_code == ReasonCode.NOT_A_PARTY, "a province is not told that a provider is nobody"
    gateway = w.as_(NATIONAL_GATEWAY, msgid="g-1", trusted=frozenset({NATIONAL_GATEWAY}))
    ask = commands.RequestBind("r-7", "P000000000000000000", RECIPIENT.psn_no, "parent", "c", "n")
    assert (await request_bind(ask, gateway)).reason_code == ReasonCode.UNKNOWN_PERSON, "a trusted gateway is told"


async def test_whether_a_relationship_ended_is_told_only_to_its_parties_provinces(world: World) -> None:
    w = world
    assert (await w.ask("r-1")).status == "accepted"
    ended = await terminate(commands.TerminateRelationship("r-1", PROVIDER.psn_no), w.as_(GUANGDONG))
    assert ended.status == "completed"
    again = await terminate(commands.TerminateRelationship("r-1", PROVIDER.psn_no), w.as_(TIANJIN, msgid="o"))
    assert again.reason_code == ReasonCode.NOT_A_PARTY, "not NO_RELATIONSHIP: the sender first"
