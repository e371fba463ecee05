"""Settlements, contributions, cancellations and reversals: the payment side of the paying saga
(docs/adr/0010-paying-and-clearing.md).

  settlement.requested / contribution.requested -> checks -> payment.payment-opened (answer deferred)
    -> wallet.payment-debited  -> completed + settlement.completed to the provinces
    -> wallet.payment-refused  -> rejected with the wallet's reason
  settlement.cancel-requested / reversal.requested -> payment.refund-requested (answer deferred)
    -> wallet.payment-refunded -> completed + settlement.cancelled to the provinces
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.payment.adapters.settlement_repository import SettlementRepository
from services.payment.domain import events
from services.payment.domain.settlements import (
    PURPOSE_OF_TYPE,
    REVERSIBLE_TYPES,
    Purpose,
    Refusal,
    SettlementAsk,
    State,
    business_month,
    check_contribution,
    check_setl_time,
    check_settlement,
)
from shared.clock import BusinessClock
from shared.contracts import province as p
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import speaks_for
from shared.db.pool import Conn
from shared.messaging.consumer import answer_deferred
from shared.messaging.messages import Decision, Outgoing, published, to_provinces


def _refused(purpose: Purpose, refusal: Refusal, now: datetime, setl_id: str | None = None, key: str = "-") -> Decision:
    recorded = events.PaymentRefusedRecorded(
        setl_id=setl_id, purpose=purpose.value, reason_code=refusal.code.value, occurred_at=now
    )
    return Decision.rejected(refusal.code, refusal.reason, [published(recorded, setl_id or key)])


def _opened(s: dict[str, Any], now: datetime) -> Outgoing:
    opened = events.PaymentOpened(
        setl_id=s["setl_id"],
        purpose=s["purpose"],
        psn_no=s["psn_no"],
        payer_psn_no=s["payer_psn_no"],
        spending_admdvs=s["institution_admdvs"],
        amount=s["psn_part_amt"],
        use_wallet=s["use_wallet"],
        acct_used_flag=s["acct_used_flag"],
        sender=s["sender"],
        occurred_at=now,
    )
    return published(opened, s["setl_id"])


async def _blocked_by_reversal(repo: SettlementRepository, sender: str, msgid: str) -> Refusal | None:
    await repo.serialize_on(sender, msgid)
    if await repo.reversal_of(sender, msgid) is not None:
        return Refusal(ReasonCode.REVERSED, "this request was reversed (reversal.requested) before it arrived")
    return None


async def request_settlement(
    setl_id: str,
    sender: str,
    msgid: str,
    b: p.SettlementRequested,
    repo: SettlementRepository,
    clock: BusinessClock,
    trusted: frozenset[str],
) -> Decision:
    now = clock.now()
    refusal = await _blocked_by_reversal(repo, sender, msgid)
    institution = await repo.institution(b.fixmedins_code)
    if refusal is None:
        ask = SettlementAsk(
            b.fixmedins_code,
            b.mdtrtarea_admvs,
            b.med_type,
            b.medfee_sumamt,
            b.fund_pay_sumamt,
            b.psn_part_amt,
            b.acct_used_flag,
            b.use_wallet,
        )
        refusal = check_settlement(ask, institution) or check_setl_time(b.setl_time, now)
    if refusal is None and institution is not None and not speaks_for(sender, institution.admdvs, trusted):
        refusal = Refusal(ReasonCode.NOT_A_PARTY, "a settlement is sent from the institution's province")
    if refusal is not None or institution is None:
        assert refusal is not None
        return _refused(Purpose.SETTLEMENT, refusal, now, key=f"{sender}:{msgid}")
    s = {
        "setl_id": setl_id,
        "purpose": Purpose.SETTLEMENT.value,
        "sender": sender,
        "msgid": msgid,
        "psn_no": b.psn_no,
        "payer_psn_no": b.provider_psn_no if b.acct_used_flag == "2" else None,
        "mdtrt_id": b.mdtrt_id,
        "fixmedins_code": b.fixmedins_code,
        "institution_admdvs": institution.admdvs,
        "med_type": b.med_type,
        "medfee_sumamt": b.medfee_sumamt,
        "fund_pay_sumamt": b.fund_pay_sumamt,
        "psn_part_amt": b.psn_part_amt,
        "acct_used_flag": b.acct_used_flag,
        "use_wallet": b.use_wallet,
        "setl_time": b.setl_time,
        "state": State.DEBITING.value,
        "requested_at": now,
    }
    await repo.insert(s)
    return Decision.deferred([_opened(s, now)])


async def request_contribution(
    setl_id: str, sender: str, msgid: str, b: p.ContributionRequested, repo: SettlementRepository, clock: BusinessClock
) -> Decision:
    now = clock.now()
    refusal = await _blocked_by_reversal(repo, sender, msgid) or check_contribution(b.insutype, b.amount)
    if refusal is not None:
        return _refused(Purpose.CONTRIBUTION, refusal, now, key=f"{sender}:{msgid}")
    s = {
        "setl_id": setl_id,
        "purpose": Purpose.CONTRIBUTION.value,
        "sender": sender,
        "msgid": msgid,
        "psn_no": b.insured_psn_no,
        "payer_psn_no": b.payer_psn_no,
        "institution_admdvs": None,
        "insutype": b.insutype,
        "year": b.year,
        "psn_part_amt": b.amount,
        "acct_used_flag": "0",
        "use_wallet": b.payer_psn_no == b.insured_psn_no,
        "setl_time": now,
        "state": State.DEBITING.value,
        "requested_at": now,
    }
    await repo.insert(s)
    return Decision.deferred([_opened(s, now)])


def _portion(row: dict[str, Any]) -> events.SettlementPortion:
    return events.SettlementPortion(**{k: row[k] for k in events.SettlementPortion.model_fields})


def _notify(s: dict[str, Any], portions: list[dict[str, Any]], type_: str, body: p.Body) -> list[Outgoing]:
    """The institution's province and every province whose account or quota paid."""
    regions = [s["institution_admdvs"], *(x["funding_admdvs"] for x in portions)]
    return to_provinces(regions, type_, body, s["psn_no"])


