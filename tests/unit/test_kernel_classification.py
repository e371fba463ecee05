"""Which service answers what, decided before any I/O (the kernel's pure part)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from shared.clock import BusinessClock
from shared.contracts.province import INGRESS
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import INGRESS_ENROLLMENT, INGRESS_WALLET
from shared.messaging.consumer import MessageContext, Pipeline
from shared.messaging.kernel.ingress import IngressStages
from shared.messaging.kernel.records import Invalid as _Invalid
from shared.messaging.kernel.records import Parsed as _Parsed
from shared.messaging.messages import Decision
from tests.support.kernel import ingress
from tests.support.schema_strategy import from_schema


@dataclass
class FakeRecord:
    value: bytes | None
    topic: str = INGRESS_ENROLLMENT
    partition: int = 0
    offset: int = 0
    key: bytes | None = None
    timestamp: int = 0
    headers: tuple[tuple[str, bytes], ...] = ()


async def noop(ctx: MessageContext, env: Any) -> Decision:
    return Decision.completed()


def consumer(service: str, topic: str = INGRESS_ENROLLMENT, handlers: dict[str, Any] | None = None) -> Pipeline:
    return ingress(service, topic, handlers or {})  # no pool: classification never touches the database


def message(type_: str, body: dict[str, Any], sender: str = "440300") -> bytes:
    return json.dumps(
        {"msgid": "m1", "type": type_, "sender": sender, "sent_at": "2026-11-22T10:00:00+08:00", "body": body}
    ).encode()


CREDIT = {"psn_no": "44030000000000012345", "amount": "10.00", "period": "202611"}
OPEN = {"psn_no": "44030000000000012345", "usage_admdvs": "440300", "phone": "13800000000"}


def test_a_type_is_answered_only_by_its_owner() -> None:
    record = FakeRecord(message("account.credited", CREDIT))
    assert consumer("relationship").classify(record) is None
    assert isinstance(consumer("wallet").classify(record), _Parsed)


def test_unreadable_input_is_answered_by_the_topics_primary_service_only() -> None:
    record = FakeRecord(b"{oops")
    assert consumer("wallet").classify(record) is None
    invalid = consumer("relationship").classify(record)
    assert isinstance(invalid, _Invalid)
    assert invalid.sender is None


def test_a_body_that_breaks_the_contract_is_invalid_with_the_sender_readable() -> None:
    bad = dict(CREDIT, amount=10)
    invalid = consumer("wallet").classify(FakeRecord(message("account.credited", bad)))
    assert isinstance(invalid, _Invalid)
    assert (invalid.sender, invalid.msgid, invalid.code) == ("440300", "m1", ReasonCode.INVALID_MESSAGE)
    assert "amount" in invalid.reason


@pytest.mark.parametrize("period", ["２０２６１１", "٢٠٢٦١١", "2026١١"])
def test_digits_of_other_scripts_are_invalid_where_the_contract_says_digits(period: str) -> None:
    invalid = consumer("wallet").classify(FakeRecord(message("account.credited", dict(CREDIT, period=period))))
    assert isinstance(invalid, _Invalid)
    assert (invalid.sender, invalid.code) == ("440300", ReasonCode.INVALID_MESSAGE)


def test_a_sender_written_in_other_digits_cannot_be_answered() -> None:
    invalid = consumer("wallet").classify(FakeRecord(message("account.credited", CREDIT, sender="44０３００")))
    assert isinstance(invalid, _Invalid)
    assert invalid.sender is None


def test_a_sender_outside_the_31_provinces_cannot_be_answered() -> None:
    invalid = consumer("wallet").classify(FakeRecord(message("account.credited", CREDIT, sender="990000")))
    assert isinstance(invalid, _Invalid)
    assert invalid.sender is None


def test_a_known_type_on_the_wrong_topic_is_answered_wrong_topic() -> None:
    record = FakeRecord(message("account.credited", CREDIT), topic=INGRESS_WALLET)
    invalid = consumer("wallet", INGRESS_WALLET).classify(record)
    assert isinstance(invalid, _Invalid)
    assert invalid.code is ReasonCode.WRONG_TOPIC


def test_a_service_cannot_register_a_handler_for_a_type_it_does_not_own() -> None:
    with pytest.raises(ValueError, match="cannot answer"):
        consumer("wallet", INGRESS_ENROLLMENT, {"enrollment.changed": noop})


def test_a_record_not_signed_by_its_claimed_sender_is_refused_before_anything_else_is_judged() -> None:
    """docs/signing.md: unsigned, or signed by another province's key, is SIGNATURE_INVALID (nothing stored); a
    record signed by its sender is judged as before; a record without a readable sender is dead-lettered as is."""
    from datetime import timedelta

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from shared.signing import EnvelopeVerifier, KeyRegistry, RegisteredKey, Verdict, sign

    key = Ed25519PrivateKey.generate()
    clock = BusinessClock()
    now = clock.now()
    registered = RegisteredKey("440000-k", "440000", key.public_key(), now - timedelta(days=1), now + timedelta(days=1))
    c = consumer("wallet", INGRESS_WALLET)
    assert isinstance(c.stages, IngressStages)
    c.stages.secure(EnvelopeVerifier(KeyRegistry([registered]), timedelta(minutes=15)), frozenset())

    def record(sender: str, signed_as: str | None, body: dict[str, Any] | None = None) -> FakeRecord:
        sent_at = now.isoformat(timespec="seconds")
        value = json.dumps(
            {
                "msgid": "m1",
                "type": "wallet.open-requested",
                "sender": sender,
                "sent_at": sent_at,
                "body": body if body is not None else OPEN,
            }
        ).encode()
        if signed_as is None:
            return FakeRecord(value, INGRESS_WALLET)
        headers = sign(key, "440000-k", "m1", "wallet.open-requested", signed_as, sent_at, value)
        return FakeRecord(value, INGRESS_WALLET, headers=tuple((k, v.encode()) for k, v in headers.items()))

    assert isinstance(c.classify(record("440300", "440300")), _Parsed)
    for refused, verdict in (
        (record("440300", None), Verdict.UNSIGNED),
        (record("610100", "610100"), Verdict.KEY_OF_ANOTHER_SENDER),
        (record("440100", "440300"), Verdict.BAD_SIGNATURE),
    ):
        found = c.classify(refused)
        assert isinstance(found, _Invalid)
        assert (found.code, found.unsigned, found.sender) == (
            ReasonCode.SIGNATURE_INVALID,
            verdict,
            refused_sender(refused),
        )
    # judged at its arrival on the broker, not when processed: a record that waited an hour in a backlog is valid
    late_now = now - timedelta(hours=1)
    sent_at = late_now.isoformat(timespec="seconds")
    value = json.dumps(
        {"msgid": "m2", "type": "wallet.open-requested", "sender": "440300", "sent_at": sent_at, "body": OPEN}
    ).encode()
    signed = sign(key, "440000-k", "m2", "wallet.open-requested", "440300", sent_at, value)
    headers = tuple((k, v.encode()) for k, v in signed.items())
    arrived_then = FakeRecord(value, INGRESS_WALLET, timestamp=int(late_now.timestamp() * 1000), headers=headers)
    assert isinstance(c.classify(arrived_then), _Parsed)
    stale = c.classify(FakeRecord(value, INGRESS_WALLET, timestamp=int(now.timestamp() * 1000), headers=headers))
    assert isinstance(stale, _Invalid)
    assert stale.unsigned is Verdict.OUTSIDE_REPLAY_WINDOW
    invalid_but_signed = c.classify(record("440300", "440300", body={"psn_no": ""}))
    assert isinstance(invalid_but_signed, _Invalid)
    assert invalid_but_signed.code is ReasonCode.INVALID_MESSAGE, "signed by its sender: judged on its content"
    unreadable = c.classify(FakeRecord(b"{oops", INGRESS_WALLET))
    assert isinstance(unreadable, _Invalid)
    assert unreadable.sender is None
    assert unreadable.code is ReasonCode.INVALID_MESSAGE


def refused_sender(r: FakeRecord) -> str:
    return str(json.loads(r.value or b"{}")["sender"])


@pytest.mark.parametrize("cursor", ["１２", "١٢", "12\n", "1" * 19])
def test_a_statement_cursor_is_ascii_digits_within_a_bigint_in_the_model_and_in_the_domain(cursor: str) -> None:
    """Issue 29: str.isdigit and int() take Arabic-Indic and full-width digits; neither the contract nor the
    domain does."""
    from services.payment.domain.registry import after_cursor as registry_after
    from services.wallet.domain.statements import after_cursor

    body = {"psn_no": "44030000000000012345", "from_date": "2026-11-01", "to_date": "2026-11-02", "cursor": cursor}
    assert isinstance(
        consumer("wallet", INGRESS_WALLET).classify(
            FakeRecord(message("wallet.statement-requested", body), INGRESS_WALLET)
        ),
        _Invalid,
    )
    assert after_cursor(cursor) is None
    assert registry_after("６１０１００", "regions") is None


_EDGES: list[Any] = [
    "9999-12-31", "0001-01-01", "2099-12-31", "2100-01-01", "1999-12-31T23:59:59-14:00", "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00", "2026-01-01T00:00:00+23:59", "99999999999999.99", "100000000000000.00", "-0.01",
    "NaN", "Infinity", "1.001", "１０.００", "٢٠٢٦١١", "２０２６-01-01", 2**63, -1, 2100, "2026", True, None, "",
    "x" * 600, 20260101, 1e12,
]  # fmt: skip


@st.composite
def _ingress_record(draw: st.DrawFn) -> tuple[str, bytes]:
    """A body the contract's schema allows (tests/support/schema_strategy.py), with some fields at or past an edge."""
    type_name = draw(st.sampled_from(sorted(INGRESS)))
    schema = INGRESS[type_name].body.model_json_schema()
    body = draw(from_schema(schema))
    for name in draw(st.lists(st.sampled_from(sorted(schema["properties"])), max_size=3, unique=True)):
        body[name] = draw(st.sampled_from(_EDGES))
    sent_at = draw(st.sampled_from(["2026-11-22T10:00:00+08:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00Z"]))
    envelope = {"msgid": "m1", "type": type_name, "sender": "440300", "sent_at": sent_at, "body": body}
    return type_name, json.dumps(envelope, ensure_ascii=False).encode()


