"""wallet.payment-debited: the wallet took what the sources allowed. The settlement is completed and answered
(and, when a reversal came while the wallet was at work, at once undone: the refund is asked)."""

from __future__ import annotations

from services.payment.domain import commands
from services.payment.domain.settlements import State
from services.payment.service_layer.answering import to_parties
from services.payment.service_layer.context import PaymentContext
from shared.contracts import province as p
from shared.messaging.messages import Decision, Outgoing, published


async def record_debit(cmd: commands.RecordDebit, ctx: PaymentContext) -> list[Outgoing]:
    s = await ctx.settlements.get_for_update(cmd.setl_id)
    if s is None or s.state is not State.DEBITING:
        return []  # a repeat, or an answer to what was given up on
    now = ctx.caller.now()
    completed = s.complete(cmd.debited, now)
    messages = [published(completed, s.setl_id)]
    if s.is_settlement:
        assert s.mdtrt_id is not None and s.fixmedins_code is not None  # noqa: PT018
        body = p.SettlementCompleted(
            setl_id=s.setl_id,
            mdtrt_id=s.mdtrt_id,
            psn_no=s.psn_no,
            fixmedins_code=s.fixmedins_code,
            acct_pay=cmd.debited.acct_pay,
            acct_mulaid_pay=cmd.debited.acct_mulaid_pay,
            wallet_pay=cmd.debited.wallet_pay,
            psn_cash_pay=completed.psn_cash_pay,
            balc=cmd.debited.balc,
            wallet_balc=cmd.debited.wallet_balc,
        )
        messages += to_parties(s, list(cmd.debited.portions), "settlement.completed", body)
    answer = [*await ctx.answers.answer(s.sender, s.msgid, Decision.completed(setl_id=s.setl_id)), *messages]
    if s.reversal_waits:
        answer.append(published(s.start_refund(now), s.setl_id))
    await ctx.settlements.save(s)
    return answer