async def on_debited(
    conn: Conn, setl_id: str, debited: dict[str, Any], repo: SettlementRepository, clock: BusinessClock
) -> list[Outgoing]:
    """The wallet took what the sources allowed: the settlement is completed (and, when a reversal came
    while the wallet was at work, at once undone)."""
    s = await repo.for_update(setl_id)
    if s is None or s["state"] != State.DEBITING:
        return []
    now = clock.now()
    acct_pay, wallet_pay = debited["acct_pay"], debited["wallet_pay"]
    cash = s["psn_part_amt"] - acct_pay - wallet_pay
    changes = {
        "state": State.COMPLETED.value,
        "acct_pay": acct_pay,
        "acct_mulaid_pay": debited["acct_mulaid_pay"],
        "wallet_pay": wallet_pay,
        "psn_cash_pay": cash,
        "balc": debited["balc"],
        "wallet_balc": debited["wallet_balc"],
        "completed_at": now,
    }
    await repo.update(setl_id, **changes)
    s.update(changes)
    portions = debited["portions"]
    await repo.add_portions(setl_id, portions)
    completed = events.PaymentCompleted(
        setl_id=setl_id,
        purpose=s["purpose"],
        psn_no=s["psn_no"],
        fixmedins_code=s["fixmedins_code"],
        month=business_month(s["setl_time"]),
        psn_part_amt=s["psn_part_amt"],
        acct_pay=acct_pay,
        acct_mulaid_pay=s["acct_mulaid_pay"],
        wallet_pay=wallet_pay,
        psn_cash_pay=cash,
        portions=[_portion(x) for x in portions],
        occurred_at=now,
    )
    messages = [published(completed, setl_id)]
    if s["purpose"] == Purpose.SETTLEMENT:
        body = p.SettlementCompleted(
            setl_id=setl_id,
            mdtrt_id=s["mdtrt_id"],
            psn_no=s["psn_no"],
            fixmedins_code=s["fixmedins_code"],
            acct_pay=acct_pay,
            acct_mulaid_pay=s["acct_mulaid_pay"],
            wallet_pay=wallet_pay,
            psn_cash_pay=cash,
            balc=s["balc"],
            wallet_balc=s["wallet_balc"],
        )
        messages += _notify(s, portions, "settlement.completed", body)
    answer = [*await answer_deferred(conn, s["sender"], s["msgid"], Decision.completed(setl_id=setl_id)), *messages]
    if s["undo_kind"] == "reversal":
        await repo.update(setl_id, state=State.CANCELLING.value)
        refund = events.RefundRequested(setl_id=setl_id, psn_no=s["psn_no"], occurred_at=now)
        answer.append(published(refund, setl_id))
    return answer


