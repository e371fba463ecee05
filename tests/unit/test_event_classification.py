"""A follower of an event stream decodes only the records it applies: the platform's relay names each record's type
in a header, and a type the follower does not apply is skipped before its value is read."""

from __future__ import annotations

from pydantic import BaseModel

from shared.messaging.kernel.classify import EventClassifier
from shared.messaging.kernel.records import Invalid, Parsed
from tests.support.kernel import Record, event_value


class Applied(BaseModel):
    n: int


def event(type_name: str, body: object) -> bytes:
    return event_value("wallet-1", type_name, body)


CLASSIFY = EventClassifier({"x.applied": Applied})


def test_a_type_named_in_the_header_that_is_not_applied_is_skipped_unread() -> None:
    assert CLASSIFY(Record(b"\xff not even json", [("type", b"x.other")])) is None


def test_a_type_it_applies_is_decoded_and_checked() -> None:
    found = CLASSIFY(Record(event("x.applied", {"n": 3}), [("type", b"x.applied")]))
    assert isinstance(found, Parsed)
    assert found.envelope.body == Applied(n=3)
    assert isinstance(CLASSIFY(Record(event("x.applied", {"n": "three"}), [("type", b"x.applied")])), Invalid)


def test_without_the_header_the_value_decides_as_before() -> None:
    assert CLASSIFY(Record(event("x.other", {}))) is None
    assert isinstance(CLASSIFY(Record(event("x.applied", {"n": 1}))), Parsed)
    assert isinstance(CLASSIFY(Record(b"\xff")), Invalid)
