"""The binding rules as pure decisions (services/relationship/domain)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from services.relationship.domain.people import Person, may_record
from services.relationship.domain.relationships import (
    KINSHIP_GROUP,
    Relationship,
    Standing,
    Status,
    check_eligibility,
    check_identity,
    check_kinship,
    check_policy,
    ends_on_enrolment_change,
    ends_on_late_change,
)
from services.relationship.entrypoints.policy_cli import parse_assignments
from shared.contracts.policy import (
    KINSHIPS,
    LEGACY_GROUPS,
    SEED,
    TIANJIN_CAP,
    KinshipCap,
    RegionalPolicy,
    effective_policy,
    legacy_bans,
    upgrade_row,
    validate_override,
)
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import speaks_for as may_act_for
from shared.identity import name_hash

T0 = datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=8)))
KEY = b"test-identity-key"
PROVIDER = Person("P", name_hash("张伟", KEY), "hash-p", "01", "310", "1", "440300", True, T0)
RECIPIENT = Person("R", name_hash("王秀英", KEY), "hash-r", "01", "390", "1", "610100", False, T0)
NATIONAL = RegionalPolicy()
RELEASED = replace(PROVIDER, psn_insu_stas="2")


def code(refusal: object) -> ReasonCode | None:
    return getattr(refusal, "code", None)


@pytest.mark.parametrize("kinship", sorted(KINSHIP_GROUP))
def test_the_eight_close_relatives_may_be_bound(kinship: str) -> None:
    assert check_kinship("P", "R", kinship) is None


@pytest.mark.parametrize("kinship", ["friend", "cousin", "Parent", ""])
def test_anyone_else_is_not_a_close_relative(kinship: str) -> None:
    assert code(check_kinship("P", "R", kinship)) is ReasonCode.NOT_CLOSE_RELATIVE


def test_nobody_binds_themselves() -> None:
    assert code(check_kinship("P", "P", "spouse")) is ReasonCode.NOT_CLOSE_RELATIVE


def test_unknown_people_are_refused() -> None:
    assert code(check_eligibility(None, RECIPIENT)) is ReasonCode.UNKNOWN_PERSON
    assert code(check_eligibility(PROVIDER, None)) is ReasonCode.UNKNOWN_PERSON


@pytest.mark.parametrize(
    "change",
    [{"has_personal_account": False}, {"insutype": "390"}, {"psn_insu_stas": "2"}, {"psn_insu_stas": "4"}],
    ids=["pooling-only", "resident", "suspended", "terminated"],
)
def test_a_provider_is_an_employee_member_in_normal_status_with_a_personal_account(change: dict[str, object]) -> None:
    assert check_eligibility(PROVIDER, RECIPIENT) is None
    assert code(check_eligibility(replace(PROVIDER, **change), RECIPIENT)) is ReasonCode.NOT_ELIGIBLE_PROVIDER  # type: ignore[arg-type]


@pytest.mark.parametrize("change", [{"insutype": "410"}, {"insutype": "510"}, {"psn_insu_stas": "2"}])
def test_a_recipient_is_employee_or_resident_insured_in_normal_status(change: dict[str, object]) -> None:
    assert check_eligibility(PROVIDER, replace(PROVIDER, psn_no="R2")) is None, "an employee member may receive"
    refusal = check_eligibility(PROVIDER, replace(RECIPIENT, **change))  # type: ignore[arg-type]
    assert code(refusal) is ReasonCode.NOT_ELIGIBLE_RECIPIENT


def test_the_recipients_certificate_number_and_name_must_match_the_enrolment() -> None:
    assert check_identity(RECIPIENT, "hash-r", name_hash(" 王秀英 ", KEY)) is None, "names compare normalized"
    assert code(check_identity(RECIPIENT, "hash-x", name_hash("王秀英", KEY))) is ReasonCode.IDENTITY_MISMATCH
    assert code(check_identity(RECIPIENT, "hash-r", name_hash("王秀", KEY))) is ReasonCode.IDENTITY_MISMATCH


def policy(region: str) -> RegionalPolicy:
    return effective_policy(region, SEED)


def test_a_second_active_relationship_for_the_same_pair_is_refused() -> None:
    refusal = check_policy("parent", Standing(pair_exists=True), NATIONAL, NATIONAL)
    assert code(refusal) is ReasonCode.RELATIONSHIP_EXISTS


def test_hunan_caps_a_providers_recipients_at_ten() -> None:
    hunan = policy("430100")
    assert check_policy("sibling", Standing(provider_recipients=9), hunan, NATIONAL) is None
    assert code(check_policy("sibling", Standing(provider_recipients=10), hunan, NATIONAL)) is ReasonCode.POLICY_LIMIT
    assert check_policy("sibling", Standing(provider_recipients=50), NATIONAL, hunan) is None, "provider's region"


def test_tianjin_caps_children_siblings_and_grandchildren_together_at_four() -> None:
    tianjin = policy("120100")
    full = Standing(provider_recipients=4, provider_recipients_by_kinship={"child": 2, "sibling": 1, "grandchild": 1})
    for kinship in ("child", "sibling", "grandchild", "maternal_grandchild"):
        refusal = check_policy(kinship, full, tianjin, NATIONAL)
        assert code(refusal) is ReasonCode.POLICY_LIMIT, kinship
        assert "子女、兄弟姐妹、孙子女、外孙子女最多可授权4位" in getattr(refusal, "reason", "")
    for kinship in ("spouse", "parent", "grandparent", "maternal_grandparent"):
        assert check_policy(kinship, full, tianjin, NATIONAL) is None, f"{kinship} is outside the cap"
    beside = Standing(provider_recipients=6, provider_recipients_by_kinship={"child": 3, "spouse": 1, "parent": 2})
    assert check_policy("sibling", beside, tianjin, NATIONAL) is None, "spouse and parents do not count"
    assert check_policy("child", full, NATIONAL, tianjin) is None, "the provider's region's cap"


def test_caps_over_any_sets_of_kinships_apply_each_to_its_own_set() -> None:
    two_caps = RegionalPolicy.model_validate(
        {"kinship_caps": [{"kinships": ["spouse", "parent"], "max": 2}, {"kinships": ["parent", "child"], "max": 3}]}
    )
    standing = Standing(provider_recipients_by_kinship={"spouse": 1, "parent": 1, "child": 2})
    assert code(check_policy("spouse", standing, two_caps, NATIONAL)) is ReasonCode.POLICY_LIMIT
    assert code(check_policy("parent", standing, two_caps, NATIONAL)) is ReasonCode.POLICY_LIMIT, "in both sets"
    assert code(check_policy("child", standing, two_caps, NATIONAL)) is ReasonCode.POLICY_LIMIT
    assert check_policy("sibling", standing, two_caps, NATIONAL) is None
    assert check_policy("child", Standing(provider_recipients_by_kinship={"child": 2}), two_caps, NATIONAL) is None


def test_kinship_caps_read_in_the_bureaus_terms() -> None:
    cap = KinshipCap.model_validate(TIANJIN_CAP)
    assert cap.bureau_terms() == "子女、兄弟姐妹、孙子女、外孙子女最多可授权4位"
    assert cap.english() == "at most 4 together among child, sibling, grandchild, maternal_grandchild"
    assert set(KINSHIPS) == set(KINSHIP_GROUP), "one list of the eight close relatives"


def test_shandong_allows_one_provider_per_recipient() -> None:
    shandong = policy("370100")
    assert code(check_policy("parent", Standing(recipient_providers=1), NATIONAL, shandong)) is ReasonCode.POLICY_LIMIT
    assert check_policy("parent", Standing(recipient_providers=1), shandong, NATIONAL) is None, "recipient's region"


def test_in_shandong_a_bound_recipient_may_not_provide_and_a_provider_may_not_receive() -> None:
    shandong = policy("370100")
    assert (
        code(check_policy("parent", Standing(provider_is_recipient=True), shandong, NATIONAL))
        is ReasonCode.POLICY_LIMIT
    )
    assert (
        code(check_policy("parent", Standing(recipient_is_provider=True), NATIONAL, shandong))
        is ReasonCode.POLICY_LIMIT
    )
    assert check_policy("parent", Standing(provider_is_recipient=True), NATIONAL, NATIONAL) is None


def test_two_way_relationships_need_both_regions_to_allow_them() -> None:
    guangxi = policy("450100")
    reverse = Standing(reverse_exists=True)
    assert code(check_policy("spouse", reverse, NATIONAL, NATIONAL)) is ReasonCode.POLICY_LIMIT
    assert code(check_policy("spouse", reverse, guangxi, NATIONAL)) is ReasonCode.POLICY_LIMIT
    assert check_policy("spouse", reverse, guangxi, guangxi) is None


def test_a_pooling_region_row_overrides_its_province_which_overrides_the_nation() -> None:
    rows = {
        **SEED,
        "430000": {"max_active_recipients_per_provider": 10},
        "430100": {"max_active_recipients_per_provider": 3},
    }
    assert effective_policy("430100", rows).max_active_recipients_per_provider == 3
    assert effective_policy("430200", rows).max_active_recipients_per_provider == 10
    assert effective_policy("440300", rows).max_active_recipients_per_provider is None


def test_policy_changes_are_validated() -> None:
    with pytest.raises(ValueError, match="Input should be 'spouse'"):
        validate_override({"kinship_caps": [{"kinships": ["cousin"], "max": 2}]})
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        validate_override({"kinship_caps": [{"kinships": ["child"], "max": 0}]})
    with pytest.raises(ValueError, match="at least 1 item"):
        validate_override({"kinship_caps": [{"kinships": [], "max": 2}]})
    with pytest.raises(ValueError, match="named twice"):
        validate_override({"kinship_caps": [{"kinships": ["child", "child"], "max": 2}]})
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        validate_override({"max_recipients_per_kinship_group": {"immediate": 4}})
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        validate_override({"max_active_recipients_per_provider": 0})
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        validate_override({"no_such_field": 1})
    assert parse_assignments(["two_way_allowed=true", 'kinship_caps=[{"kinships": ["child"], "max": 2}]']) == {
        "two_way_allowed": True,
        "kinship_caps": [{"kinships": ["child"], "max": 2}],
    }
    with pytest.raises(ValueError, match="expected FIELD=VALUE"):
        parse_assignments(["two_way_allowed"])


REL = Relationship("r1", "P", "R", "parent", Status.ESTABLISHED, "440300", "610100", T0)


@pytest.mark.parametrize("reason", ["suspend", "terminate", "transfer", "death"])
def test_an_insurance_change_of_either_party_ends_the_relationship(reason: str) -> None:
    assert ends_on_enrolment_change(REL, PROVIDER, reason)
    assert ends_on_enrolment_change(REL, RECIPIENT, reason)


def test_a_change_that_keeps_a_person_eligible_for_their_part_ends_nothing() -> None:
    assert not ends_on_enrolment_change(REL, PROVIDER, "resume")
    assert not ends_on_enrolment_change(REL, replace(RECIPIENT, insutype="310"), "enrol")
    assert ends_on_enrolment_change(REL, replace(PROVIDER, has_personal_account=False), "enrol"), "lost eligibility"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"max_active_recipients_per_provider": "10"}, "valid integer"),
        ({"two_way_allowed": "yes"}, "valid boolean"),
        ({"bind_request_ttl_seconds": 10**12}, "less than or equal"),
        ({"kinship_caps": [{"kinships": ["child"], "max": "4"}]}, "valid integer"),
        ({"kinship_caps": {"kinships": ["child"], "max": 4}}, "valid list"),
        ({"two_way_allowed": None}, "cannot be null"),
    ],
)
def test_policy_values_are_checked_strictly(row: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_override(row)


def test_a_regions_kinship_caps_replace_its_provinces_and_null_lifts_them() -> None:
    rows = {
        **SEED,
        "120100": {"kinship_caps": [{"kinships": ["spouse"], "max": 1}]},
        "430100": {"max_active_recipients_per_provider": None},
        "120200": {"kinship_caps": None},
    }
    assert effective_policy("120100", rows).kinship_caps == [KinshipCap(kinships=["spouse"], max=1)]
    assert effective_policy("120300", rows).kinship_caps == [KinshipCap.model_validate(TIANJIN_CAP)]
    assert effective_policy("430100", rows).max_active_recipients_per_provider is None, "the region lifts Hunan's cap"
    assert effective_policy("430200", rows).max_active_recipients_per_provider == 10
    assert effective_policy("120200", rows).kinship_caps == []


def test_legacy_group_caps_are_upgraded_and_tianjins_first_seed_becomes_the_bureaus_rule() -> None:
    legacy_tianjin = {"max_recipients_per_kinship_group": {"immediate": 4}}
    assert upgrade_row("120000", legacy_tianjin, {}) == {"kinship_caps": [TIANJIN_CAP]}
    with_more = {**legacy_tianjin, "transfers_per_day": 2}
    assert upgrade_row("120000", with_more, {}) == {"transfers_per_day": 2, "kinship_caps": [TIANJIN_CAP]}
    changed = {"max_recipients_per_kinship_group": {"immediate": 3, "extended": None}, "two_way_allowed": True}
    assert upgrade_row("440300", changed, {}) == {
        "two_way_allowed": True,
        "kinship_caps": [{"kinships": ["spouse", "parent", "child"], "max": 3}],
    }, "an operator's row keeps what it meant"
    assert upgrade_row("440300", {"two_way_allowed": True}, {}) is None, "nothing to upgrade"
    copy = {"120000": legacy_tianjin}  # a follower's copy from before the upgrade event: still readable
    assert effective_policy("120100", copy).kinship_caps == [KinshipCap.model_validate(TIANJIN_CAP)]


def test_a_legacy_region_row_keeps_the_caps_it_inherited_group_by_group() -> None:
    immediate, extended = LEGACY_GROUPS["immediate"], LEGACY_GROUPS["extended"]
    table: dict[str, dict[str, Any]] = {
        "440000": {"max_recipients_per_kinship_group": {"immediate": 3}},
        "440300": {"max_recipients_per_kinship_group": {"extended": 2}},
        "440400": {"max_recipients_per_kinship_group": {"immediate": None}},
        "120000": {"max_recipients_per_kinship_group": {"immediate": 4}},
        "120100": {"max_recipients_per_kinship_group": {"extended": 2}},
        "130000": {"max_recipients_per_kinship_group": {"extended": 0}},
    }
    assert upgrade_row("440300", table["440300"], table) == {
        "kinship_caps": [{"kinships": immediate, "max": 3}, {"kinships": extended, "max": 2}]
    }
    assert upgrade_row("440400", table["440400"], table) == {"kinship_caps": None}, "it lifted the province's"
    assert upgrade_row("120100", table["120100"], table) == {
        "kinship_caps": [TIANJIN_CAP, {"kinships": extended, "max": 2}]
    }, "Tianjin's seed, inherited, is the bureau's rule"
    assert legacy_bans(table["130000"]) == ["extended"]
    upgraded = {admdvs: upgrade_row(admdvs, row, table) or row for admdvs, row in table.items()}
    for region in ("440300", "440400", "440500", "120100", "120200", "130100"):
        assert effective_policy(region, upgraded) == effective_policy(region, table), f"{region}: read alike"
    for odd in ({"immediate": None}, {}, None, {"extended": 0}):
        assert effective_policy("350100", {"350000": {"max_recipients_per_kinship_group": odd}}).kinship_caps == []


def test_a_party_insured_in_another_region_ends_the_relationship() -> None:
    moved = replace(PROVIDER, insuplc_admdvs="110100")
    assert ends_on_enrolment_change(REL, moved, "enrol")


def test_a_late_change_ends_what_was_requested_while_it_held_and_a_late_death_ends_everything() -> None:
    recorded = replace(PROVIDER, effective_at=T0 + timedelta(days=20))  # e.g. a resume, recorded first
    suspended = replace(PROVIDER, psn_insu_stas="2", effective_at=T0 + timedelta(days=10))  # arrives late
    during = replace(REL, requested_at=T0 + timedelta(days=15))
    after = replace(REL, requested_at=T0 + timedelta(days=30))
    assert ends_on_late_change(during, suspended, "suspend", recorded)
    assert not ends_on_late_change(after, suspended, "suspend", recorded)
    assert ends_on_late_change(after, replace(suspended, psn_insu_stas="4"), "death", recorded)
    assert not ends_on_late_change(during, suspended, "resume", recorded)


def test_only_the_partys_province_or_a_trusted_gateway_speaks_for_the_party() -> None:
    assert may_act_for("610100", "610300", frozenset())
    assert not may_act_for("440300", "610100", frozenset())
    assert may_act_for("100000", "610100", frozenset({"100000"}))


@pytest.mark.parametrize(
    ("sender", "new", "current", "allowed"),
    [
        ("440300", PROVIDER, None, True),  # a first enrolment by the province of the insured region
        ("440100", PROVIDER, None, True),  # any region of that province
        ("610100", PROVIDER, None, False),  # not another province's
        (
            "440300",
            replace(PROVIDER, name_hash=name_hash("李四", KEY)),
            PROVIDER,
            True,
        ),  # the current province corrects
        ("610100", replace(PROVIDER, name_hash=name_hash("李四", KEY)), PROVIDER, False),  # nobody else does
        ("440300", replace(PROVIDER, insuplc_admdvs="610100"), PROVIDER, True),  # moved out by the current one
        ("610100", replace(PROVIDER, insuplc_admdvs="610100"), PROVIDER, False),  # not while insured in 44
        ("610100", replace(PROVIDER, insuplc_admdvs="610100"), RELEASED, True),  # moved in once released
        ("610100", replace(PROVIDER, insuplc_admdvs="610100", certno_hash="other"), RELEASED, False),  # a stranger
        ("610100", replace(PROVIDER, insuplc_admdvs="610100", name_hash="other"), RELEASED, False),  # another name
        ("610100", replace(PROVIDER, insuplc_admdvs="610100", effective_at=T0 - timedelta(days=1)), RELEASED, False),
        ("110100", replace(PROVIDER, insuplc_admdvs="610100"), RELEASED, False),  # a third province
        ("440300", replace(PROVIDER, effective_at=T0 - timedelta(days=1)), PROVIDER, True),  # late, by the current one
    ],
)
def test_who_may_record_an_enrolment(sender: str, new: Person, current: Person | None, allowed: bool) -> None:
    """RELEASED is PROVIDER with their insurance in Guangdong suspended."""
    assert (may_record(sender, new, current) is None) is allowed
