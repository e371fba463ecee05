"""The recipient's province answers a waiting transfer: accepted (the hold is posted into a lot of quota in the
wallet) or declined (the hold is voided). A transfer that is no longer waiting for this recipient gets the answer
it has: the same `completed` for an accept repeated, else why it is not pending (and, when it is overdue or its
relationship ended, it goes back now)."""

from __future__ import annotations

from datetime import datetime

from services.wallet.domain import commands
from services.wallet.domain.ledger import Entry, personal_account_id, post_hold, wallet_account_id
from services.wallet.domain.transfers import Lot, QuotaTransfer, ReturnReason, State
from services.wallet.service_layer.context import WalletContext
from services.wallet.service_layer.give_back import give_back
from shared.contracts import province as p
from shared.contracts.reasons import ReasonCode
from shared.messaging.messages import Decision, published, to_provinces


async def answer_transfer(cmd: commands.AnswerTransfer, ctx: WalletContext) -> Decision:
    waiting = await _waiting(cmd, ctx)
    if isinstance(waiting, Decision):
        return waiting
    transfer, now = waiting, ctx.caller.now()
    if not cmd.accepting:
        messages = await give_back(transfer, ReturnReason.DECLINED, ctx, now)
        return Decision.completed(messages, transfer_id=transfer.transfer_id)
    return await _accept(transfer, ctx, now)


async def _waiting(cmd: commands.AnswerTransfer, ctx: WalletContext) -> QuotaTransfer | Decision:
    """The transfer, still waiting for this recipient, or the answer when it is not."""
    parties = await ctx.transfers.parties(cmd.transfer_id)
    if parties is not None:
        await ctx.members.lock_people(*parties)  # before the transfer's row, as a freeze does
    transfer = await ctx.transfers.get_for_update(cmd.transfer_id)
    if transfer is None:
        return Decision.rejected(ReasonCode.UNKNOWN_REQUEST, "no transfer has this transfer_id")
    if transfer.to_psn_no != cmd.psn_no:
        return Decision.rejected(ReasonCode.NOT_A_PARTY, "only the recipient can accept or decline")
    if not ctx.caller.speaks_for(transfer.to_admdvs):
        return Decision.rejected(ReasonCode.NOT_A_PARTY, "the answer comes from the recipient's province")
    if transfer.state is State.COMPLETED:
        if cmd.accepting:
            return Decision.completed(transfer_id=transfer.transfer_id)  # accepted already: the same answer
        return Decision.rejected(ReasonCode.TRANSFER_NOT_PENDING, "the transfer was accepted already")
    if transfer.state is State.RETURNED:
        if (
            transfer.return_reason is ReturnReason.FROZEN
            and cmd.accepting
            and (await ctx.members.frozen(transfer.to_psn_no) or await ctx.members.frozen(transfer.from_psn_no))
        ):
            return Decision.rejected(ReasonCode.WALLET_FROZEN, "the transfer was returned by a freeze")
        return Decision.rejected(
            ReasonCode.TRANSFER_NOT_PENDING, f"the transfer was returned ({transfer.return_reason})"
        )
    now = ctx.caller.now()
    if transfer.overdue(now):
        messages = await give_back(transfer, ReturnReason.EXPIRED, ctx, now)
        return Decision.rejected(ReasonCode.TRANSFER_NOT_PENDING, "the transfer expired", messages)
    if await ctx.members.established_relationship(transfer.from_psn_no, transfer.to_psn_no) != transfer.relationship_id:
        messages = await give_back(transfer, ReturnReason.RELATIONSHIP_ENDED, ctx, now)
        return Decision.rejected(ReasonCode.NO_RELATIONSHIP, "the relationship ended", messages)
    return transfer


async def _accept(transfer: QuotaTransfer, ctx: WalletContext, now: datetime) -> Decision:
    personal, wallet = personal_account_id(transfer.from_psn_no), wallet_account_id(transfer.to_psn_no)
    accounts = await ctx.ledger.lock(personal, wallet)
    if await ctx.members.any_frozen(transfer.to_psn_no, transfer.from_psn_no):  # (a freeze returns these)
        messages = await give_back(transfer, ReturnReason.FROZEN, ctx, now)
        return Decision.rejected(ReasonCode.WALLET_FROZEN, "the recipient or the sender is frozen", messages)
    funding = accounts[personal].admdvs  # the fund the provider's account belongs to now (ADR 0021)
    granted = transfer.accept(now, funding)
    post_hold(accounts[personal], accounts[wallet], transfer.amount)
    entry = Entry(at=now, transfer_id=transfer.transfer_id)
    await ctx.ledger.resolve_pending(transfer.hold_id, "posted", accounts[personal], accounts[wallet], entry)
    lot = Lot(transfer.transfer_id, transfer.to_psn_no, transfer.from_psn_no, transfer.amount, funding)
    await ctx.members.add_lot(lot, transfer.relationship_id, now)
    await ctx.transfers.save(transfer)
    notice = p.TransferCompleted(
        transfer_id=transfer.transfer_id,
        from_psn_no=transfer.from_psn_no,
        to_psn_no=transfer.to_psn_no,
        amount=transfer.amount,
    )
    messages = [
        *to_provinces((transfer.from_admdvs, transfer.to_admdvs), "transfer.completed", notice, transfer.from_psn_no),
        published(granted, transfer.from_psn_no),
    ]
    return Decision.completed(messages, transfer_id=transfer.transfer_id)