async def on_refused(
    conn: Conn, setl_id: str, code: str, reason: str, repo: SettlementRepository, clock: BusinessClock
) -> list[Outgoing]:
    s = await repo.for_update(setl_id)
    if s is None or s["state"] != State.DEBITING:
        return []
    now = clock.now()
    await repo.update(setl_id, state=State.REFUSED.value, refusal_code=code)
    decision = _refused(Purpose(s["purpose"]), Refusal(ReasonCode(code), reason), now, setl_id)
    answer = [*await answer_deferred(conn, s["sender"], s["msgid"], Decision.rejected(ReasonCode(code), reason))]
    answer += decision.messages
    if s["undo_kind"] == "reversal":  # a reversal waited for this: nothing was applied
        await repo.set_reversal_outcome(s["undo_sender"], s["msgid"], "nothing_applied")
        answer += await answer_deferred(conn, s["undo_sender"], s["undo_msgid"], Decision.completed(setl_id=setl_id))
    return answer


async def on_refunded(conn: Conn, setl_id: str, repo: SettlementRepository, clock: BusinessClock) -> list[Outgoing]:
    s = await repo.for_update(setl_id)
    if s is None or s["state"] != State.CANCELLING:
        return []
    now = clock.now()
    await repo.update(setl_id, state=State.CANCELLED.value, cancelled_at=now)
    portions = await repo.portions_of(setl_id)
    cancelled = events.PaymentCancelled(
        setl_id=setl_id,
        purpose=s["purpose"],
        psn_no=s["psn_no"],
        how=s["undo_kind"],
        month=business_month(s["setl_time"]),
        portions=[_portion(x) for x in portions],
        occurred_at=now,
    )
    messages = [published(cancelled, setl_id)]
    if s["purpose"] == Purpose.SETTLEMENT:
        body = p.SettlementCancelled(setl_id=setl_id, mdtrt_id=s["mdtrt_id"], psn_no=s["psn_no"])
        messages += _notify(s, portions, "settlement.cancelled", body)
    answer = await answer_deferred(conn, s["undo_sender"], s["undo_msgid"], Decision.completed(setl_id=setl_id))
    return [*answer, *messages]


async def cancel_settlement(
    sender: str,
    msgid: str,
    b: p.SettlementCancelRequested,
    repo: SettlementRepository,
    clock: BusinessClock,
    trusted: frozenset[str],
) -> Decision:
    s = await repo.for_update(b.setl_id)
    if (
        s is None
        or s["purpose"] != Purpose.SETTLEMENT
        or (s["mdtrt_id"], s["psn_no"]) != (b.mdtrt_id, b.psn_no)
        or s["state"] in (State.DEBITING, State.REFUSED)
    ):
        return Decision.rejected(ReasonCode.UNKNOWN_SETTLEMENT, "no settlement has this setl_id, mdtrt_id and psn_no")
    if not speaks_for(sender, s["institution_admdvs"], trusted):
        return Decision.rejected(ReasonCode.NOT_A_PARTY, "a cancellation is sent from the institution's province")
    if s["state"] in (State.CANCELLING, State.CANCELLED):
        return Decision.rejected(ReasonCode.ALREADY_CANCELLED, f"the settlement was cancelled ({s['undo_kind']})")
    now = clock.now()
    await repo.update(
        b.setl_id,
        state=State.CANCELLING.value,
        undo_kind="cancellation",
        undo_sender=sender,
        undo_msgid=msgid,
        undo_requested_at=now,
    )
    refund = events.RefundRequested(setl_id=b.setl_id, psn_no=s["psn_no"], occurred_at=now)
    return Decision.deferred([published(refund, b.setl_id)])


