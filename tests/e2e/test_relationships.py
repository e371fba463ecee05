"""Relationships end to end: ingress message in, through the running services, province notification out."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import pytest

from services.relationship.domain.commands import SetPolicy
from services.relationship.entrypoints.policy_cli import change, show
from tests.e2e.conftest import Platform
from tests.e2e.families import ALL_OUTPUT, Member, Provinces
from tests.support.kafka import Publisher, Record, Watcher, new_msgid

pytestmark = pytest.mark.e2e


def ended_notice(rid: str) -> Callable[[Record], bool]:
    return lambda r: (
        r.topic.startswith("province.")
        and r.value.get("type") == "relationship.ended"
        and r.value["body"]["relationship_id"] == rid
    )


@pytest.fixture
async def provinces(platform: Platform) -> AsyncIterator[Provinces]:
    async with (
        Watcher(platform.settings.kafka_bootstrap, ALL_OUTPUT) as w,
        Publisher(platform.settings.kafka_bootstrap) as pub,
    ):
        yield Provinces(pub, w, platform.now)


async def test_consent_of_both_establishes_a_relationship_and_both_provinces_are_told(provinces: Provinces) -> None:
    provider = await provinces.enrol("440300")
    recipient = await provinces.enrol("610100", insutype="390", account=False)
    msgid = new_msgid(provider.region)
    requested = await provinces.bind(provider, recipient, "parent", msgid=msgid)
    assert requested["status"] == "accepted"
    rid = requested["relationship_id"]
    assert provinces.notifications("relationship.established", rid) == []
    confirmed = await provinces.confirm(rid, recipient)
    assert (confirmed["status"], confirmed["relationship_id"]) == ("completed", rid)
    notes = await provinces.w.wait_for(
        lambda r: (
            r.topic.startswith("province.")
            and r.value.get("type") == "relationship.established"
            and r.value["body"]["relationship_id"] == rid
        ),
        count=2,
    )
    assert {r.topic for r in notes} == {"province.440000.notifications.v1", "province.610000.notifications.v1"}
    assert notes[0].value["body"] == {
        "relationship_id": rid,
        "provider_psn_no": provider.psn_no,
        "recipient_psn_no": recipient.psn_no,
        "kinship": "parent",
    }
    assert provinces.events("relationship.relationship-requested", rid)
    await provinces.w.wait_for(
        lambda r: r.topic == "relationship.events.v1" and r.value["type"] == "relationship.relationship-established"
    )
    # The same request and the same consent again: the same answers, nothing new.
    assert await provinces.bind(provider, recipient, "parent", msgid=msgid) == requested
    assert (await provinces.confirm(rid, recipient))["status"] == "completed"
    await asyncio.sleep(0.5)
    assert len(provinces.notifications("relationship.established", rid)) == 2
    assert recipient.certno not in json.dumps([r.value for r in provinces.w.records], ensure_ascii=False)


async def test_every_refusal_of_a_bind_request_has_its_reason_code(provinces: Provinces) -> None:
    provider = await provinces.enrol("320100")
    relative = await provinces.enrol("320100", insutype="390", account=False)
    pooling_only = await provinces.enrol("320100", account=False)
    resident = await provinces.enrol("320100", insutype="390", account=False)
    suspended = await provinces.enrol("320100", insutype="390", account=False, status="2", change="suspend")
    care_only = await provinces.enrol("320100", insutype="410", account=False)
    nobody = Member("32010000000000000000", "320102199001010000", "无名", "320100")  # never enrolled
    cases = [
        (provinces.bind(provider, relative, "friend"), "NOT_CLOSE_RELATIVE"),
        (provinces.bind(provider, provider, "spouse"), "NOT_CLOSE_RELATIVE"),
        (provinces.bind(provider, nobody), "UNKNOWN_PERSON"),
        (provinces.bind(pooling_only, relative), "NOT_ELIGIBLE_PROVIDER"),
        (provinces.bind(resident, relative), "NOT_ELIGIBLE_PROVIDER"),
        (provinces.bind(provider, suspended), "NOT_ELIGIBLE_RECIPIENT"),
        (provinces.bind(provider, care_only), "NOT_ELIGIBLE_RECIPIENT"),
        (provinces.bind(provider, relative, certno="320102199001011234"), "IDENTITY_MISMATCH"),
        (provinces.bind(provider, relative, name="别人"), "IDENTITY_MISMATCH"),
    ]
    for ask, expected in cases:
        result = await ask
        assert (result["status"], result["reason_code"]) == ("rejected", expected), result
    first = await provinces.bind(provider, relative, "child")
    assert first["status"] == "accepted"
    second = await provinces.bind(provider, relative, "child")
    assert (second["status"], second["reason_code"]) == ("rejected", "RELATIONSHIP_EXISTS")
    await provinces.w.wait_for(
        lambda r: (
            r.topic == "relationship.events.v1"
            and r.value["type"] == "relationship.bind-refused"
            and r.value["body"]["reason_code"] == "IDENTITY_MISMATCH"
        )
    )


async def test_the_published_provincial_variations_apply(
    platform: Platform, provinces: Provinces, capsys: pytest.CaptureFixture[str]
) -> None:
    # Tianjin: 子女、兄弟姐妹、孙子女、外孙子女最多可授权4位; spouse and parents are outside that cap.
    tianjin = await provinces.enrol("120100")
    family = await provinces.enrol_many("120100", 8, insutype="390", account=False)
    four = []
    for member, kinship in zip(family[:4], ["child", "child", "sibling", "grandchild"], strict=True):
        requested = await provinces.bind(tianjin, member, kinship)
        assert requested["status"] == "accepted", kinship
        four.append(requested["relationship_id"])
    fifth = await provinces.bind(tianjin, family[4], "maternal_grandchild")
    assert (fifth["status"], fifth["reason_code"]) == ("rejected", "POLICY_LIMIT")
    for member, kinship in zip(family[5:], ["spouse", "parent", "parent"], strict=True):
        assert (await provinces.bind(tianjin, member, kinship))["status"] == "accepted", f"{kinship} beside the 4"
    assert (await provinces.confirm(four[0], family[0]))["status"] == "completed", "confirmed at the cap: counted once"
    assert (await provinces.terminate(four[3], tianjin))["status"] == "completed"
    again = await provinces.bind(tianjin, family[4], "maternal_grandchild")
    assert again["status"] == "accepted", "an ended relationship no longer counts"
    await show(platform.settings, "120100")  # make policy ARGS="show 120100"
    assert "子女、兄弟姐妹、孙子女、外孙子女最多可授权4位" in capsys.readouterr().out
    # Hunan: at most ten recipients per provider.
    hunan = await provinces.enrol("430100")
    relatives = await provinces.enrol_many("430100", 11, insutype="390", account=False)
    answers = [await provinces.bind(hunan, r, "sibling") for r in relatives]
    assert [a["status"] for a in answers] == ["accepted"] * 10 + ["rejected"]
    assert answers[-1]["reason_code"] == "POLICY_LIMIT"
    # Shandong: one provider per recipient, and a bound recipient may not provide.
    mother = await provinces.enrol("370100", insutype="390", account=False)
    son, daughter = await provinces.enrol_many("370100", 2)
    await provinces.bound(son, mother, "parent")
    assert (await provinces.bind(daughter, mother, "parent"))["reason_code"] == "POLICY_LIMIT"
    grandchild = await provinces.enrol("370100", insutype="390", account=False)
    employed_mother = await provinces.enrol("370100")
    await provinces.bound(son, employed_mother, "parent")
    assert (await provinces.bind(employed_mother, grandchild, "grandchild"))["reason_code"] == "POLICY_LIMIT"
    # Two-way: refused by default (Jiangsu), allowed where both regions allow it (Guangxi).
    a, b = await provinces.enrol_many("320200", 2)
    await provinces.bound(a, b, "spouse")
    assert (await provinces.bind(b, a, "spouse"))["reason_code"] == "POLICY_LIMIT"
    c, d = await provinces.enrol_many("450100", 2)
    await provinces.bound(c, d, "spouse")
    assert (await provinces.bind(d, c, "spouse"))["status"] == "accepted"


async def test_an_operator_changes_a_regions_policy_without_a_deploy(platform: Platform, provinces: Provinces) -> None:
    provider = await provinces.enrol("650100")
    first, second = await provinces.enrol_many("650100", 2, insutype="390", account=False)
    assert (await provinces.bind(provider, first, "parent"))["status"] == "accepted"
    await change(platform.settings, SetPolicy("650100", {"max_active_recipients_per_provider": 1}, "e2e-test"))
    refused = await provinces.bind(provider, second, "parent")
    assert (refused["status"], refused["reason_code"]) == ("rejected", "POLICY_LIMIT")
    await provinces.w.wait_for(
        lambda r: r.value.get("type") == "relationship.policy-changed" and r.value["body"]["admdvs"] == "650100"
    )


async def test_a_bind_request_nobody_confirms_expires_and_both_provinces_are_told(
    platform: Platform, provinces: Provinces
) -> None:
    await change(platform.settings, SetPolicy("540100", {"bind_request_ttl_seconds": 1}, "e2e-test"))
    provider = await provinces.enrol("540100")
    recipient = await provinces.enrol("110100", insutype="390", account=False)
    rid = (await provinces.bind(provider, recipient, "spouse"))["relationship_id"]
    ended = await provinces.w.wait_for(
        lambda r: (
            r.topic.startswith("province.")
            and r.value.get("type") == "relationship.ended"
            and r.value["body"]["relationship_id"] == rid
        ),
        count=2,
        timeout=20,
    )
    assert {r.topic for r in ended} == {"province.540000.notifications.v1", "province.110000.notifications.v1"}
    assert ended[0].value["body"]["reason"] == "bind_request_expired"
    late = await provinces.confirm(rid, recipient)
    assert (late["status"], late["reason_code"]) == ("rejected", "NO_RELATIONSHIP")


async def test_either_party_ends_a_relationship_and_only_a_party_can(provinces: Provinces) -> None:
    provider = await provinces.enrol("310100")
    recipient = await provinces.enrol("510100")
    stranger = await provinces.enrol("510100")
    rid = await provinces.bound(provider, recipient, "sibling")
    assert (await provinces.confirm(rid, stranger))["reason_code"] == "NOT_A_PARTY"
    assert (await provinces.terminate(rid, stranger))["reason_code"] == "NOT_A_PARTY"
    assert (await provinces.terminate("no-such-relationship", recipient))["reason_code"] == "NO_RELATIONSHIP"
    ended = await provinces.terminate(rid, recipient)
    assert (ended["status"], ended["relationship_id"]) == ("completed", rid)
    notes = await provinces.w.wait_for(
        lambda r: (
            r.topic.startswith("province.")
            and r.value.get("type") == "relationship.ended"
            and r.value["body"]["relationship_id"] == rid
        ),
        count=2,
    )
    assert {r.value["body"]["reason"] for r in notes} == {"terminated_by_recipient"}
    [event] = await provinces.w.wait_for(
        lambda r: (
            r.topic == "relationship.events.v1"
            and r.value["type"] == "relationship.relationship-ended"
            and r.value["body"]["relationship_id"] == rid
        )
    )
    assert event.value["body"]["was_established"] is True
    assert (await provinces.terminate(rid, provider))["reason_code"] == "NO_RELATIONSHIP"


async def test_an_enrolment_change_ends_exactly_the_right_relationships_exactly_once(provinces: Provinces) -> None:
    x = await provinces.enrol("330100")
    a, b, c = await provinces.enrol_many("330100", 3)
    d, e = await provinces.enrol_many("340100", 2)
    x_to_a = await provinces.bound(x, a, "child")
    x_to_b = (await provinces.bind(x, b, "spouse"))["relationship_id"]  # still pending
    c_to_x = await provinces.bound(c, x, "parent")
    d_to_e = await provinces.bound(d, e, "sibling")
    death = await provinces.enrol("330100", status="4", change="death", member=x, effective="2026-11-01")
    assert death == x
    for rid in (x_to_a, x_to_b, c_to_x):
        [note] = await provinces.w.wait_for(ended_notice(rid))
        assert note.value["body"]["reason"] == "insurance_changed"
        assert x.psn_no in note.value["body"]["detail"]
    # The same enrolment change delivered again ends nothing more; the unrelated pair is untouched.
    again = await provinces.ask(
        "ingress.enrollment.v1",
        "enrollment.changed",
        {
            "psn_no": x.psn_no,
            "psn_name": x.name,
            "psn_cert_type": "01",
            "certno": x.certno,
            "insutype": "310",
            "psn_insu_stas": "4",
            "insuplc_admdvs": x.region,
            "has_personal_account": True,
            "change_reason": "death",
            "effective_at": "2026-11-01T00:00:00+08:00",
        },
        x.region,
        x.psn_no,
    )
    assert again["status"] == "completed"
    await asyncio.sleep(1.0)
    for rid in (x_to_a, x_to_b, c_to_x):
        assert len(provinces.notifications("relationship.ended", rid)) == 1
        assert len(provinces.events("relationship.relationship-ended", rid)) == 1
    assert provinces.notifications("relationship.ended", d_to_e) == []


async def test_a_consent_and_an_ending_delivered_twice_change_nothing_the_second_time(provinces: Provinces) -> None:
    provider = await provinces.enrol("350100")
    recipient = await provinces.enrol("360100", insutype="390", account=False)
    rid = (await provinces.bind(provider, recipient, "grandparent"))["relationship_id"]
    consent = new_msgid(recipient.region)
    first = await provinces.confirm(rid, recipient, msgid=consent)
    assert await provinces.confirm(rid, recipient, msgid=consent) == first
    ending = new_msgid(provider.region)
    ended = await provinces.terminate(rid, provider, msgid=ending)
    assert ended["status"] == "completed"
    assert await provinces.terminate(rid, provider, msgid=ending) == ended
    await asyncio.sleep(1.0)
    assert len(provinces.notifications("relationship.established", rid)) == 2
    assert len(provinces.notifications("relationship.ended", rid)) == 2
    assert len(provinces.events("relationship.relationship-ended", rid)) == 1
    assert {n.value["body"]["reason"] for n in provinces.notifications("relationship.ended", rid)} == {
        "terminated_by_provider"
    }


async def test_only_the_recipients_province_can_consent_for_the_recipient(provinces: Provinces) -> None:
    provider = await provinces.enrol("440300")
    recipient = await provinces.enrol("610100", insutype="390", account=False)
    rid = (await provinces.bind(provider, recipient, "parent"))["relationship_id"]
    forged = await provinces.ask(
        "ingress.relationship.v1",
        "relationship.bind-confirmed",
        {"relationship_id": rid, "recipient_psn_no": recipient.psn_no},
        "440300",
        recipient.psn_no,
    )
    assert (forged["status"], forged["reason_code"]) == ("rejected", "NOT_A_PARTY")
    assert (await provinces.confirm(rid, recipient))["status"] == "completed"


async def test_a_death_reported_late_still_ends_the_persons_relationships(provinces: Provinces) -> None:
    x = await provinces.enrol("210100")
    y = await provinces.enrol("210100", insutype="390", account=False)
    rid = await provinces.bound(x, y, "child")
    await provinces.enrol("210100", member=x, effective="2026-11-05")  # a correction recorded first
    await provinces.enrol("210100", status="4", change="death", member=x, effective="2026-11-01")
    [note] = await provinces.w.wait_for(ended_notice(rid))
    assert note.value["body"]["reason"] == "insurance_changed"
