"""The payment service could not apply the wallet's answer (it was dead-lettered): the settlement is refused
PROCESSING_FAILED so that the province still gets its one answer, and whatever the wallet took is given back
(payment.refund-requested). Operators find the original in wallet.events.v1.payment.dlq."""

from __future__ import annotations

from services.payment.domain import commands, events
from services.payment.domain.settlements import Refusal, State
from services.payment.service_layer.answering import refused
from services.payment.service_layer.context import PaymentContext
from shared.contracts.reasons import ReasonCode
from shared.messaging.messages import Decision, Outgoing, published


async def give_up_on_wallet_answer(cmd: commands.GiveUpOnWalletAnswer, ctx: PaymentContext) -> list[Outgoing]:
    s = await ctx.settlements.get_for_update(cmd.setl_id)
    if s is None or s.state is not State.DEBITING:
        return []
    refusal = Refusal(ReasonCode.PROCESSING_FAILED, "the platform could not complete this payment; nothing was taken")
    s.refuse(refusal.code)
    await ctx.settlements.save(s)
    decision = refused(s.purpose, refusal, ctx, s.setl_id)
    answer = [*await ctx.answers.answer(s.sender, s.msgid, Decision.rejected(refusal.code, refusal.reason))]
    if s.reversal_waits:
        assert s.undo_sender is not None and s.undo_msgid is not None  # noqa: PT018
        await ctx.reversals.set_outcome(s.undo_sender, s.msgid, "nothing_applied")
        answer += await ctx.answers.answer(s.undo_sender, s.undo_msgid, Decision.completed(setl_id=s.setl_id))
    if cmd.money_taken:
        refund = events.RefundRequested(setl_id=s.setl_id, psn_no=s.psn_no, occurred_at=ctx.caller.now())
        answer.append(published(refund, s.setl_id))
    return [*answer, *decision.messages]