async def reverse(
    sender: str, msgid: str, b: p.ReversalRequested, repo: SettlementRepository, clock: BusinessClock
) -> Decision:
    """Undo the sender's earlier request `omsgid` if it was applied; if it never came, refuse it when it does."""
    if b.otype not in REVERSIBLE_TYPES:
        return Decision.rejected(
            ReasonCode.NOT_REVERSIBLE, f"only {', '.join(sorted(REVERSIBLE_TYPES))} are reversed; {b.otype} is not"
        )
    now = clock.now()
    await repo.serialize_on(sender, b.omsgid)
    earlier = await repo.reversal_of(sender, b.omsgid)
    if earlier is not None:  # reversed before by another reversal message: the same outcome, once it is final
        ids = {"setl_id": earlier["setl_id"]} if earlier["setl_id"] else {}
        if earlier["outcome"] == "original_undone":
            undone = await repo.for_update(earlier["setl_id"])
            if undone is not None and undone["state"] != State.CANCELLED:
                return Decision.accepted(**ids)  # the first reversal is still at the wallet: its answer will say
        return Decision.completed(**ids)
    s = await repo.by_msgid_for_update(sender, b.omsgid)
    if s is not None and s["purpose"] != PURPOSE_OF_TYPE[b.otype]:
        return Decision.rejected(ReasonCode.UNKNOWN_REQUEST, f"{b.omsgid} was not a {b.otype}")
    messages: list[Outgoing] = []
    if s is None:
        outcome = "nothing_applied" if await repo.was_answered(sender, b.omsgid) else "original_blocked"
    elif s["state"] in (State.REFUSED, State.CANCELLING, State.CANCELLED):
        outcome = "nothing_applied"
    else:
        outcome = "original_undone"
        await repo.update(
            s["setl_id"], undo_kind="reversal", undo_sender=sender, undo_msgid=msgid, undo_requested_at=now
        )
        if s["state"] == State.COMPLETED:
            await repo.update(s["setl_id"], state=State.CANCELLING.value)
            messages.append(
                published(
                    events.RefundRequested(setl_id=s["setl_id"], psn_no=s["psn_no"], occurred_at=now), s["setl_id"]
                )
            )
    setl_id = s["setl_id"] if s else None
    await repo.record_reversal(sender, b.omsgid, b.otype, msgid, outcome, setl_id, now)
    recorded = events.ReversalRecorded(
        sender=sender, omsgid=b.omsgid, otype=b.otype, outcome=outcome, setl_id=setl_id, occurred_at=now
    )
    messages.append(published(recorded, setl_id or f"{sender}:{b.omsgid}"))
    if outcome == "original_undone":
        return Decision.deferred(messages)  # answered when the wallet has given the money back
    return Decision.completed(messages, **({"setl_id": setl_id} if setl_id else {}))


async def on_wallet_answer_failed(
    conn: Conn, setl_id: str, money_taken: bool, repo: SettlementRepository, clock: BusinessClock
) -> list[Outgoing]:
    """The payment service could not apply the wallet's answer (it was dead-lettered): the settlement is
    refused PROCESSING_FAILED so that the province still gets its one answer, and whatever the wallet took
    is given back (payment.refund-requested). Operators find the original in wallet.events.v1.payment.dlq."""
    s = await repo.for_update(setl_id)
    if s is None or s["state"] != State.DEBITING:
        return []
    now = clock.now()
    await repo.update(setl_id, state=State.REFUSED.value, refusal_code=ReasonCode.PROCESSING_FAILED.value)
    refusal = Refusal(ReasonCode.PROCESSING_FAILED, "the platform could not complete this payment; nothing was taken")
    decision = _refused(Purpose(s["purpose"]), refusal, now, setl_id)
    answer = [*await answer_deferred(conn, s["sender"], s["msgid"], Decision.rejected(refusal.code, refusal.reason))]
    if s["undo_kind"] == "reversal":
        await repo.set_reversal_outcome(s["undo_sender"], s["msgid"], "nothing_applied")
        answer += await answer_deferred(conn, s["undo_sender"], s["undo_msgid"], Decision.completed(setl_id=setl_id))
    if money_taken:
        answer.append(published(events.RefundRequested(setl_id=setl_id, psn_no=s["psn_no"], occurred_at=now), setl_id))
    return [*answer, *decision.messages]
