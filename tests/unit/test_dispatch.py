"""Typed dispatch (shared/messaging/dispatch.py): a handler is registered by its body model, gets that body typed
and the caller it acts for; the type's name comes from the contracts' registry."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import pytest
from pydantic import BaseModel

from shared.caller import Caller
from shared.clock import BusinessClock
from shared.contracts import province as p
from shared.contracts.envelope import Envelope
from shared.contracts.province import INGRESS
from shared.contracts.topics import PLATFORM_SENDER
from shared.db.pool import Conn
from shared.messaging.consumer import MessageContext
from shared.messaging.dispatch import EventRoutes, Routes, TypedHandler
from shared.messaging.messages import Decision, Outgoing

SENT = datetime(2026, 12, 7, 10, tzinfo=UTC)
CREDIT = p.AccountCredited(psn_no="P1", amount=Decimal("10.00"), period="202612", kind="contribution")


async def on_credit(b: p.AccountCredited, caller: Caller, ctx: MessageContext) -> Decision:
    return Decision.completed(psn_no=b.psn_no, by=f"{caller.sender}:{caller.msgid}")


async def on_any(b: p.Body, caller: Caller, ctx: MessageContext) -> Decision:
    return Decision.completed()


def routed(body: type[p.AccountCredited], handle: TypedHandler[p.AccountCredited], **trust: frozenset[str]) -> Routes:
    routes = Routes(**trust)
    routes.on(body, handle)
    return routes


def test_every_ingress_type_is_routed_by_its_model_alone() -> None:
    for name, spec in INGRESS.items():
        routes = Routes()
        routes.on(spec.body, on_any)
        assert list(routes.handlers()) == [name]


def test_a_handler_given_another_types_model_does_not_type_check() -> None:
    # mypy --strict (make typecheck) flags this line; were it to stop, the ignore would be reported unused
    Routes().on(p.TransferRequested, on_credit)  # type: ignore[arg-type]


def test_a_type_routed_twice_is_refused() -> None:
    with pytest.raises(ValueError, match=r"account\.credited is routed twice"):
        routed(p.AccountCredited, on_credit).on(p.AccountCredited, on_credit)


async def test_the_handler_gets_its_typed_body_and_the_sender_as_its_caller() -> None:
    handle = routed(p.AccountCredited, on_credit, trusted=frozenset({"100000"})).handlers()["account.credited"]
    env = Envelope[Any](msgid="M1", type="account.credited", sender="440300", sent_at=SENT, body=CREDIT)
    ctx = MessageContext(conn=cast(Conn, None), clock=BusinessClock(), service="wallet", record_key="P1")
    decision = await handle(ctx, env)
    assert decision.ids == {"psn_no": "P1", "by": "440300:M1"}


async def test_a_body_of_another_model_is_refused_before_the_handler() -> None:
    handle = routed(p.AccountCredited, on_credit).handlers()["account.credited"]
    wrong = p.WalletOpenRequested(psn_no="P1", usage_admdvs="440300", phone="13800000000")
    env = Envelope[Any](msgid="M1", type="account.credited", sender="440300", sent_at=SENT, body=wrong)
    ctx = MessageContext(conn=cast(Conn, None), clock=BusinessClock(), service="wallet", record_key="P1")
    with pytest.raises(TypeError):
        await handle(ctx, env)


class PersonSeen(BaseModel):
    psn_no: str


async def on_person(b: PersonSeen, caller: Caller, ctx: MessageContext) -> list[Outgoing]:
    return [Outgoing("t", b.psn_no, "seen", {"sender": caller.sender, "msgid": caller.msgid})]


async def test_an_event_handler_gets_its_tolerant_body_and_the_platform_as_its_caller() -> None:
    routes = EventRoutes()
    routes.on("relationship.person-enrolment-changed", PersonSeen, on_person)
    model, handle = routes.handlers()["relationship.person-enrolment-changed"]
    env = Envelope[Any](msgid="E1", type="x", sender="000000", sent_at=SENT, body=PersonSeen(psn_no="P1"))
    ctx = MessageContext(conn=cast(Conn, None), clock=BusinessClock(), service="wallet", record_key="P1")
    assert model is PersonSeen
    [out] = await handle(ctx, env)
    assert (out.key, out.body) == ("P1", {"sender": PLATFORM_SENDER, "msgid": "E1"})
    with pytest.raises(ValueError, match="routed twice"):
        routes.on("relationship.person-enrolment-changed", PersonSeen, on_person)
