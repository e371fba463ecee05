"""A provider's province asks to move quota into a relative's wallet: judged by the rules, then held until the
recipient answers or 06:00 the next day (docs/adr/0009)."""

from __future__ import annotations

from decimal import Decimal

from services.wallet.domain import commands
from services.wallet.domain.ledger import (
    AccountKind,
    Entry,
    LedgerTransfer,
    hold,
    personal_account_id,
    wallet_account_id,
)
from services.wallet.domain.transfers import (
    QuotaTransfer,
    ReturnReason,
    Situation,
    business_day,
    check_request,
    check_situation,
)
from services.wallet.service_layer.context import WalletContext
from services.wallet.service_layer.give_back import give_back
from shared.contracts import province as p
from shared.contracts.reasons import ReasonCode
from shared.messaging.messages import Decision, Outgoing, published, to_province


async def request_transfer(cmd: commands.RequestTransfer, ctx: WalletContext) -> Decision:
    req, now = cmd.request, ctx.caller.now()
    await ctx.members.lock_people(req.from_psn_no, req.to_psn_no)  # before anything a freeze decides
    people = await ctx.members.people(req.from_psn_no, req.to_psn_no)
    sender, recipient = people.get(req.from_psn_no), people.get(req.to_psn_no)
    # first: the rules below (the sender region's policy among them) would tell an outsider of the people
    if not ctx.caller.may_ask_about(sender.insuplc_admdvs if sender else None):
        return Decision.rejected(ReasonCode.NOT_A_PARTY, "a transfer is requested from the sender's insured province")
    policy = await ctx.members.policy_for(sender.insuplc_admdvs if sender else "000000")
    refusal = check_request(req, now, policy)
    if refusal:
        return Decision.rejected(refusal.code, refusal.reason)
    personal, wallet = personal_account_id(req.from_psn_no), wallet_account_id(req.to_psn_no)
    earlier: list[Outgoing] = []
    overdue = await ctx.transfers.overdue_between(req.from_psn_no, req.to_psn_no, now)
    if overdue is not None:  # past 06:00 but not swept yet: it goes back now, it does not block this one
        earlier = await give_back(overdue, ReturnReason.EXPIRED, ctx, now)
    if sender is not None:
        await ctx.ledger.ensure_account(personal, AccountKind.PERSONAL, sender.insuplc_admdvs)
    accounts = await ctx.ledger.lock(personal, wallet)
    facts = await ctx.members.transfer_facts(
        req.from_psn_no, req.to_psn_no, sender.insuplc_admdvs if sender else None, business_day(now)
    )
    situation = Situation(
        sender=sender,
        recipient=recipient,
        relationship_id=facts.relationship_id,
        sender_region_enabled=sender is not None and facts.sender_region_enabled,
        recipient_wallet_region=facts.wallet_region if wallet in accounts else None,
        recipient_region_enabled=facts.recipient_region_enabled,
        pending_to_recipient=facts.pending_to,
        sent_today=facts.sent_today,
        available=accounts[personal].balance if personal in accounts else Decimal("0.00"),
        sender_frozen=facts.sender_frozen,
        recipient_frozen=facts.recipient_frozen,
    )
    refusal = check_situation(req, situation, policy)
    if refusal:
        return Decision.rejected(refusal.code, refusal.reason, earlier)
    assert sender is not None and recipient is not None and situation.relationship_id is not None  # noqa: PT018
    transfer, held = QuotaTransfer.request(cmd.transfer_id, req, sender, recipient, situation.relationship_id, now)
    hold(accounts[personal], accounts[wallet], req.amount)
    await ctx.ledger.save_pending_transfer(
        LedgerTransfer(
            transfer.hold_id,
            cmd.client_id,
            accounts[personal],
            accounts[wallet],
            req.amount,
            code="transfer.hold",
            entry=Entry(at=now, transfer_id=transfer.transfer_id),
        ),
    )
    transfer.new_steps += [
        ("requested", f"client {cmd.client_id}"),
        ("quota_held", f"{req.amount} on {personal}, due by {transfer.deadline.isoformat()}"),
    ]
    await ctx.transfers.add(transfer)
    pending = p.TransferPending(
        transfer_id=transfer.transfer_id,
        from_psn_no=req.from_psn_no,
        to_psn_no=req.to_psn_no,
        amount=req.amount,
        expires_at=transfer.deadline,
    )
    messages = [
        *earlier,
        to_province(recipient.insuplc_admdvs, "transfer.pending", pending, req.from_psn_no),
        published(held, req.from_psn_no),
    ]
    return Decision.accepted(messages, transfer_id=transfer.transfer_id)
