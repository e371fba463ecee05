"""The wallet could not process a payment (dead-lettered, even one whose body could not be read): nothing was
taken, and the payment service is told so, that the province still gets its one answer."""

from __future__ import annotations

from services.wallet.domain import commands, events
from services.wallet.domain.payments import PaymentState
from services.wallet.domain.transfers import Refusal
from services.wallet.service_layer.context import WalletContext
from shared.contracts.reasons import ReasonCode
from shared.messaging.messages import Outgoing, published


async def refuse_failed_payment(cmd: commands.RefuseFailedPayment, ctx: WalletContext) -> list[Outgoing]:
    if await ctx.payments.payment_of(cmd.setl_id) is not None:
        return []
    now = ctx.caller.now()
    refusal = Refusal(ReasonCode.PROCESSING_FAILED, "the wallet could not process this payment; operators were alerted")
    await ctx.payments.record_payment(cmd.setl_id, cmd.purpose, cmd.psn_no, PaymentState.REFUSED, refusal.code, now)
    refused = events.PaymentRefused(
        setl_id=cmd.setl_id, reason_code=refusal.code.value, reason=refusal.reason, occurred_at=now
    )
    return [published(refused, cmd.psn_no)]