def _within_its_domain(value: Any) -> None:
    """What a handler may do with any value that passed: a day more, a conversion to UTC, numeric(16,2)."""
    if isinstance(value, BaseModel):
        for item in value.__dict__.values():
            _within_its_domain(item)
    elif isinstance(value, list):
        for item in value:
            _within_its_domain(item)
    elif isinstance(value, datetime):
        assert 1999 <= value.astimezone(UTC).year <= 2100  # 2000-2099 in its own offset
    elif isinstance(value, date):
        assert 2000 <= value.year <= 2099
        assert value + timedelta(days=367) > value  # a statement's end, a day more: never past the calendar
    elif isinstance(value, Decimal):
        assert value.is_finite(), value
        assert Decimal(0) <= value <= Decimal("99999999999999.99"), value
        assert value == value.quantize(Decimal("0.01"))
    elif isinstance(value, bool):
        pass
    elif isinstance(value, int):
        assert 2000 <= value <= 2100, value  # the only integer of an ingress body: a year
    elif isinstance(value, str):
        assert len(value) <= 500, len(value)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ingress_record())
def test_whatever_passes_classification_is_within_its_domain(found: tuple[str, bytes]) -> None:
    """Issue 29, item 1: out of its domain is INVALID_MESSAGE here, so a handler never meets it."""
    type_name, value = found
    spec = INGRESS[type_name]
    classified = consumer(spec.owner, spec.topic).classify(FakeRecord(value, spec.topic))
    assert isinstance(classified, _Parsed | _Invalid)
    if isinstance(classified, _Invalid):
        assert (classified.sender, classified.msgid) == ("440300", "m1"), classified.reason  # answerable
        assert not classified.reason.startswith("unreadable"), classified.reason  # no exception escaped a model
        return
    _within_its_domain(classified.envelope.sent_at)
    _within_its_domain(classified.envelope.body)
