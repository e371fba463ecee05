"""settlement.cancel-requested: the institution's province cancels a completed settlement; the wallet is asked
for the money back and the answer waits for it (deferred)."""

from __future__ import annotations

from services.payment.domain import commands
from services.payment.domain.settlements import Purpose, State
from services.payment.service_layer.context import PaymentContext
from shared.contracts.reasons import ReasonCode
from shared.messaging.messages import Decision, published


async def cancel_settlement(cmd: commands.CancelSettlement, ctx: PaymentContext) -> Decision:
    b = cmd.request
    s = await ctx.settlements.get_for_update(b.setl_id)
    if (
        s is None
        or s.purpose is not Purpose.SETTLEMENT
        or (s.mdtrt_id, s.psn_no) != (b.mdtrt_id, b.psn_no)
        or s.state in (State.DEBITING, State.REFUSED)
    ):
        return Decision.rejected(ReasonCode.UNKNOWN_SETTLEMENT, "no settlement has this setl_id, mdtrt_id and psn_no")
    assert s.institution_admdvs is not None
    if not ctx.caller.speaks_for(s.institution_admdvs):
        return Decision.rejected(ReasonCode.NOT_A_PARTY, "a cancellation is sent from the institution's province")
    if s.state in (State.CANCELLING, State.CANCELLED):
        how = s.undo_kind.value if s.undo_kind else None
        return Decision.rejected(ReasonCode.ALREADY_CANCELLED, f"the settlement was cancelled ({how})")
    refund = s.request_cancellation(ctx.caller.sender, ctx.caller.msgid, ctx.caller.now())
    await ctx.settlements.save(s)
    return Decision.deferred([published(refund, s.setl_id)])
