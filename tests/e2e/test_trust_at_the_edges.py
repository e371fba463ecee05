"""Issue 29 through the real broker and the four services as processes.

Item 1: a value out of its domain is INVALID_MESSAGE at classification, never a crash of a handler answered
PROCESSING_FAILED after retries (a statement to 9999-12-31 used to be).
Item 5: a province that may not ask about a person gets the same answer for a person enrolled elsewhere and for a
person never enrolled, for every type where it matters; only a trusted gateway is told UNKNOWN_PERSON."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared.contracts.topics import PROVINCE_TOPICS
from tests.e2e.conftest import Platform
from tests.e2e.families import Member, Payments, Provinces, Wallets
from tests.support.kafka import Publisher, Watcher
from tools.keys import LOCAL_NATIONAL_OPERATOR

pytestmark = pytest.mark.e2e
WALLET, SETTLEMENT, ENROLLMENT = "ingress.wallet.v1", "ingress.settlement.v1", "ingress.enrollment.v1"
REGISTRY, RELATIONSHIP, CLEARING = "ingress.registry.v1", "ingress.relationship.v1", "ingress.clearing.v1"
OUTSIDER = "120100"  # Tianjin: insures neither of the people below


@pytest.fixture
async def desk(platform: Platform) -> AsyncIterator[tuple[Provinces, Wallets, Payments]]:
    platform.daytime()  # transfers have quiet hours
    async with (
        Publisher(platform.settings.kafka_bootstrap) as pub,
        Watcher(platform.settings.kafka_bootstrap, list(PROVINCE_TOPICS)) as w,
    ):
        provinces = Provinces(pub, w, platform.now)
        yield provinces, Wallets(provinces, platform.settings.dsn("wallet")), Payments(provinces)


def answer(result: dict[str, Any]) -> tuple[str, str | None, str | None]:
    return result["status"], result["reason_code"], result["reason"]


async def test_values_out_of_their_domain_are_invalid_messages_never_processing_failed(
    desk: tuple[Provinces, Wallets, Payments],
) -> None:
    provinces, wallets, payments = desk
    provider, recipient, _ = await wallets.family("650100", "640100", credit="800.00")
    hospital = await payments.institution("640100")
    today = provinces.now().date().isoformat()

    def statement(**body: Any) -> tuple[str, str, dict[str, Any], str, str]:
        return WALLET, "wallet.statement-requested", {"psn_no": recipient.psn_no, **body}, "640100", recipient.psn_no

    settle = {
        "mdtrt_id": "MDT-29", "psn_no": recipient.psn_no, "fixmedins_code": hospital, "mdtrtarea_admvs": "640100",
        "med_type": "11", "medfee_sumamt": "100.00", "fund_pay_sumamt": "60.00", "psn_part_amt": "40.00",
        "acct_used_flag": "1", "use_wallet": True, "setl_time": provinces.now().isoformat(timespec="seconds"),
    }  # fmt: skip
    contribution = {
        "payer_psn_no": provider.psn_no, "insured_psn_no": recipient.psn_no, "insutype": "390", "amount": "100.00",
        "year": provinces.now().year + 1,
    }  # fmt: skip
    cases = [
        statement(from_date=today, to_date="9999-12-31"),  # the crash of issue 29: to_date + 1 day overflowed
        statement(from_date="9999-12-31", to_date="9999-12-31"),
        statement(from_date="0001-01-01", to_date="0001-01-02"),
        statement(from_date=today, to_date=today, cursor="１２"),  # full-width digits
        statement(from_date=today, to_date=today, cursor="99999999999999999999"),  # past a bigint
        statement(from_date="２０２６-01-01", to_date=today),
        (SETTLEMENT, "settlement.requested", {**settle, "setl_time": "9999-12-31T23:59:59-14:00"}, "640100", "k"),
        (SETTLEMENT, "settlement.requested", {**settle, "psn_part_amt": "-40.00"}, "640100", "k"),
        (SETTLEMENT, "settlement.requested", {**settle, "medfee_sumamt": "100000000000000.00"}, "640100", "k"),
        (SETTLEMENT, "settlement.requested", {**settle, "medfee_sumamt": "NaN"}, "640100", "k"),
        (SETTLEMENT, "contribution.requested", {**contribution, "year": "٢٠٢٧"}, "640100", "k"),
        (SETTLEMENT, "contribution.requested", {**contribution, "year": 2**63}, "640100", "k"),
        (ENROLLMENT, "account.credited", {"psn_no": provider.psn_no, "amount": "-1.00", "period": "202611"}, "650100",
         "k"),
        (ENROLLMENT, "account.credited", {"psn_no": provider.psn_no, "amount": "1.00", "period": "000001"}, "650100",
         "k"),
        (WALLET, "transfer.requested", {"from_psn_no": provider.psn_no, "to_psn_no": recipient.psn_no,
         "to_certno": recipient.certno, "to_name": recipient.name, "amount": "-10.00", "verification": "face",
         "verified": True}, "650100", provider.psn_no),
        (REGISTRY, "registry.query-requested", {"what": "regions", "admdvs": "640000", "cursor": "６４０１００"},
         "640100", "640100"),
        (CLEARING, "clearing.close-requested", {"period": "000001"}, LOCAL_NATIONAL_OPERATOR, "000001"),
    ]  # fmt: skip
    for topic, type_, body, sender, key in cases:
        result = await provinces.ask(topic, type_, body, sender, key)
        assert (result["status"], result["reason_code"]) == ("rejected", "INVALID_MESSAGE"), (type_, body, result)
    valid = await provinces.ask(*statement(from_date=today, to_date=today))
    assert valid["status"] == "completed", "and the partition goes on"


async def test_an_outsider_province_gets_one_answer_for_an_enrolled_person_and_for_nobody(
    desk: tuple[Provinces, Wallets, Payments],
) -> None:
    provinces, wallets, payments = desk
    provider, recipient, _ = await wallets.family("430100", "450100", credit="800.00")
    ineligible = await provinces.enrol("430100", insutype="390", account=False)  # may not provide
    frozen = await provinces.enrol("450100", insutype="390", account=False)
    freezing = {"psn_no": frozen.psn_no, "reason": "misuse"}
    assert (await provinces.ask(WALLET, "wallet.freeze-requested", freezing, "450100", frozen.psn_no))[
        "status"
    ] == "completed"
    nobody = Member("43010000000000000000009", "430102199001010000", "无名", "430100")  # never enrolled

    async def asked_by(sender: str, about: Member, other: Member) -> dict[str, dict[str, Any]]:
        """Every type whose answer could say something of `about`, sent by `sender`."""
        return {
            "relationship.bind-requested": await provinces.ask(
                RELATIONSHIP, "relationship.bind-requested",
                {"provider_psn_no": about.psn_no, "recipient_psn_no": other.psn_no, "kinship": "parent",
                 "recipient_certno": other.certno, "recipient_name": other.name},
                sender, about.psn_no,
            ),
            "wallet.open-requested": await provinces.ask(
                WALLET, "wallet.open-requested",
                {"psn_no": about.psn_no, "usage_admdvs": about.region, "phone": "13800000000"}, sender, about.psn_no,
            ),
            "transfer.requested": await wallets.transfer(about, other, "10.00", sender=sender),
            "wallet.statement-requested": await provinces.ask(
                WALLET, "wallet.statement-requested",
                {"psn_no": about.psn_no, "from_date": provinces.now().date().isoformat(),
                 "to_date": provinces.now().date().isoformat()},
                sender, about.psn_no,
            ),
            "wallet.freeze-requested": await provinces.ask(
                WALLET, "wallet.freeze-requested", {"psn_no": about.psn_no, "reason": "?"}, sender, about.psn_no
            ),
            "wallet.unfreeze-requested": await provinces.ask(
                WALLET, "wallet.unfreeze-requested", {"psn_no": about.psn_no, "reason": "?"}, sender, about.psn_no
            ),
            "contribution.requested": await payments.contribute(other, about, "100.00", sender=sender),
            "account.credited": await provinces.ask(
                ENROLLMENT, "account.credited", {"psn_no": about.psn_no, "amount": "1.00", "period": "202611"},
                sender, about.psn_no,
            ),
        }  # fmt: skip

    seen = {
        who: await asked_by(OUTSIDER, about, recipient)
        for who, about in (("provider", provider), ("ineligible", ineligible), ("frozen", frozen), ("nobody", nobody))
    }
    for type_ in seen["nobody"]:
        # a credit's refusal names the psn_no it was sent for, so only its code and status are compared
        answers = {who: answer(seen[who][type_])[: 2 if type_ == "account.credited" else 3] for who in seen}
        assert len(set(answers.values())) == 1, (type_, answers)
        expected = "SENDER_NOT_ALLOWED" if type_ == "account.credited" else "NOT_A_PARTY"
        assert answers["nobody"][:2] == ("rejected", expected), (type_, answers["nobody"])
    # the provider's own province is told what it may know: the person is not eligible, or nobody is not a party
    own = await provinces.bind(ineligible, recipient)
    assert own["reason_code"] == "NOT_ELIGIBLE_PROVIDER"
    for_nobody = await provinces.bind(nobody, recipient)
    assert answer(for_nobody) == answer(seen["provider"]["relationship.bind-requested"]), "nobody is no one's"
