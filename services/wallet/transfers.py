"""The transfer saga (docs/adr/0009): request -> hold -> accepted (post, lot) | declined, expired,
relationship ended (void). And the return of unspent quota when a relationship ends. Plain functions
with explicit dependencies; each runs inside the transaction of the message or sweep that drives it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from services.wallet.adapters.ledger_repository import LedgerRepository
from services.wallet.adapters.wallet_repository import WalletRepository, hold_id_for, return_id_for
from services.wallet.domain import events
from services.wallet.domain.ledger import (
    Account,
    AccountKind,
    Entry,
    hold,
    personal_account_id,
    post_hold,
    post_transfer,
    void_hold,
    wallet_account_id,
)
from services.wallet.domain.transfers import (
    ReturnReason,
    Situation,
    State,
    TransferRequest,
    business_day,
    check_request,
    check_situation,
    return_deadline,
)
from shared.clock import BusinessClock
from shared.contracts import province as p
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import province_topic, speaks_for
from shared.messaging.messages import Decision, Outgoing, published, to_provinces


def to_both(from_admdvs: str, to_admdvs: str, type_: str, body: p.Body, key: str) -> list[Outgoing]:
    return to_provinces((from_admdvs, to_admdvs), type_, body, key)


async def open_wallet(
    psn_no: str,
    usage_admdvs: str,
    sender: str,
    repo: WalletRepository,
    ledger: LedgerRepository,
    clock: BusinessClock,
    trusted: frozenset[str],
) -> Decision:
    person = await repo.person(psn_no)
    if person is None:
        return Decision.rejected(ReasonCode.UNKNOWN_PERSON, "the person is not enrolled on the platform")
    if not speaks_for(sender, person.insuplc_admdvs, trusted):
        return Decision.rejected(ReasonCode.NOT_A_PARTY, "a wallet is opened from the person's insured province")
    if not await repo.region_enabled(usage_admdvs):
        return Decision.rejected(ReasonCode.REGION_NOT_ENABLED, "the usage region has no wallet function")
    now = clock.now()
    if not await repo.open_wallet(psn_no, usage_admdvs, now):
        return Decision.completed()  # already open
    await ledger.ensure_account(wallet_account_id(psn_no), AccountKind.WALLET, usage_admdvs)
    return Decision.completed(
        [published(events.WalletOpened(psn_no=psn_no, usage_admdvs=usage_admdvs, occurred_at=now), psn_no)]
    )


async def request_transfer(
    transfer_id: str,
    client_id: str,
    req: TransferRequest,
    sender_code: str,
    repo: WalletRepository,
    ledger: LedgerRepository,
    clock: BusinessClock,
    trusted: frozenset[str],
) -> Decision:
    now = clock.now()
    await repo.lock_people(req.from_psn_no, req.to_psn_no)  # before anything a freeze decides (freezes.py)
    people = await repo.people(req.from_psn_no, req.to_psn_no)
    sender, recipient = people.get(req.from_psn_no), people.get(req.to_psn_no)
    policy = await repo.policy_for(sender.insuplc_admdvs if sender else "000000")
    refusal = check_request(req, now, policy)
    if refusal:
        return Decision.rejected(refusal.code, refusal.reason)
    if sender is not None and not speaks_for(sender_code, sender.insuplc_admdvs, trusted):
        return Decision.rejected(ReasonCode.NOT_A_PARTY, "a transfer is requested from the sender's insured province")
    personal, wallet = personal_account_id(req.from_psn_no), wallet_account_id(req.to_psn_no)
    earlier: list[Outgoing] = []
    overdue = await repo.overdue_to(req.from_psn_no, req.to_psn_no, now)
    if overdue is not None:  # past 06:00 but not swept yet: it goes back now, it does not block this one
        saga = await repo.saga_for_update(overdue)
        assert saga is not None
        earlier = await return_transfer(saga, ReturnReason.EXPIRED, repo, ledger, now)
    if sender is not None:
        await ledger.ensure_account(personal, AccountKind.PERSONAL, sender.insuplc_admdvs)
    accounts = await ledger.lock(personal, wallet)
    known = await repo.transfer_situation(
        req.from_psn_no, req.to_psn_no, sender.insuplc_admdvs if sender else None, business_day(now)
    )
    situation = Situation(
        sender=sender,
        recipient=recipient,
        relationship_id=known["relationship_id"],
        sender_region_enabled=sender is not None and known["sender_region_enabled"],
        recipient_wallet_region=known["wallet_region"] if wallet in accounts else None,
        recipient_region_enabled=known["recipient_region_enabled"],
        pending_to_recipient=known["pending_to"],
        sent_today=known["sent_today"],
        available=accounts[personal].balance if personal in accounts else Decimal("0.00"),
        sender_frozen=known["sender_frozen"],
        recipient_frozen=known["recipient_frozen"],
    )
    refusal = check_situation(req, situation, policy)
    if refusal:
        return Decision.rejected(refusal.code, refusal.reason, earlier)
    assert sender is not None and recipient is not None and situation.relationship_id is not None  # noqa: PT018
    hold(accounts[personal], accounts[wallet], req.amount)
    hold_id = hold_id_for(transfer_id)
    await ledger.save_pending_transfer(
        hold_id,
        client_id,
        accounts[personal],
        accounts[wallet],
        req.amount,
        code="transfer.hold",
        entry=Entry(at=now, transfer_id=transfer_id),
    )
    deadline = return_deadline(now)
    await repo.insert_saga(
        {
            "transfer_id": transfer_id,
            "from_psn_no": req.from_psn_no,
            "to_psn_no": req.to_psn_no,
            "relationship_id": situation.relationship_id,
            "amount": req.amount,
            "business_day": business_day(now),
            "requested_at": now,
            "deadline": deadline,
            "hold_id": hold_id,
            "from_admdvs": sender.insuplc_admdvs,
            "to_admdvs": recipient.insuplc_admdvs,
        }
    )
    await repo.steps(
        transfer_id,
        now,
        ("requested", f"client {client_id}"),
        ("quota_held", f"{req.amount} on {personal}, due by {deadline.isoformat()}"),
    )
    pending = p.TransferPending(
        transfer_id=transfer_id,
        from_psn_no=req.from_psn_no,
        to_psn_no=req.to_psn_no,
        amount=req.amount,
        expires_at=deadline,
    )
    held = events.QuotaHeld(
        transfer_id=transfer_id,
        from_psn_no=req.from_psn_no,
        to_psn_no=req.to_psn_no,
        relationship_id=situation.relationship_id,
        amount=req.amount,
        deadline=deadline,
        occurred_at=now,
    )
    messages = [
        Outgoing(
            province_topic(recipient.insuplc_admdvs),
            req.from_psn_no,
            "transfer.pending",
            pending.model_dump(mode="json"),
        ),
        published(held, req.from_psn_no),
    ]
    return Decision.accepted(messages, transfer_id=transfer_id)


async def return_transfer(
    saga: dict[str, Any], reason: ReturnReason, repo: WalletRepository, ledger: LedgerRepository, now: datetime
) -> list[Outgoing]:
    """Void the hold: the amount is the provider's again. Both provinces are told."""
    personal, wallet = personal_account_id(saga["from_psn_no"]), wallet_account_id(saga["to_psn_no"])
    accounts = await ledger.lock(personal, wallet)
    void_hold(accounts[personal], accounts[wallet], saga["amount"])
    await ledger.resolve_pending(
        saga["hold_id"], "voided", accounts[personal], accounts[wallet], Entry(at=now, transfer_id=saga["transfer_id"])
    )
    await repo.resolve_saga(saga["transfer_id"], State.RETURNED, reason, now)
    await repo.step(saga["transfer_id"], now, "returned", reason.value)
    body = p.TransferReturned(
        transfer_id=saga["transfer_id"],
        from_psn_no=saga["from_psn_no"],
        to_psn_no=saga["to_psn_no"],
        amount=saga["amount"],
        reason=reason.value,
    )
    released = events.QuotaReleased(
        transfer_id=saga["transfer_id"],
        from_psn_no=saga["from_psn_no"],
        to_psn_no=saga["to_psn_no"],
        amount=saga["amount"],
        reason=reason.value,
        occurred_at=now,
    )
    return [
        *to_both(saga["from_admdvs"], saga["to_admdvs"], "transfer.returned", body, saga["from_psn_no"]),
        published(released, saga["from_psn_no"]),
    ]


