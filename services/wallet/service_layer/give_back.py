"""A waiting transfer goes back (declined, expired, relationship ended, frozen): the step several use cases share."""

from __future__ import annotations

from datetime import datetime

from services.wallet.domain.ledger import Entry, personal_account_id, void_hold, wallet_account_id
from services.wallet.domain.transfers import QuotaTransfer, ReturnReason
from services.wallet.service_layer.context import WalletContext
from shared.contracts import province as p
from shared.messaging.messages import Outgoing, published, to_provinces


async def give_back(transfer: QuotaTransfer, reason: ReturnReason, ctx: WalletContext, now: datetime) -> list[Outgoing]:
    """Void the hold: the amount is the provider's again. Both provinces are told. The caller holds the
    transfer's lock (and, on a batch, its accounts' locks already)."""
    released = transfer.give_back(reason, now)
    personal, wallet = personal_account_id(transfer.from_psn_no), wallet_account_id(transfer.to_psn_no)
    accounts = await ctx.ledger.lock(personal, wallet)
    void_hold(accounts[personal], accounts[wallet], transfer.amount)
    entry = Entry(at=now, transfer_id=transfer.transfer_id)
    await ctx.ledger.resolve_pending(transfer.hold_id, "voided", accounts[personal], accounts[wallet], entry)
    await ctx.transfers.save(transfer)
    notice = p.TransferReturned(
        transfer_id=transfer.transfer_id,
        from_psn_no=transfer.from_psn_no,
        to_psn_no=transfer.to_psn_no,
        amount=transfer.amount,
        reason=reason.value,
    )
    return [
        *to_provinces((transfer.from_admdvs, transfer.to_admdvs), "transfer.returned", notice, transfer.from_psn_no),
        published(released, transfer.from_psn_no),
    ]
