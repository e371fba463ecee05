"""The payment service asks the wallet to take a payment (payment.payment-opened): from the patient's wallet
(oldest lot first), then the patient's own account or a provider's account, each as far as it allows
(services/wallet/domain/payments.py). It runs in the transaction of the event that drives it; the answer,
debited or refused, goes back on wallet.events.v1 (docs/adr/0010-paying-and-clearing.md). Asked twice, the
first answer stands."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from services.wallet.domain import commands, events
from services.wallet.domain.ledger import (
    ZERO,
    Account,
    AccountKind,
    Entry,
    LedgerTransfer,
    personal_account_id,
    post_transfer,
    spending_account_id,
    transfer_id_for,
    wallet_account_id,
)
from services.wallet.domain.payments import (
    Debit,
    PayingSituation,
    PaymentOrder,
    PaymentState,
    Portion,
    Purpose,
    Source,
    SourceKind,
    check_covered,
    check_payment,
    split,
    uses_provider,
    uses_wallet,
)
from services.wallet.domain.transfers import Refusal
from services.wallet.service_layer.context import WalletContext
from shared.contracts.reasons import ReasonCode
from shared.messaging.messages import Outgoing, published


async def take_payment(cmd: commands.TakePayment, ctx: WalletContext) -> list[Outgoing]:
    order, now = cmd.order, ctx.caller.now()
    if await ctx.payments.payment_of(order.setl_id) is not None:
        return []  # asked twice: the first answer stands
    members = ctx.members
    await members.lock_people(order.psn_no, *([order.payer_psn_no] if order.payer_psn_no else []))  # (a freeze's)
    patient = await members.person(order.psn_no)
    payer = await members.person(order.payer_psn_no) if order.payer_psn_no else None
    relationship_id = (
        await members.established_relationship(order.payer_psn_no, order.psn_no)
        if order.payer_psn_no and uses_provider(order)
        else None
    )
    spending = order.spending_admdvs or (patient.insuplc_admdvs if patient else None)
    situation = PayingSituation(
        patient=patient,
        payer=payer,
        relationship_id=relationship_id,
        wallet_opened=await members.wallet_region(order.psn_no) is not None,
        region_enabled=patient is not None and await members.region_enabled(patient.insuplc_admdvs),
        sender_speaks_for_patient=patient is not None and ctx.caller.speaks_for(patient.insuplc_admdvs),
    )
    refusal = check_payment(order, situation)
    if refusal is None and patient is not None and spending is not None:
        sources: list[Source] = []
        if uses_wallet(order):
            for lot in await ctx.payments.unspent_lots(order.psn_no):
                sources.append(
                    Source(
                        SourceKind.WALLET,
                        order.psn_no,
                        wallet_account_id(order.psn_no),
                        lot.funding_admdvs,
                        lot.remaining,
                        lot.lot_id,
                    )
                )
        account_owner: str | None = None
        if uses_provider(order) and payer is not None:
            account_owner, kind = payer.psn_no, SourceKind.PROVIDER_ACCOUNT
        elif order.purpose is Purpose.SETTLEMENT and order.acct_used_flag == "1":
            account_owner, kind = patient.psn_no, SourceKind.OWN_ACCOUNT
        own = personal_account_id(patient.psn_no)
        wanted = [own, wallet_account_id(order.psn_no)]
        if account_owner is not None:
            wanted.append(personal_account_id(account_owner))
        accounts = await ctx.ledger.lock(*wanted)
        # the region's spending is only credited here: not locked, its row takes the payment at the end
        accounts |= await ctx.ledger.hot_accounts((spending_account_id(spending), AccountKind.SPENDING, spending))
        if uses_wallet(order) and await members.frozen(order.psn_no):
            refusal = Refusal(ReasonCode.WALLET_FROZEN, "the patient's wallet is frozen: it pays nothing")
        elif account_owner is not None and account_owner != patient.psn_no and await _frozen_either(order, ctx):
            refusal = Refusal(ReasonCode.WALLET_FROZEN, "a frozen person neither pays for another nor is paid for")
        else:
            if account_owner is not None and personal_account_id(account_owner) in accounts:
                acc = accounts[personal_account_id(account_owner)]  # funded by the fund it belongs to (ADR 0021)
                sources.append(Source(kind, account_owner, acc.id, acc.admdvs, max(acc.balance, ZERO)))
            portions = split(order.amount, sources)
            refusal = check_covered(order, portions)
            if refusal is None:
                return await _debit(order, portions, spending, accounts, ctx, now)
    assert refusal is not None
    await ctx.payments.record_payment(
        order.setl_id, order.purpose.value, order.psn_no, PaymentState.REFUSED, refusal.code, now
    )
    refused = events.PaymentRefused(
        setl_id=order.setl_id, reason_code=refusal.code.value, reason=refusal.reason, occurred_at=now
    )
    return [published(refused, order.psn_no)]


async def _frozen_either(order: PaymentOrder, ctx: WalletContext) -> bool:
    """Mutual aid through a provider's personal account (acct_used_flag 2, a contribution paid for another) stops
    when either of them is frozen."""
    return await ctx.members.frozen(order.psn_no) or (
        order.payer_psn_no is not None and await ctx.members.frozen(order.payer_psn_no)
    )


async def _debit(
    order: PaymentOrder,
    portions: list[Portion],
    spending: str,
    accounts: dict[str, Account],
    ctx: WalletContext,
    now: datetime,
) -> list[Outgoing]:
    await ctx.payments.record_payment(order.setl_id, order.purpose.value, order.psn_no, PaymentState.DEBITED, None, now)
    spent = accounts[spending_account_id(spending)]
    entry = Entry(at=now, setl_id=order.setl_id, contribution=order.purpose is Purpose.CONTRIBUTION)
    wire: list[events.WalletDebitPortion] = []
    for seq, portion in enumerate(portions, start=1):
        src = portion.source
        debit = accounts[src.account_id]
        client_id = f"pay:{order.setl_id}:{seq}"
        post_transfer(debit, spent, portion.amount)
        transfer_id = transfer_id_for(client_id)
        await ctx.ledger.save_posted_transfer(
            LedgerTransfer(transfer_id, client_id, debit, spent, portion.amount, code=f"pay.{src.kind}", entry=entry),
        )
        taken = Debit(
            seq, src.kind, src.payer_psn_no, src.account_id, src.lot_id, src.funding_admdvs, spending, portion.amount
        )
        await ctx.payments.record_debit(order.setl_id, taken, transfer_id)
        wire.append(
            events.WalletDebitPortion(
                seq=seq,
                source=src.kind.value,
                payer_psn_no=src.payer_psn_no,
                lot_id=src.lot_id,
                funding_admdvs=src.funding_admdvs,
                spending_admdvs=spending,
                amount=portion.amount,
            )
        )

    def total(*kinds: SourceKind) -> Decimal:
        return sum((x.amount for x in portions if x.source.kind in kinds), ZERO)

    own = accounts.get(personal_account_id(order.psn_no))
    wallet = accounts.get(wallet_account_id(order.psn_no))
    debited = events.PaymentDebited(
        setl_id=order.setl_id,
        purpose=order.purpose.value,
        psn_no=order.psn_no,
        portions=wire,
        wallet_pay=total(SourceKind.WALLET),
        acct_pay=total(SourceKind.OWN_ACCOUNT, SourceKind.PROVIDER_ACCOUNT),
        acct_mulaid_pay=total(SourceKind.PROVIDER_ACCOUNT),
        balc=own.balance if own is not None else ZERO,
        wallet_balc=wallet.balance if wallet is not None else ZERO,
        occurred_at=now,
    )
    return [published(debited, order.psn_no)]