async def _waiting_saga(
    transfer_id: str,
    psn_no: str,
    sender_code: str,
    repo: WalletRepository,
    ledger: LedgerRepository,
    clock: BusinessClock,
    trusted: frozenset[str],
    accepting: bool,
) -> tuple[dict[str, Any] | None, Decision | None]:
    """The saga a recipient answers, or the answer when it is not waiting for them any more."""
    parties = await repo.saga_parties(transfer_id)
    if parties is not None:
        await repo.lock_people(*parties)  # before the saga's row, as a freeze does (freezes.py)
    saga = await repo.saga_for_update(transfer_id)
    if saga is None:
        return None, Decision.rejected(ReasonCode.UNKNOWN_REQUEST, "no transfer has this transfer_id")
    if saga["to_psn_no"] != psn_no:
        return None, Decision.rejected(ReasonCode.NOT_A_PARTY, "only the recipient can accept or decline")
    if not speaks_for(sender_code, saga["to_admdvs"], trusted):
        return None, Decision.rejected(ReasonCode.NOT_A_PARTY, "the answer comes from the recipient's province")
    if saga["state"] == State.COMPLETED:
        if accepting:
            return None, Decision.completed(transfer_id=transfer_id)  # accepted already: the same answer
        return None, Decision.rejected(ReasonCode.TRANSFER_NOT_PENDING, "the transfer was accepted already")
    if (
        saga["state"] == State.RETURNED
        and saga["return_reason"] == ReturnReason.FROZEN
        and accepting
        and (await repo.frozen(saga["to_psn_no"]) or await repo.frozen(saga["from_psn_no"]))
    ):
        return None, Decision.rejected(ReasonCode.WALLET_FROZEN, "the transfer was returned by a freeze")
    if saga["state"] == State.RETURNED:
        return None, Decision.rejected(
            ReasonCode.TRANSFER_NOT_PENDING, f"the transfer was returned ({saga['return_reason']})"
        )
    now = clock.now()
    if saga["deadline"] <= now:
        messages = await return_transfer(saga, ReturnReason.EXPIRED, repo, ledger, now)
        return None, Decision.rejected(ReasonCode.TRANSFER_NOT_PENDING, "the transfer expired", messages)
    if await repo.established_relationship(saga["from_psn_no"], saga["to_psn_no"]) != saga["relationship_id"]:
        messages = await return_transfer(saga, ReturnReason.RELATIONSHIP_ENDED, repo, ledger, now)
        return None, Decision.rejected(ReasonCode.NO_RELATIONSHIP, "the relationship ended", messages)
    return saga, None


