"""wallet.payment-refused: the wallet took nothing. The settlement is refused with the wallet's reason (and a
reversal that waited for it is answered: nothing was applied)."""

from __future__ import annotations

from services.payment.domain import commands
from services.payment.domain.settlements import Refusal, State
from services.payment.service_layer.answering import refused
from services.payment.service_layer.context import PaymentContext
from shared.contracts.reasons import ReasonCode
from shared.messaging.messages import Decision, Outgoing


async def record_refusal(cmd: commands.RecordRefusal, ctx: PaymentContext) -> list[Outgoing]:
    s = await ctx.settlements.get_for_update(cmd.setl_id)
    if s is None or s.state is not State.DEBITING:
        return []
    code = ReasonCode(cmd.reason_code)
    s.refuse(code)
    await ctx.settlements.save(s)
    decision = refused(s.purpose, Refusal(code, cmd.reason), ctx, s.setl_id)
    answer = [*await ctx.answers.answer(s.sender, s.msgid, Decision.rejected(code, cmd.reason)), *decision.messages]
    if s.reversal_waits:  # a reversal waited for this: nothing was applied
        assert s.undo_sender is not None and s.undo_msgid is not None  # noqa: PT018
        await ctx.reversals.set_outcome(s.undo_sender, s.msgid, "nothing_applied")
        answer += await ctx.answers.answer(s.undo_sender, s.undo_msgid, Decision.completed(setl_id=s.setl_id))
    return answer
