"""The clearing service's handlers: obligations from payments, closing a month, statement answers."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from services.clearing.adapters.clearing_repository import ClearingRepository
from services.clearing.domain import events
from services.clearing.domain.clearing import due_for_closing, first_open_month, has_ended, item_id
from shared.clock import BusinessClock
from shared.contracts import province as p
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import province_topic, speaks_for
from shared.messaging.messages import Decision, Outgoing, published

ZERO = Decimal("0.00")


async def record_portions(
    setl_id: str,
    purpose: str,
    month: str,
    portions: list[dict[str, Any]],
    forward: bool,
    repo: ClearingRepository,
    clock: BusinessClock,
) -> list[Outgoing]:
    """Each cross-region portion becomes an obligation in the first open month from its target month: the
    payment's own month, or for a cancellation the month its payment was counted in."""
    now = clock.now()
    messages = []
    closed = await repo.closed_months()
    for portion in portions:
        if portion["funding_admdvs"] == portion["spending_admdvs"]:
            continue  # spent where it was funded: nothing to clear
        target = month if forward else (await repo.forward_period(setl_id, portion["seq"]) or month)
        period = first_open_month(target, closed)
        await repo.share_month(period)
        while await repo.is_closed(period):  # closed while we looked: the next open one
            closed = await repo.closed_months()
            period = first_open_month(period, closed)
            await repo.share_month(period)
        item = {
            "item_id": item_id(setl_id, portion["seq"], forward),
            "setl_id": setl_id,
            "seq": portion["seq"],
            "direction": "forward" if forward else "reverse",
            "period": period,
            "natural_month": month,
            "debtor_admdvs": portion["funding_admdvs"],
            "creditor_admdvs": portion["spending_admdvs"],
            "amount": portion["amount"],
            "source": portion["source"],
            "purpose": purpose,
            "recorded_at": now,
        }
        if await repo.add_item(item):
            recorded = events.ObligationRecorded(
                **{k: item[k] for k in events.ObligationRecorded.model_fields if k != "occurred_at"},
                occurred_at=now,
            )
            messages.append(published(recorded, setl_id))
    return messages


async def close_month(period: str, closed_by: str, repo: ClearingRepository, clock: BusinessClock) -> Decision:
    now = clock.now()
    if await repo.is_closed(period):
        return Decision.rejected(ReasonCode.PERIOD_CLOSED, f"{period} is closed already")
    if not has_ended(period, now):
        return Decision.rejected(ReasonCode.PERIOD_NOT_ENDED, f"{period} has not ended (business time {now:%Y-%m-%d})")
    await repo.hold_month(period)
    if await repo.is_closed(period):  # closed by another request while we waited for the month
        return Decision.rejected(ReasonCode.PERIOD_CLOSED, f"{period} is closed already")
    totals = await repo.close(period, now, closed_by)
    lines_by_region: dict[str, list[p.CounterpartAmount]] = defaultdict(list)
    for line in await repo.statement_lines(period):
        lines_by_region[line["admdvs"]].append(
            p.CounterpartAmount(
                admdvs=line["counterpart"], owes=line["owes"], owed=line["owed"], net=line["owed"] - line["owes"]
            )
        )
    messages = []
    for s in await repo.statements_of(period):
        body = p.ClearingStatementIssued(
            statement_id=s["statement_id"],
            period=period,
            admdvs=s["admdvs"],
            counterparts=lines_by_region[s["admdvs"]],
            owes=s["owes"],
            owed=s["owed"],
            net=s["net"],
        )
        messages.append(
            Outgoing(province_topic(s["admdvs"]), period, "clearing.statement-issued", body.model_dump(mode="json"))
        )
    closed = events.MonthClosed(
        period=period,
        items=totals["items"],
        pairs=totals["pairs"],
        statements=totals["statements"],
        gross=totals["gross"],
        occurred_at=now,
    )
    return Decision.completed([published(closed, period), *messages])


async def answer_statement(
    statement_id: str,
    admdvs: str,
    answer: str,
    reason: str | None,
    sender: str,
    msgid: str,
    repo: ClearingRepository,
    clock: BusinessClock,
    trusted: frozenset[str],
) -> Decision:
    s = await repo.statement(statement_id)
    if s is None or s["admdvs"] != admdvs:
        return Decision.rejected(ReasonCode.UNKNOWN_STATEMENT, f"no statement {statement_id} for region {admdvs}")
    if not speaks_for(sender, admdvs, trusted):
        return Decision.rejected(ReasonCode.NOT_A_PARTY, "a statement is answered from its region's province")
    now = clock.now()
    await repo.answer_statement(statement_id, sender, msgid, answer, reason, now)
    answered = events.StatementAnswered(
        statement_id=statement_id, period=s["period"], admdvs=admdvs, answer=answer, reason=reason, occurred_at=now
    )
    return Decision.completed([published(answered, s["period"])], statement_id=statement_id)


async def close_on_schedule(after_days: int, repo: ClearingRepository, clock: BusinessClock) -> Decision | None:
    """Last month, once it has been over for `after_days` days, if nobody closed it yet."""
    period = due_for_closing(clock.now(), after_days)
    if period is None or await repo.is_closed(period):
        return None
    decision = await close_month(period, "schedule", repo, clock)
    return decision if decision.status == "completed" else None