async def answer_transfer(
    accepting: bool,
    transfer_id: str,
    psn_no: str,
    sender_code: str,
    repo: WalletRepository,
    ledger: LedgerRepository,
    clock: BusinessClock,
    trusted: frozenset[str],
) -> Decision:
    """The recipient accepts (the hold is posted into a lot) or declines (the hold is voided)."""
    saga, answer = await _waiting_saga(transfer_id, psn_no, sender_code, repo, ledger, clock, trusted, accepting)
    if saga is None:
        assert answer is not None
        return answer
    now = clock.now()
    if not accepting:
        messages = await return_transfer(saga, ReturnReason.DECLINED, repo, ledger, now)
        return Decision.completed(messages, transfer_id=transfer_id)
    personal, wallet = personal_account_id(saga["from_psn_no"]), wallet_account_id(saga["to_psn_no"])
    accounts = await ledger.lock(personal, wallet)
    if await repo.any_frozen(saga["to_psn_no"], saga["from_psn_no"]):  # (a freeze returns these)
        messages = await return_transfer(saga, ReturnReason.FROZEN, repo, ledger, now)
        return Decision.rejected(ReasonCode.WALLET_FROZEN, "the recipient or the sender is frozen", messages)
    post_hold(accounts[personal], accounts[wallet], saga["amount"])
    await ledger.resolve_pending(
        saga["hold_id"], "posted", accounts[personal], accounts[wallet], Entry(at=now, transfer_id=transfer_id)
    )
    await repo.add_lot(
        transfer_id,
        saga["to_psn_no"],
        saga["from_psn_no"],
        saga["from_admdvs"],
        saga["relationship_id"],
        saga["amount"],
        now,
    )
    await repo.resolve_saga(transfer_id, State.COMPLETED, None, now)
    await repo.step(transfer_id, now, "completed", f"lot {transfer_id} of {saga['amount']} in {wallet}")
    body = p.TransferCompleted(
        transfer_id=transfer_id, from_psn_no=saga["from_psn_no"], to_psn_no=saga["to_psn_no"], amount=saga["amount"]
    )
    granted = events.QuotaGranted(
        transfer_id=transfer_id,
        from_psn_no=saga["from_psn_no"],
        to_psn_no=saga["to_psn_no"],
        funding_admdvs=saga["from_admdvs"],
        amount=saga["amount"],
        occurred_at=now,
    )
    messages = [
        *to_both(saga["from_admdvs"], saga["to_admdvs"], "transfer.completed", body, saga["from_psn_no"]),
        published(granted, saga["from_psn_no"]),
    ]
    return Decision.completed(messages, transfer_id=transfer_id)


