"""The payment service asks for a payment back (payment.refund-requested): every source gets back exactly what it
gave. Quota that returns to a lot whose relationship has ended meanwhile goes on to the provider's account at once
(as when the relationship ended). A payment refused, refunded already or never asked gives nothing back."""

from __future__ import annotations

from datetime import datetime

from services.wallet.domain import commands, events, funds
from services.wallet.domain.ledger import (
    ZERO,
    Account,
    Entry,
    LedgerTransfer,
    personal_account_id,
    post_transfer,
    spending_account_id,
    transfer_id_for,
    wallet_account_id,
)
from services.wallet.domain.payments import Debit, PaymentState
from services.wallet.service_layer.carry_over import carry_over
from services.wallet.service_layer.context import WalletContext
from services.wallet.service_layer.return_quota import return_quota
from shared.messaging.messages import Outgoing, published


async def refund_payment(cmd: commands.RefundPayment, ctx: WalletContext) -> list[Outgoing]:
    setl_id, now = cmd.setl_id, ctx.caller.now()
    payment = await ctx.payments.payment_of(setl_id)
    if payment is None or payment.state is not PaymentState.DEBITED:
        return []  # refused (nothing taken), refunded already, or never asked: nothing to give back
    debits = await ctx.payments.debits_of(setl_id)
    # the lock order of every path that creates, spends or returns quota (ADR 0021): people, lots, accounts
    people = {payment.psn_no, *(d.payer_psn_no for d in debits), *(d.provider_psn_no for d in debits)}
    await ctx.members.lock_people(*(x for x in people if x))
    await ctx.payments.lock_lots([d.lot_id for d in debits if d.lot_id])
    ended = {
        d.lot_id: d
        for d in debits
        if d.lot_id and d.relationship_id and await ctx.payments.relationship_ended(d.relationship_id)
    }
    spent_ids = {spending_account_id(d.spending_admdvs) for d in debits}
    providers = {personal_account_id(str(d.provider_psn_no)) for d in ended.values()}
    accounts = await ctx.ledger.lock(*spent_ids, *(d.account_id for d in debits), *providers)
    messages: list[Outgoing] = []
    total = ZERO
    for d in debits:
        spent, back = accounts[spending_account_id(d.spending_admdvs)], accounts[d.account_id]
        client_id = f"refund:{setl_id}:{d.seq}"
        post_transfer(spent, back, d.amount)
        refund_id = transfer_id_for(client_id)
        await ctx.ledger.save_posted_transfer(
            LedgerTransfer(
                refund_id, client_id, spent, back, d.amount, code="pay.refund", entry=Entry(at=now, setl_id=setl_id)
            ),
        )
        await ctx.payments.record_refund(setl_id, d.seq, d.lot_id, d.amount, refund_id)
        total += d.amount
        if d.lot_id is None:  # back into a personal account: to its fund now, from the fund that paid (ADR 0021)
            cause = funds.CarryCause.REFUND
            carry = funds.into_account(back, d.funding_admdvs, d.amount, cause, f"{setl_id}:{d.seq}")
            messages += await carry_over(carry, ctx.ledger, now)
        if d.lot_id in ended:
            messages += await _return_refunded_quota(d, setl_id, accounts, ctx, now)
    await ctx.payments.mark_refunded(setl_id, now)
    refunded = events.PaymentRefunded(setl_id=setl_id, psn_no=payment.psn_no, amount=total, occurred_at=now)
    return [*messages, published(refunded, refunded.psn_no)]


async def _return_refunded_quota(
    d: Debit, setl_id: str, accounts: dict[str, Account], ctx: WalletContext, now: datetime
) -> list[Outgoing]:
    lot_id, provider, recipient = str(d.lot_id), str(d.provider_psn_no), str(d.wallet_psn_no)
    client_id = f"return:{lot_id}:{d.relationship_id}:{setl_id}"
    parties = (await ctx.members.person(provider), await ctx.members.person(recipient))
    messages = await return_quota(
        lot_id,
        str(d.relationship_id),
        accounts[wallet_account_id(recipient)],
        accounts[personal_account_id(provider)],
        d.amount,
        d.funding_admdvs,
        transfer_id_for(client_id),
        client_id,
        [x.insuplc_admdvs for x in parties if x is not None],
        ctx.ledger,
        now,
    )
    await ctx.payments.record_refund_returned(lot_id, d.amount)
    return messages
