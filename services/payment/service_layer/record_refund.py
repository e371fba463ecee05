"""wallet.payment-refunded: the wallet gave the money back. The cancellation (or reversal) is answered and the
parties' provinces are told."""

from __future__ import annotations

from services.payment.domain import commands
from services.payment.domain.settlements import State
from services.payment.service_layer.answering import to_parties
from services.payment.service_layer.context import PaymentContext
from shared.contracts import province as p
from shared.messaging.messages import Decision, Outgoing, published


async def record_refund(cmd: commands.RecordRefund, ctx: PaymentContext) -> list[Outgoing]:
    s = await ctx.settlements.get_for_update(cmd.setl_id)
    if s is None or s.state is not State.CANCELLING:
        return []
    portions = await ctx.settlements.portions_of(s.setl_id)
    cancelled = s.cancel(portions, ctx.caller.now())
    await ctx.settlements.save(s)
    messages = [published(cancelled, s.setl_id)]
    if s.is_settlement:
        assert s.mdtrt_id is not None
        body = p.SettlementCancelled(setl_id=s.setl_id, mdtrt_id=s.mdtrt_id, psn_no=s.psn_no)
        messages += to_parties(s, portions, "settlement.cancelled", body)
    assert s.undo_sender is not None and s.undo_msgid is not None  # noqa: PT018
    answer = await ctx.answers.answer(s.undo_sender, s.undo_msgid, Decision.completed(setl_id=s.setl_id))
    return [*answer, *messages]