async def expire_transfers(
    repo: WalletRepository, ledger: LedgerRepository, clock: BusinessClock, limit: int = 100
) -> list[Outgoing]:
    """The sweep: what nobody accepted by 06:00 the next day goes back to the provider (or, when the
    relationship ended meanwhile, for that reason). All accounts of the batch are locked first, in order."""
    now = clock.now()
    sagas = []
    for transfer_id in await repo.pending_past(now, limit):
        saga = await repo.saga_for_update(transfer_id)
        assert saga is not None
        sagas.append(saga)
    accounts = {personal_account_id(s["from_psn_no"]) for s in sagas} | {
        wallet_account_id(s["to_psn_no"]) for s in sagas
    }
    await ledger.lock(*accounts)
    messages: list[Outgoing] = []
    for saga in sagas:
        ended = await repo.established_relationship(saga["from_psn_no"], saga["to_psn_no"]) != saga["relationship_id"]
        reason = ReturnReason.RELATIONSHIP_ENDED if ended else ReturnReason.EXPIRED
        messages += await return_transfer(saga, reason, repo, ledger, now)
    return messages


async def relationship_ended(
    relationship_id: str,
    provider: str,
    recipient: str,
    was_established: bool,
    provider_admdvs: str,
    recipient_admdvs: str,
    version: int | None,
    repo: WalletRepository,
    ledger: LedgerRepository,
    clock: BusinessClock,
) -> list[Outgoing]:
    """Waiting transfers go back; the recipient's unspent quota from this provider returns to the provider."""
    now = clock.now()
    lots = await repo.lock_lots_of(relationship_id)  # first: a concurrent refund then waits and sees the end
    await repo.relationship_ended(relationship_id, provider, recipient, provider_admdvs, recipient_admdvs, version, now)
    messages: list[Outgoing] = []
    for transfer_id in await repo.pending_of_relationship(relationship_id):
        saga = await repo.saga_for_update(transfer_id)
        if saga is not None and saga["state"] == State.PENDING:
            messages += await return_transfer(saga, ReturnReason.RELATIONSHIP_ENDED, repo, ledger, now)
    if not was_established:
        return messages
    for lot in (x for x in lots if x["remaining"] > 0):
        wallet, personal = wallet_account_id(lot["wallet_psn_no"]), personal_account_id(lot["provider_psn_no"])
        accounts = await ledger.lock(wallet, personal)
        messages += await return_quota(
            lot["lot_id"],
            relationship_id,
            accounts[wallet],
            accounts[personal],
            lot["remaining"],
            return_id_for(lot["lot_id"], relationship_id),
            f"return:{lot['lot_id']}:{relationship_id}",
            (provider_admdvs, recipient_admdvs),
            ledger,
            now,
        )
        await repo.empty_lot(lot["lot_id"])
    return messages


async def return_quota(
    lot_id: str,
    relationship_id: str,
    wallet: Account,
    personal: Account,
    amount: Decimal,
    transfer_id: uuid.UUID,
    client_id: str,
    regions: Sequence[str],
    ledger: LedgerRepository,
    now: datetime,
) -> list[Outgoing]:
    """Quota of an ended relationship goes from the recipient's wallet back to the provider's personal
    account (a posted transfer; the caller updates the lot), and the provinces are told."""
    provider, recipient = personal.id.removeprefix("personal:"), wallet.id.removeprefix("wallet:")
    post_transfer(wallet, personal, amount)
    await ledger.save_posted_transfer(
        transfer_id, client_id, wallet, personal, amount, code="quota.return", entry=Entry(at=now, transfer_id=lot_id)
    )
    body = p.TransferReturned(
        transfer_id=lot_id,
        from_psn_no=provider,
        to_psn_no=recipient,
        amount=amount,
        reason=ReturnReason.RELATIONSHIP_ENDED.value,
    )
    returned = events.QuotaReturned(
        lot_id=lot_id,
        relationship_id=relationship_id,
        wallet_psn_no=recipient,
        provider_psn_no=provider,
        amount=amount,
        occurred_at=now,
    )
    return [*to_provinces(regions, "transfer.returned", body, provider), published(returned, provider)]
