"""Issue 11, part 3: who may send what (README), each rule refused through the running services."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from shared.contracts.topics import PROVINCE_TOPICS
from tests.e2e.conftest import Platform
from tests.e2e.families import Member, Provinces
from tests.support.kafka import Publisher, Watcher
from tools.keys import LOCAL_NATIONAL_OPERATOR

pytestmark = pytest.mark.e2e
REGISTRY = "ingress.registry.v1"
ENROLLMENT = "ingress.enrollment.v1"
CLEARING = "ingress.clearing.v1"


@pytest.fixture
async def provinces(platform: Platform) -> AsyncIterator[Provinces]:
    async with (
        Publisher(platform.settings.kafka_bootstrap) as pub,
        Watcher(platform.settings.kafka_bootstrap, list(PROVINCE_TOPICS)) as w,
    ):
        yield Provinces(pub, w, platform.now)


async def test_a_regions_wallet_is_switched_by_its_own_province_only(provinces: Provinces) -> None:
    switch = {"admdvs": "610100", "wallet_enabled": False}
    refused = await provinces.ask(REGISTRY, "region.wallet-status-changed", switch, "440300", "610100")
    assert (refused["status"], refused["reason_code"]) == ("rejected", "SENDER_NOT_ALLOWED")
    own = await provinces.ask(
        REGISTRY, "region.wallet-status-changed", {**switch, "wallet_enabled": True}, "610300", "610100"
    )
    assert own["status"] == "completed", "another region of the same province keeps the province's registry"


async def test_an_institution_is_registered_and_moved_only_by_its_province(provinces: Provinces) -> None:
    code = f"H610100{random.randrange(10**5):05d}"
    hospital = {
        "fixmedins_code": code,
        "fixmedins_name": "西安市第九医院",
        "fixmedins_type": "1",
        "admdvs": "610100",
        "wallet_enabled": True,
    }
    created_elsewhere = await provinces.ask(REGISTRY, "institution.upserted", hospital, "440300", "610100")
    assert (created_elsewhere["status"], created_elsewhere["reason_code"]) == ("rejected", "SENDER_NOT_ALLOWED")
    assert (await provinces.ask(REGISTRY, "institution.upserted", hospital, "610100", "610100"))[
        "status"
    ] == "completed"
    moved = await provinces.ask(REGISTRY, "institution.upserted", {**hospital, "admdvs": "440300"}, "440300", "440300")
    assert (moved["status"], moved["reason_code"]) == ("rejected", "SENDER_NOT_ALLOWED"), "a province cannot take it"
    disabled = await provinces.ask(
        REGISTRY, "institution.upserted", {**hospital, "wallet_enabled": False}, "440300", "610100"
    )
    assert disabled["reason_code"] == "SENDER_NOT_ALLOWED", "nor switch it off"


def enrolment(m: Member, region: str, effective: str = "2026-01-01T00:00:00+08:00", **changes: Any) -> dict[str, Any]:
    body = {
        "psn_no": m.psn_no,
        "psn_name": m.name,
        "psn_cert_type": "01",
        "certno": m.certno,
        "insutype": "310",
        "psn_insu_stas": "1",
        "insuplc_admdvs": region,
        "has_personal_account": True,
        "change_reason": "enrol",
        "effective_at": effective,
    }
    return {**body, **changes}


async def test_a_person_is_enrolled_by_their_insured_province_or_moved_in_once_released(
    provinces: Provinces,
) -> None:
    ask = provinces.ask

    async def enrol(m: Member, region: str, sender: str, effective: str, **changes: Any) -> tuple[str, str | None]:
        body = enrolment(m, region, f"2026-{effective}T00:00:00+08:00", **changes)
        answer = await ask(ENROLLMENT, "enrollment.changed", body, sender, m.psn_no)
        return answer["status"], answer["reason_code"]

    refused = ("rejected", "SENDER_NOT_ALLOWED")
    stranger = Member(f"6101009{random.randrange(10**13):013d}", "610102198001011234", "张伟", "610100")
    assert await enrol(stranger, "610100", "440300", "01-01") == refused, "not Guangdong's to enrol"

    member = await provinces.enrol("610100")
    assert await enrol(member, "610100", "440300", "06-01", psn_name="李四") == refused, "nor to rename"
    assert await enrol(member, "440300", "440300", "06-01", certno="440301198001011234") == refused, "another one"
    assert await enrol(member, "440300", "440300", "06-01", change_reason="transfer") == refused, (
        "a person insured in Shaanxi is not moved in by Guangdong, even naming the right certificate"
    )
    assert await enrol(member, "610100", "610100", "06-01", psn_insu_stas="2", change_reason="suspend") == (
        "completed",
        None,
    )
    assert await enrol(member, "440300", "440300", "07-01", change_reason="transfer") == ("completed", None), (
        "released by Shaanxi: Guangdong moves them in"
    )
    assert await enrol(member, "610100", "610100", "05-01", psn_insu_stas="4", change_reason="death") == refused, (
        "a late change comes only from the province they are insured in now"
    )
    assert await enrol(member, "610100", "440300", "08-01", change_reason="transfer") == ("completed", None), (
        "the province they are insured in may move them out"
    )

    ahead = (provinces.now() + timedelta(days=32)).isoformat()
    late = await ask(ENROLLMENT, "enrollment.changed", enrolment(member, "610100", ahead), "610100", member.psn_no)
    assert (late["status"], late["reason_code"]) == ("rejected", "EFFECTIVE_AT_OUT_OF_RANGE")


async def test_an_account_is_credited_by_its_insured_province_within_the_maximum(provinces: Provinces) -> None:
    member = await provinces.enrol("620100")

    async def credit(amount: str, sender: str, psn_no: str = member.psn_no) -> tuple[str, str | None]:
        body = {"psn_no": psn_no, "amount": amount, "period": "202611", "kind": "contribution"}
        answer = await provinces.ask(ENROLLMENT, "account.credited", body, sender, psn_no)
        return answer["status"], answer["reason_code"]

    assert await credit("100.00", "440300") == ("rejected", "SENDER_NOT_ALLOWED")
    nobody = f"6201009{random.randrange(10**13):013d}"  # no insured province: no province credits them (issue 29)
    assert await credit("100.00", "620100", nobody) == ("rejected", "SENDER_NOT_ALLOWED")
    assert await credit("100000.01", "620100") == ("rejected", "AMOUNT_OUT_OF_RANGE")
    assert await credit("100000.00", "620200") == ("completed", None), "any region of the insured province"


async def test_only_the_national_operator_closes_a_month(provinces: Provinces) -> None:
    month = f"{provinces.now():%Y%m}"  # not ended: a close the sender may ask for is refused for that reason
    for province in ("110100", "440300"):
        refused = await provinces.ask(CLEARING, "clearing.close-requested", {"period": month}, province, month)
        assert (refused["status"], refused["reason_code"]) == ("rejected", "SENDER_NOT_ALLOWED")
    judged = await provinces.ask(
        CLEARING, "clearing.close-requested", {"period": month}, LOCAL_NATIONAL_OPERATOR, month
    )
    assert (judged["status"], judged["reason_code"]) == ("rejected", "PERIOD_NOT_ENDED")
