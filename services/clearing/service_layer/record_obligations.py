"""payment.payment-completed / payment.payment-cancelled: each cross-region portion becomes an obligation in
the first open month from its target month: the payment's own month, or for a cancellation the month its
payment was counted in (RULES.md section 5)."""

from __future__ import annotations

from services.clearing.domain import commands
from services.clearing.domain.clearing import first_open_month
from services.clearing.domain.obligations import Direction, Obligation
from services.clearing.service_layer.context import ClearingContext
from shared.messaging.messages import Outgoing, published


async def record_obligations(cmd: commands.RecordObligations, ctx: ClearingContext) -> list[Outgoing]:
    now = ctx.caller.now()
    messages = []
    closed = await ctx.months.closed()
    for portion in cmd.portions:
        if not portion.crosses_regions:
            continue  # spent where it was funded: nothing to clear
        target = cmd.month
        if cmd.direction is Direction.REVERSE:
            target = await ctx.obligations.forward_period(cmd.setl_id, portion.seq) or cmd.month
        period = first_open_month(target, closed)
        await ctx.months.share(period)
        while await ctx.months.is_closed(period):  # closed while we looked: the next open one
            closed = await ctx.months.closed()
            period = first_open_month(period, closed)
            await ctx.months.share(period)
        obligation = Obligation.of(cmd.setl_id, portion, cmd.direction, period, cmd.month, cmd.purpose, now)
        if await ctx.obligations.add(obligation):
            messages.append(published(obligation.recorded(), cmd.setl_id))
    return messages
