"""reversal.requested: the sender undoes its earlier request `omsgid` if it was applied; if it never came, it is
refused when it does. Answered at once, or (when money must come back) when the wallet has refunded."""

from __future__ import annotations

from services.payment.domain import commands, events
from services.payment.domain.settlements import PURPOSE_OF_TYPE, REVERSIBLE_TYPES, Reversal, State
from services.payment.service_layer.context import PaymentContext
from shared.contracts.reasons import ReasonCode
from shared.messaging.messages import Decision, Outgoing, published


async def reverse(cmd: commands.Reverse, ctx: PaymentContext) -> Decision:
    b = cmd.request
    if b.otype not in REVERSIBLE_TYPES:
        return Decision.rejected(
            ReasonCode.NOT_REVERSIBLE, f"only {', '.join(sorted(REVERSIBLE_TYPES))} are reversed; {b.otype} is not"
        )
    now = ctx.caller.now()
    await ctx.reversals.serialize_on(ctx.caller.sender, b.omsgid)
    earlier = await ctx.reversals.of(ctx.caller.sender, b.omsgid)
    if earlier is not None:  # reversed before by another reversal message: the same outcome, once it is final
        if earlier.setl_id is None:
            return Decision.completed()
        if earlier.outcome == "original_undone":
            undone = await ctx.settlements.get_for_update(earlier.setl_id)
            if undone is not None and undone.state is not State.CANCELLED:
                # the first reversal is still at the wallet: its answer will say
                return Decision.accepted(setl_id=earlier.setl_id)
        return Decision.completed(setl_id=earlier.setl_id)
    s = await ctx.settlements.by_msgid_for_update(ctx.caller.sender, b.omsgid)
    if s is not None and s.purpose.value != PURPOSE_OF_TYPE[b.otype]:
        return Decision.rejected(ReasonCode.UNKNOWN_REQUEST, f"{b.omsgid} was not a {b.otype}")
    messages: list[Outgoing] = []
    if s is None:
        outcome = (
            "nothing_applied" if await ctx.answers.was_answered(ctx.caller.sender, b.omsgid) else "original_blocked"
        )
    elif s.state in (State.REFUSED, State.CANCELLING, State.CANCELLED):
        outcome = "nothing_applied"
    else:
        outcome = "original_undone"
        refund = s.mark_reversal(ctx.caller.sender, ctx.caller.msgid, now)
        await ctx.settlements.save(s)
        if refund is not None:
            messages.append(published(refund, s.setl_id))
    setl_id = s.setl_id if s else None
    await ctx.reversals.record(ctx.caller.sender, b.omsgid, Reversal(b.otype, ctx.caller.msgid, outcome, setl_id), now)
    recorded = events.ReversalRecorded(
        sender=ctx.caller.sender, omsgid=b.omsgid, otype=b.otype, outcome=outcome, setl_id=setl_id, occurred_at=now
    )
    messages.append(published(recorded, setl_id or f"{ctx.caller.sender}:{b.omsgid}"))
    if outcome == "original_undone":
        return Decision.deferred(messages)  # answered when the wallet has given the money back
    return Decision.completed(messages, **({"setl_id": setl_id} if setl_id else {}))
