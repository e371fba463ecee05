"""The "Seen" models a service reads another service's events with (tolerant readers: only the fields it needs)
checked against the producer's committed JSON Schemas (docs/contracts/jsonschema/, generated from the producer's
code by tools.contracts). A reader that needs a field the producer does not send, or sends optional, or that
cannot parse what the producer may send, fails here, not in production.

Each consumer's handlers are found through its bootstrap's wiring, so a new subscription is checked too."""

from __future__ import annotations

import ast
import json
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from services.clearing.entrypoints import payment_events as clearing_reads_payment
from services.clearing.entrypoints import wallet_events as clearing_reads_wallet
from services.payment.entrypoints import relationship_events as payment_reads_relationship
from services.payment.entrypoints import wallet_events as payment_reads_wallet
from services.wallet.entrypoints import payment_events as wallet_reads_payment
from services.wallet.entrypoints import relationship_events as wallet_reads_relationship
from shared.contracts import topics
from shared.contracts.topics import PAYMENT_EVENTS, RELATIONSHIP_EVENTS, WALLET_EVENTS
from tests.support.schema_strategy import from_schema
from tools.contracts import OUT

REPO = OUT.parents[1]


def _handlers(module: Any) -> dict[str, Any]:
    """The module's event handlers: a constant, or made with the service's settings (none matter here)."""
    make = getattr(module, "make_handlers", None)
    return dict(make(frozenset())) if make is not None else dict(module.HANDLERS)


READERS: list[tuple[str, str, str, type[BaseModel]]] = [
    (reader, stream, type_, model)
    for reader, stream, module in (
        ("wallet", RELATIONSHIP_EVENTS, wallet_reads_relationship),
        ("wallet", PAYMENT_EVENTS, wallet_reads_payment),
        ("payment", WALLET_EVENTS, payment_reads_wallet),
        ("payment", RELATIONSHIP_EVENTS, payment_reads_relationship),
        ("clearing", PAYMENT_EVENTS, clearing_reads_payment),
        ("clearing", WALLET_EVENTS, clearing_reads_wallet),
    )
    for type_, model in [
        *((t, h[0]) for t, h in _handlers(module).items()),
        *((t, f.identity) for t, f in getattr(module, "FAILURE_HANDLERS", {}).items()),
    ]
]
IDS = [f"{reader}<-{type_}:{model.__name__}" for reader, _, type_, model in READERS]


@cache
def body_schema(type_: str) -> dict[str, Any]:
    """The producer's committed schema of the event's body (the envelope's `body`), with its definitions."""
    envelope = json.loads((OUT / "jsonschema" / f"{type_}.json").read_text())
    ref = envelope["properties"]["body"]["$ref"]
    return {"$defs": envelope.get("$defs", {}), "$ref": ref}


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _subscriptions(service: str) -> set[tuple[str, str]]:
    """(service, stream) for each stream its bootstrap wires event handlers for (read from its source)."""
    tree = ast.parse((REPO / "services" / service / "bootstrap.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in ("event_handlers", "event_failure_handlers"):
            assert isinstance(node.value, ast.Dict)
            for key in node.value.keys:
                assert isinstance(key, ast.Name)
                found.add((service, getattr(topics, key.id)))
    return found


def test_every_stream_a_service_reads_is_checked() -> None:
    wired = set().union(*(_subscriptions(s) for s in ("wallet", "relationship", "payment", "clearing")))
    assert wired == {(r, s) for r, s, _, _ in READERS}


@pytest.mark.parametrize(("reader", "stream", "type_", "model"), READERS, ids=IDS)
def test_a_reader_needs_only_what_the_producer_always_sends(
    reader: str, stream: str, type_: str, model: type[BaseModel]
) -> None:
    schema = body_schema(type_)
    body = _resolve(schema, schema)
    produced, required = body["properties"], set(body.get("required", []))
    for name, field in model.model_fields.items():
        wire = field.alias or name
        assert wire in produced, f"{model.__name__}.{name}: {type_} has no such field"
        if field.is_required():
            assert wire in required, f"{model.__name__}.{name} is required, but {type_} may leave it out"


@pytest.mark.parametrize(("reader", "stream", "type_", "model"), READERS, ids=IDS)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_a_reader_parses_anything_the_producer_may_send(
    reader: str, stream: str, type_: str, model: type[BaseModel], data: st.DataObject
) -> None:
    body = data.draw(from_schema(body_schema(type_)))
    model.model_validate(body)
