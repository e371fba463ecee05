"""What the clearing service follows on payment.events.v1: payments completed and cancelled, read with
its own tolerant models."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from services.clearing import handlers
from services.clearing.adapters.clearing_repository import ClearingRepository
from shared.contracts.envelope import Envelope
from shared.messaging.consumer import EventHandler, MessageContext
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


def _handler(forward: bool) -> EventHandler:
    async def handle(ctx: MessageContext, env: Envelope[Any]) -> list[Outgoing]:
        b: PaymentSeen = env.body
        return await handlers.record_portions(
            b.setl_id,
            b.purpose,
            b.month,
            [x.model_dump() for x in b.portions],
            forward,
            ClearingRepository(ctx.conn),
            ctx.clock,
        )

    return (PaymentSeen, handle)


HANDLERS: dict[str, EventHandler] = {
    "payment.payment-completed": _handler(forward=True),
    "payment.payment-cancelled": _handler(forward=False),
}
