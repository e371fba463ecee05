"""Whatever a record's bytes, classifying it and dead-lettering it never raise, and what they produce can be
stored and published (issue 10): fuzzed with hypothesis over random bytes, mutated golden examples and
mutated valid envelopes, on every ingress topic's primary service and on an event follower."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.contracts.province import TOPIC_PRIMARY
from shared.contracts.reasons import ReasonCode
from shared.identity import redact, redact_text
from shared.messaging.consumer import Pipeline
from shared.messaging.hostile import MAX_DEPTH, clean_text, parse, unfit
from shared.messaging.kernel.dead_letter import DeadLetters
from shared.messaging.kernel.records import Invalid as _Invalid
from shared.messaging.kernel.records import Parsed as _Parsed
from shared.messaging.messages import Decision
from tests.support.kernel import follower, ingress

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = [p.read_bytes() for p in sorted((REPO.parent / "shared" / "contract" / "examples").glob("*.json"))]
HOSTILE = [
    b'{"msgid": "\\ud800", "type": "account.credited", "sender": "440300", "body": {}}',
    b'{"msgid": "m1", "type": "account.credited", "sender": "440300", "body": {"psn_no": "\\udfff"}}',
    b"[" * 5000,
    b'{"a":' * 900 + b"1" + b"}" * 900,
    b'{"msgid": "m1", "type": "account.credited", "sender": "440300", "body": {"amount": 1e309}}',
    b'{"msgid": "m1", "type": "account.credited", "sender": "440300", "body": {"psn_no": "a\\u0000b"}}',
    b"\xff\xfe\x00garbage",
    b"9" * 5000,
    b'"just a string"',
    b"null",
    b"",
]


@dataclass
class Record:
    value: bytes | None
    topic: str
    partition: int = 0
    offset: int = 7
    key: bytes | None = None
    timestamp: int = 0


def _ingress(topic: str, service: str | None = None) -> Pipeline:
    return ingress(service or TOPIC_PRIMARY[topic], topic, {})  # no pool: classifying and dead letters need none


def _follower() -> Pipeline:
    from services.wallet.entrypoints.relationship_events import HANDLERS

    return follower("relationship.events.v1", HANDLERS)


CONSUMERS = [_ingress(t) for t in TOPIC_PRIMARY] + [_ingress("ingress.enrollment.v1", "wallet"), _follower()]


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [*value, *(s for v in value.values() for s in _strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def publishable(value: Any) -> None:
    """As the outbox will write it, and as PostgreSQL jsonb would store it (no NUL character)."""
    json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    assert not any("\x00" in s for s in _strings(value))


def ends_somewhere(value: bytes, key: bytes | None = None) -> None:
    for consumer in CONSUMERS:
        record = Record(value, consumer.topic, key=key)
        classified = consumer.classify(record)
        assert classified is None or isinstance(classified, _Parsed | _Invalid)
        reason = classified.reason if isinstance(classified, _Invalid) else "handler failed"
        sender = classified.sender if isinstance(classified, _Invalid) else None
        msgid = classified.msgid if isinstance(classified, _Invalid) else None
        dlq = dead_letters(consumer).of(record, ReasonCode.INVALID_MESSAGE, reason, sender, msgid, None, 1, reason)
        publishable(dlq.body)
        publishable(dead_letters(consumer).of(record, ReasonCode.PROCESSING_FAILED, "x", None, None, None, 3).body)
        if isinstance(classified, _Invalid):
            rejected = Decision.rejected(classified.code, clean_text(classified.reason))
            publishable({"reason": rejected.reason, "reason_code": rejected.reason_code})


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_each_known_hostile_record_is_classified_and_dead_lettered(value: bytes) -> None:
    ends_somewhere(value, key=value[:50])


def test_a_lone_surrogate_a_nul_deep_nesting_and_infinity_are_invalid_messages_with_a_sender_to_answer() -> None:
    consumer = _ingress("ingress.enrollment.v1", "wallet")  # account.credited is the wallet's to answer
    for value in HOSTILE[:2] + HOSTILE[4:6]:
        invalid = consumer.classify(Record(value, "ingress.enrollment.v1"))
        assert isinstance(invalid, _Invalid), value
    answerable = consumer.classify(Record(HOSTILE[1], "ingress.enrollment.v1"))
    assert isinstance(answerable, _Invalid)
    assert (answerable.sender, answerable.msgid) == ("440300", "m1"), "readable sender: one rejection"
    assert parse(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1))[1] is not None
    assert unfit([[1]]) is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048), st.one_of(st.none(), st.binary(max_size=300)))
def test_random_bytes_end_somewhere(value: bytes, key: bytes | None) -> None:
    ends_somewhere(value, key)


@st.composite
def mutated_example(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(EXAMPLES)))
    for _ in range(draw(st.integers(1, 8))):
        where = draw(st.integers(0, len(data)))
        how = draw(st.sampled_from(["flip", "insert", "delete", "escape"]))
        if how == "flip" and where < len(data):
            data[where] = draw(st.integers(0, 255))
        elif how == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=8))
        elif how == "delete":
            del data[where : where + draw(st.integers(1, 8))]
        else:
            data[where:where] = draw(st.sampled_from([b"\\ud800", b"\\u0000", b"1e999", b"[[[[", b'"', b"\\"]))
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_example())
def test_mutated_golden_examples_end_somewhere(value: bytes) -> None:
    ends_somewhere(value)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(EXAMPLES), st.sampled_from(["msgid", "type", "sender", "sent_at", "body"]), JSON)
def test_valid_envelopes_with_any_value_in_any_field_end_somewhere(example: bytes, field: str, value: Any) -> None:
    envelope = json.loads(example)
    envelope[field] = value
    ends_somewhere(json.dumps(envelope, ensure_ascii=False).encode("utf-8", errors="surrogatepass"))


def test_dead_letters_mask_names_phones_and_every_certificate_type() -> None:
    body = {
        "psn_name": "王秀英",
        "phone": "13812345678",
        "certno": "E12345678",  # a passport under psn_cert_type 99
        "to_certno": "H1234567890",
        "note": "call 13912345678, passport G12345678, permit M12345678, id 610102195503031234",
    }
    out = redact(body)
    assert out["psn_name"] == "王**"
    assert out["phone"] == "138*****678"
    assert (out["certno"], out["to_certno"]) == ("E1*****78", "H1*******90"), "two characters at each end"
    assert "12345678" not in json.dumps(out)
    assert redact({"certno": ["A1234567", {"x": "P7654321"}]}) == {"certno": ["A1****67", {"x": "P7****21"}]}
    assert redact({"msgid": "S20261231", "psn_no": "13812345678"}) == {"msgid": "S20261231", "psn_no": "13812345678"}
    as_text = redact_text('{"psn_name": "王秀英", "certno": "P1234567", "other": "x"}')
    assert "王秀英" not in as_text
    assert "P1234567" not in as_text
    assert "610102195503031234" not in out["note"]
    assert redact_text("institution H61010300012, statement CS202612450100") == (
        "institution H61010300012, statement CS202612450100"
    ), "codes of institutions and statements are not personal"


def test_a_cut_never_leaves_part_of_an_id_number_in_clear() -> None:
    assert "6101021955" not in clean_text("x" * 30 + "610102195503031234", 40)
    consumer = _ingress("ingress.enrollment.v1")
    big = b'{"note": "' + b"x" * 1010 + b"110101199003071234" + b"y" * 70_000 + b'"}'  # an ID across the cut
    head = dead_letters(consumer).of(
        Record(big, "ingress.enrollment.v1"), ReasonCode.INVALID_MESSAGE, "r", None, None, None, 1
    )
    assert "1101011990" not in json.dumps(head.body)


def test_an_unfit_payload_is_kept_as_json_made_safe_and_masked_by_field() -> None:
    consumer = _ingress("ingress.enrollment.v1")
    raw = rb'{"psn_name": "\u738b\u79c0\u82f1", "certno": "P1234567", "odd": "a\u0000\ud800", "n": 1e309}'
    dlq = dead_letters(consumer).of(
        Record(raw, "ingress.enrollment.v1"), ReasonCode.INVALID_MESSAGE, "r", None, None, None, 1
    )
    payload = dlq.body["payload"]
    assert payload["psn_name"] == "王**"
    assert payload["certno"] == "P1****67"
    assert payload["n"] == "inf"
    publishable(dlq.body)
    far_future = Record(b"{}", "ingress.enrollment.v1", timestamp=10**18)
    assert (
        dead_letters(consumer)
        .of(far_future, ReasonCode.INVALID_MESSAGE, "r", None, None, None, 1)
        .body["source"]["timestamp"]
        == 10**18
    ), "a producer's timestamp is content too"


def test_the_dead_letter_of_a_record_nobody_is_known_to_have_written_is_a_bounded_masked_digest() -> None:
    """ADR 0023: whatever its size, a digest (size, hash, verdict, key id, the first KiB masked by field, so no JSON
    escape hides an ID number), never the record; the source still names the original for a replay."""
    from shared.signing import Verdict

    consumer = _ingress("ingress.enrollment.v1")
    escaped = "".join(f"\\u{ord(c):04x}" for c in "110101199003071234")
    raw = ('{"certno": "' + escaped + '", "note": "' + "x" * 60_000 + '"}').encode()
    dlq = dead_letters(consumer).of(
        Record(raw, "ingress.enrollment.v1"),
        ReasonCode.SIGNATURE_INVALID,
        "signature: unsigned",
        "610100",
        "m1",
        "account.credited",
        1,
        unverified=Verdict.UNSIGNED,
        digest_only=True,
    )
    payload = dlq.body["payload"]
    assert (payload["digest"], payload["size"], payload["verdict"], payload["key_id"]) == (
        True,
        len(raw),
        "unsigned",
        None,
    )
    assert payload["sha256"] == dlq.body["source"]["sha256"]
    assert len(payload["head"]) <= 1024 + 3
    assert len(json.dumps(dlq.body, ensure_ascii=False).encode()) < 4096
    assert "1101011990" not in json.dumps(dlq.body)
    assert "1101011990" not in payload["head"]
    publishable(dlq.body)
    not_json = dead_letters(consumer).of(
        Record(b"\xff" * 100_000, "ingress.enrollment.v1"),
        ReasonCode.INVALID_MESSAGE,
        "r",
        None,
        None,
        None,
        1,
        digest_only=True,
    )
    assert not_json.body["payload"]["size"] == 100_000
    assert len(not_json.body["payload"]["head"]) <= 1027


def test_unverified_dead_letters_are_counted_by_topic_and_claimed_province_never_by_free_text() -> None:
    from prometheus_client import REGISTRY

    from shared.observability import metrics

    def letter(sender: object) -> bytes:
        return json.dumps({"body": {"reason_code": "SIGNATURE_INVALID", "sender": sender}}).encode()

    def count(province: str) -> float:
        value = REGISTRY.get_sample_value(
            "medaid_unverified_records_total",
            {"messaging_destination_name": "ingress.wallet.v1", "claimed_province": province},
        )
        return value or 0.0

    before = count("610000"), count("none")
    metrics.observe_published(
        [
            ("ingress.wallet.v1.dlq", "dlq.record", letter("610100")),
            ("ingress.wallet.v1.dlq", "dlq.record", letter("x\n")),
        ]
    )
    assert (count("610000"), count("none")) == (before[0] + 1, before[1] + 1)


def dead_letters(consumer: Pipeline) -> DeadLetters:
    return consumer.stages.dead_letters
