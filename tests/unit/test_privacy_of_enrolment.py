"""Privacy of enrolment (issue 29, item 5): a sender's right to ask is checked before any answer that says whether a
person exists, is enrolled, eligible, frozen or has a wallet. A province that may not ask about a person gets the
same answer (code and words) for a person insured elsewhere and for nobody; only a trusted national gateway (or, for
a freeze, the national operator) is told that a person was never enrolled. The wallet's use cases on the in-memory
ports here; the relationship's, payment's and clearing's in their own unit tests; tests/e2e/test_sender_rules.py
through Kafka and PostgreSQL."""

from __future__ import annotations

from services.wallet.domain import commands
from services.wallet.service_layer.change_freeze import change_freeze
from services.wallet.service_layer.credit_account import credit_account
from services.wallet.service_layer.open_wallet import open_wallet
from services.wallet.service_layer.request_transfer import request_transfer
from shared.contracts.reasons import ReasonCode
from shared.messaging.messages import Decision
from tests.unit.wallet.world import MAX_CREDIT, PROVIDER, RECIPIENT, money, world

OUTSIDER, GATEWAY, NATIONAL = "120100", "110000", "100000"  # Tianjin; the national app's gateway; the operator
NOBODY = "X12000000000000000001"


def answer(decision: Decision) -> tuple[str, str | None, str | None]:
    return (decision.status, decision.reason_code, decision.reason)


async def test_a_wallet_is_opened_only_by_whom_may_ask_and_an_outsider_cannot_tell_who_is_enrolled() -> None:
    w = await world()
    outsider = w.as_(OUTSIDER, msgid="o-1")
    enrolled = await open_wallet(commands.OpenWallet(RECIPIENT.psn_no, "999999"), outsider)  # a region not enabled
    nobody = await open_wallet(commands.OpenWallet(NOBODY, "999999"), outsider)
    assert answer(enrolled) == answer(nobody)
    assert enrolled.reason_code == ReasonCode.NOT_A_PARTY, "before the region's wallet function is judged"
    gateway = w.as_(GATEWAY, msgid="g-1", trusted=frozenset({GATEWAY}))
    assert (await open_wallet(commands.OpenWallet(NOBODY, "610100"), gateway)).reason_code == ReasonCode.UNKNOWN_PERSON


async def test_a_freeze_from_a_province_that_does_not_insure_the_person_is_the_same_for_nobody() -> None:
    w = await world()
    outsider = w.as_(OUTSIDER, msgid="o-1")
    enrolled = await change_freeze(commands.ChangeFreeze(RECIPIENT.psn_no, True, "misuse", "o-1"), outsider)
    nobody = await change_freeze(commands.ChangeFreeze(NOBODY, True, "misuse", "o-2"), outsider)
    assert answer(enrolled) == answer(nobody)
    assert enrolled.reason_code == ReasonCode.NOT_A_PARTY
    national = w.as_(NATIONAL, msgid="n-1", national_operators=frozenset({NATIONAL}))
    told = await change_freeze(commands.ChangeFreeze(NOBODY, True, "misuse", "n-1"), national)
    assert told.reason_code == ReasonCode.UNKNOWN_PERSON, "the national operator may ask about anyone"


async def test_a_credit_from_another_province_is_the_same_for_nobody() -> None:
    w = await world()
    outsider = w.as_(OUTSIDER, msgid="o-1")
    enrolled = commands.CreditAccount("120100:c1", RECIPIENT.psn_no, OUTSIDER, money("10.00"), "203003", "interest")
    nobody = commands.CreditAccount("120100:c2", NOBODY, OUTSIDER, money("10.00"), "203003", "interest")
    first, second = (
        await credit_account(enrolled, outsider, MAX_CREDIT),
        await credit_account(nobody, outsider, MAX_CREDIT),
    )
    assert (
        (first.status, first.reason_code)
        == (second.status, second.reason_code)
        == (
            "rejected",
            ReasonCode.SENDER_NOT_ALLOWED,
        )
    )


async def test_a_transfer_from_an_outsider_is_refused_before_any_rule_that_reads_the_people() -> None:
    w = await world()
    unverified = await request_transfer(w.request("100.00", verified=False), w.as_(OUTSIDER, msgid="o-1"))
    assert unverified.reason_code == ReasonCode.NOT_A_PARTY, "not VERIFICATION_FAILED: the sender first"
    too_much = await request_transfer(w.request("99999.00"), w.as_(OUTSIDER, msgid="o-2"))
    nobody = await request_transfer(w.request("99999.00", from_psn_no=NOBODY), w.as_(OUTSIDER, msgid="o-3"))
    assert answer(too_much) == answer(nobody)
    assert too_much.reason_code == ReasonCode.NOT_A_PARTY, "the sender region's limits would tell of the sender"
    gateway = w.as_(GATEWAY, msgid="g-1", trusted=frozenset({GATEWAY}))
    told = await request_transfer(w.request("100.00", from_psn_no=NOBODY), gateway)
    assert told.reason_code == ReasonCode.UNKNOWN_PERSON
    assert w.provider_balance == money("500.00"), "nothing held"
    assert PROVIDER.psn_no != NOBODY
