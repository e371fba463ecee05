"""The schedule closes last month, once it has been over for some days, if nobody closed it yet."""

from __future__ import annotations

from services.clearing.domain import commands
from services.clearing.domain.clearing import due_for_closing
from services.clearing.service_layer.close_month import close_month_now
from services.clearing.service_layer.context import ClearingContext
from shared.messaging.messages import Decision


async def close_on_schedule(cmd: commands.CloseOnSchedule, ctx: ClearingContext) -> Decision | None:
    """The month closed, or None when none was due (or it could not close)."""
    period = due_for_closing(ctx.caller.now(), cmd.after_days)
    if period is None or await ctx.months.is_closed(period):
        return None
    decision = await close_month_now(commands.CloseMonthNow(period, "schedule"), ctx)
    return decision if decision.status == "completed" else None
