"""What the clearing service follows on payment.events.v1: payments completed and cancelled, read with
its own tolerant models."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from services.clearing.domain import commands
from services.clearing.domain.obligations import Direction, Portion
from services.clearing.entrypoints.unit_of_work import postgres_context
from services.clearing.service_layer.record_obligations import record_obligations
from shared.caller import Caller
from shared.messaging.consumer import EventHandler, MessageContext
from shared.messaging.dispatch import EventRoutes, TypedEventHandler
from shared.messaging.messages import Outgoing


class _Seen(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class PortionSeen(_Seen):
    seq: int
    source: str
    funding_admdvs: str
    spending_admdvs: str
    amount: Decimal


class PaymentSeen(_Seen):
    setl_id: str
    purpose: str
    month: str
    portions: list[PortionSeen]


def _handler(direction: Direction) -> TypedEventHandler[PaymentSeen]:
    async def handle(b: PaymentSeen, caller: Caller, ctx: MessageContext) -> list[Outgoing]:
        portions = tuple(Portion(**x.model_dump()) for x in b.portions)
        cmd = commands.RecordObligations(b.setl_id, b.purpose, b.month, portions, direction)
        return await record_obligations(cmd, postgres_context(ctx.conn, caller))

    return handle


ROUTES = EventRoutes()
ROUTES.on("payment.payment-completed", PaymentSeen, _handler(Direction.FORWARD))
ROUTES.on("payment.payment-cancelled", PaymentSeen, _handler(Direction.REVERSE))
HANDLERS: dict[str, EventHandler] = ROUTES.handlers()
