"""What the clearing service follows on wallet.events.v1: personal-account money that went from one region's fund
to another (wallet.fund-balance-carried, ADR 0021), read with its own tolerant model. The fund that held the money
owes the fund that holds it now, in the business month it moved."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from services.clearing.domain import commands
from services.clearing.domain.obligations import CARRY, Direction, Portion
from services.clearing.entrypoints.unit_of_work import postgres_context
from services.clearing.service_layer.record_obligations import record_obligations
from shared.clock import BUSINESS_TZ
from shared.contracts.envelope import Envelope
from shared.messaging.consumer import EventHandler, MessageContext
from shared.messaging.messages import Outgoing


class CarrySeen(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    carry_id: str
    from_admdvs: str
    to_admdvs: str
    amount: Decimal
    occurred_at: datetime


async def on_carried(ctx: MessageContext, env: Envelope[Any]) -> list[Outgoing]:
    b: CarrySeen = env.body
    month = b.occurred_at.astimezone(BUSINESS_TZ).strftime("%Y%m")
    portion = Portion(seq=1, source=CARRY, funding_admdvs=b.from_admdvs, spending_admdvs=b.to_admdvs, amount=b.amount)
    cmd = commands.RecordObligations(b.carry_id, CARRY, month, (portion,), Direction.FORWARD)
    return await record_obligations(cmd, postgres_context(ctx.conn, ctx.clock))


HANDLERS: dict[str, EventHandler] = {"wallet.fund-balance-carried": (CarrySeen, on_carried)}
