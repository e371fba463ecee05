"""Closing an ended month: its pair totals and one statement per region are frozen, the statements go to the
regions' provinces and clearing.month-closed is published. The national operator asks (clearing.close-requested);
an operator at the console closes one at once (and the schedule, close_on_schedule.py)."""

from __future__ import annotations

from collections.abc import Iterable

from services.clearing.domain import commands
from services.clearing.domain.months import Statement
from services.clearing.service_layer.context import ClearingContext
from shared.contracts import province as p
from shared.contracts.reasons import ReasonCode
from shared.messaging.messages import Decision, Outgoing, published, to_province


async def close_month(cmd: commands.CloseMonth, ctx: ClearingContext) -> Decision:
    if not ctx.caller.national:  # the national month is the national operator's to close
        return Decision.rejected(
            ReasonCode.SENDER_NOT_ALLOWED,
            f"a clearing month is closed by the national operator (MEDAID_NATIONAL_OPERATORS), not {ctx.caller.sender}",
        )
    return await _close(cmd.period, f"{ctx.caller.sender}:{ctx.caller.msgid}", ctx)


async def close_month_now(cmd: commands.CloseMonthNow, ctx: ClearingContext) -> Decision:
    return await _close(cmd.period, cmd.closed_by, ctx)


async def _close(period: str, closed_by: str, ctx: ClearingContext) -> Decision:
    now = ctx.caller.now()
    refusal = (await ctx.months.get(period)).refusal_to_close(now)
    if refusal is not None:
        return Decision.rejected(refusal.code, refusal.reason)
    month = await ctx.months.hold(period)
    refusal = month.refusal_to_close(now)  # closed by another request while we waited for the month
    if refusal is not None:
        return Decision.rejected(refusal.code, refusal.reason)
    closed = month.close(await ctx.months.tally(period), now, closed_by)
    await ctx.months.save(month)
    issued = _issued(await ctx.statements.issued(period))
    return Decision.completed([published(closed, period), *issued])


def _issued(statements: Iterable[Statement]) -> list[Outgoing]:
    """Each region's statement to its province, with its lines by counterpart."""
    return [
        to_province(
            s.admdvs,
            "clearing.statement-issued",
            p.ClearingStatementIssued(
                statement_id=s.statement_id,
                period=s.period,
                admdvs=s.admdvs,
                counterparts=[
                    p.CounterpartAmount(admdvs=x.counterpart, owes=x.owes, owed=x.owed, net=x.net) for x in s.lines
                ],
                owes=s.owes,
                owed=s.owed,
                net=s.net,
            ),
            s.period,
        )
        for s in statements
    ]
