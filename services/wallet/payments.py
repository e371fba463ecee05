"""Payments the payment service asks the wallet to take (payment.settlement-opened) and to give back
(payment.refund-requested). Each runs in the transaction of the event that drives it; the answer goes
back on wallet.events.v1 (docs/adr/0010-paying-and-clearing.md)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from services.wallet.adapters.ledger_repository import LedgerRepository
from services.wallet.adapters.payment_repository import PaymentRepository
from services.wallet.adapters.wallet_repository import WalletRepository
from services.wallet.domain import events
from services.wallet.domain.ledger import (
    ZERO,
    Account,
    AccountKind,
    Entry,
    personal_account_id,
    post_transfer,
    spending_account_id,
    transfer_id_for,
    wallet_account_id,
)
from services.wallet.domain.payments import (
    PayingSituation,
    PaymentOrder,
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
from services.wallet.service_layer.return_quota import return_quota
from shared.clock import BusinessClock
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import speaks_for
from shared.messaging.messages import Outgoing, published


def _refused(order: PaymentOrder, refusal: Refusal, now: datetime) -> events.PaymentRefused:
    return events.PaymentRefused(
        setl_id=order.setl_id, reason_code=refusal.code.value, reason=refusal.reason, occurred_at=now
    )


async def frozen_either(repo: WalletRepository, order: PaymentOrder) -> bool:
    """Mutual aid through a provider's personal account (acct_used_flag 2, a contribution paid for another) stops
    when either of them is frozen."""
    return await repo.frozen(order.psn_no) or (order.payer_psn_no is not None and await repo.frozen(order.payer_psn_no))


async def take_payment(
    order: PaymentOrder,
    repo: WalletRepository,
    payments: PaymentRepository,
    ledger: LedgerRepository,
    clock: BusinessClock,
    trusted: frozenset[str] = frozenset(),
) -> list[Outgoing]:
    now = clock.now()
    if await payments.payment_of(order.setl_id) is not None:
        return []  # asked twice: the first answer stands
    await repo.lock_people(order.psn_no, *([order.payer_psn_no] if order.payer_psn_no else []))  # (freezes.py)
    patient = await repo.person(order.psn_no)
    payer = await repo.person(order.payer_psn_no) if order.payer_psn_no else None
    relationship_id = (
        await repo.established_relationship(order.payer_psn_no, order.psn_no)
        if order.payer_psn_no and uses_provider(order)
        else None
    )
    spending = order.spending_admdvs or (patient.insuplc_admdvs if patient else None)
    situation = PayingSituation(
        patient=patient,
        payer=payer,
        relationship_id=relationship_id,
        wallet_opened=await repo.wallet_region(order.psn_no) is not None,
        region_enabled=patient is not None and await repo.region_enabled(patient.insuplc_admdvs),
        sender_speaks_for_patient=patient is not None and speaks_for(order.sender, patient.insuplc_admdvs, trusted),
    )
    refusal = check_payment(order, situation)
    if refusal is None and patient is not None and spending is not None:
        sources: list[Source] = []
        if uses_wallet(order):
            for lot in await payments.unspent_lots(order.psn_no):
                sources.append(
                    Source(
                        SourceKind.WALLET,
                        order.psn_no,
                        wallet_account_id(order.psn_no),
                        lot["funding_admdvs"],
                        lot["remaining"],
                        lot["lot_id"],
                    )
                )
        account_owner: str | None = None
        if uses_provider(order) and payer is not None:
            account_owner, kind, funding = payer.psn_no, SourceKind.PROVIDER_ACCOUNT, payer.insuplc_admdvs
        elif order.purpose is Purpose.SETTLEMENT and order.acct_used_flag == "1":
            account_owner, kind, funding = patient.psn_no, SourceKind.OWN_ACCOUNT, patient.insuplc_admdvs
        spent = spending_account_id(spending)
        await ledger.ensure_account(spent, AccountKind.SPENDING, spending)
        own = personal_account_id(patient.psn_no)
        wanted = [spent, own, wallet_account_id(order.psn_no)]
        if account_owner is not None:
            wanted.append(personal_account_id(account_owner))
        accounts = await ledger.lock(*wanted)
        if uses_wallet(order) and await repo.frozen(order.psn_no):
            refusal = Refusal(ReasonCode.WALLET_FROZEN, "the patient's wallet is frozen: it pays nothing")
        elif account_owner is not None and account_owner != patient.psn_no and await frozen_either(repo, order):
            refusal = Refusal(ReasonCode.WALLET_FROZEN, "a frozen person neither pays for another nor is paid for")
        else:
            if account_owner is not None and personal_account_id(account_owner) in accounts:
                acc = accounts[personal_account_id(account_owner)]
                sources.append(Source(kind, account_owner, acc.id, funding, max(acc.balance, ZERO)))
            portions = split(order.amount, sources)
            refusal = check_covered(order, portions)
            if refusal is None:
                return await _debit(order, portions, spending, accounts, payments, ledger, now)
    assert refusal is not None
    await payments.record_payment(order.setl_id, order.purpose.value, order.psn_no, "refused", refusal.code, now)
    return [published(_refused(order, refusal, now), order.psn_no)]


async def refuse_failed_payment(
    setl_id: str, purpose: str, psn_no: str, payments: PaymentRepository, clock: BusinessClock
) -> list[Outgoing]:
    """The wallet could not process a payment (dead-lettered, even one whose body could not be read): nothing was
    taken, and the payment service is told so that the province still gets its one answer."""
    if await payments.payment_of(setl_id) is not None:
        return []
    now = clock.now()
    refusal = Refusal(ReasonCode.PROCESSING_FAILED, "the wallet could not process this payment; operators were alerted")
    await payments.record_payment(setl_id, purpose, psn_no, "refused", refusal.code, now)
    refused = events.PaymentRefused(
        setl_id=setl_id, reason_code=refusal.code.value, reason=refusal.reason, occurred_at=now
    )
    return [published(refused, psn_no)]


async def _debit(
    order: PaymentOrder,
    portions: list[Portion],
    spending: str,
    accounts: dict[str, Account],
    payments: PaymentRepository,
    ledger: LedgerRepository,
    now: datetime,
) -> list[Outgoing]:
    await payments.record_payment(order.setl_id, order.purpose.value, order.psn_no, "debited", None, now)
    spent = accounts[spending_account_id(spending)]
    entry = Entry(at=now, setl_id=order.setl_id, contribution=order.purpose is Purpose.CONTRIBUTION)
    wire: list[events.WalletDebitPortion] = []
    for seq, portion in enumerate(portions, start=1):
        src = portion.source
        debit = accounts[src.account_id]
        client_id = f"pay:{order.setl_id}:{seq}"
        post_transfer(debit, spent, portion.amount)
        transfer_id = transfer_id_for(client_id)
        await ledger.save_posted_transfer(
            transfer_id, client_id, debit, spent, portion.amount, code=f"pay.{src.kind}", entry=entry
        )
        await payments.record_debit(
            order.setl_id,
            seq,
            src.kind.value,
            src.payer_psn_no,
            src.account_id,
            src.lot_id,
            src.funding_admdvs,
            spending,
            portion.amount,
            transfer_id,
        )
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


async def refund_payment(
    setl_id: str, repo: WalletRepository, payments: PaymentRepository, ledger: LedgerRepository, clock: BusinessClock
) -> list[Outgoing]:
    """Every source gets back exactly what it gave. Quota that returns to a lot whose relationship has
    ended meanwhile goes on to the provider's account at once (as when the relationship ended)."""
    now = clock.now()
    payment = await payments.payment_of(setl_id)
    if payment is None or payment["state"] != "debited":
        return []  # refused (nothing taken), refunded already, or never asked: nothing to give back
    debits = await payments.debits_of(setl_id)
    await payments.lock_lots([d["lot_id"] for d in debits if d["lot_id"]])
    ended = {d["lot_id"]: d for d in debits if d["lot_id"] and await payments.relationship_ended(d["relationship_id"])}
    spent_ids = {spending_account_id(d["spending_admdvs"]) for d in debits}
    providers = {personal_account_id(d["provider_psn_no"]) for d in ended.values()}
    accounts = await ledger.lock(*spent_ids, *(d["account_id"] for d in debits), *providers)
    messages: list[Outgoing] = []
    total = ZERO
    for d in debits:
        spent, back = accounts[spending_account_id(d["spending_admdvs"])], accounts[d["account_id"]]
        client_id = f"refund:{setl_id}:{d['seq']}"
        post_transfer(spent, back, d["amount"])
        refund_id = transfer_id_for(client_id)
        await ledger.save_posted_transfer(
            refund_id, client_id, spent, back, d["amount"], code="pay.refund", entry=Entry(at=now, setl_id=setl_id)
        )
        await payments.record_refund(setl_id, d["seq"], d["lot_id"], d["amount"], refund_id)
        total += d["amount"]
        if d["lot_id"] in ended:
            messages += await _return_refunded_quota(d, setl_id, accounts, payments, ledger, repo, now)
    await payments.mark_refunded(setl_id, now)
    refunded = events.PaymentRefunded(setl_id=setl_id, psn_no=payment["psn_no"], amount=total, occurred_at=now)
    return [*messages, published(refunded, refunded.psn_no)]


async def _return_refunded_quota(
    d: dict[str, Any],
    setl_id: str,
    accounts: dict[str, Account],
    payments: PaymentRepository,
    ledger: LedgerRepository,
    repo: WalletRepository,
    now: datetime,
) -> list[Outgoing]:
    lot_id, provider, recipient = str(d["lot_id"]), str(d["provider_psn_no"]), str(d["wallet_psn_no"])
    client_id = f"return:{lot_id}:{d['relationship_id']}:{setl_id}"
    parties = (await repo.person(provider), await repo.person(recipient))
    messages = await return_quota(
        lot_id,
        str(d["relationship_id"]),
        accounts[wallet_account_id(recipient)],
        accounts[personal_account_id(provider)],
        d["amount"],
        transfer_id_for(client_id),
        client_id,
        [x.insuplc_admdvs for x in parties if x is not None],
        ledger,
        now,
    )
    await payments.record_refund_returned(lot_id, d["amount"])
    return messages
