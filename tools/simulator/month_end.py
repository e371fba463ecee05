"""--month-end: the platform's clock moves on to 00:30 on the next month's first day, the month is closed, regions
confirm or dispute their statements, and one more settlement is cancelled (it nets next month)."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import datetime
from decimal import Decimal
from typing import Any

from services.clearing.adapters.clearing_repository import ClearingRepository
from services.clearing.domain.clearing import first_open_month, month_of, next_month
from shared.clock import BUSINESS_TZ
from shared.db.pool import connect
from tools.keys import LOCAL_NATIONAL_OPERATOR
from tools.simulator.books_check import quiet
from tools.simulator.clock_moves import move_the_clock
from tools.simulator.messages import cancel, envelope
from tools.simulator.model import REGIONS, Plan, Step
from tools.simulator.provinces import Provinces
from tools.simulator.state import RunState


async def closed_months(state: RunState) -> set[str]:
    conn = await connect(state.settings.dsn("clearing"))
    try:
        return await ClearingRepository(conn).closed_months()
    finally:
        await conn.close()


def statements(state: RunState) -> list[dict[str, Any]]:
    """The statements the clearing service issued for the closed month (clearing.statement-issued), one each."""
    found = {
        n["statement_id"]: n
        for n in state.traffic.notifications["clearing.statement-issued"]
        if n["period"] == state.period
    }
    return list(found.values())


async def end_the_month(state: RunState, provinces: Provinces) -> bool:
    deadline = provinces.deadline
    await quiet(state, deadline)  # the clearing service has every obligation of the month
    state.period = first_open_month(month_of(state.business_now()), await closed_months(state))
    following = next_month(state.period)
    at = datetime(int(following[:4]), int(following[4:]), 1, 0, 30, tzinfo=BUSINESS_TZ)
    state.close_clock = at.isoformat()
    print(f"  the month ends: the platform's clock moves on to {state.close_clock}", file=sys.stderr)
    await move_the_clock(state, at)
    done = await provinces.run_phase(f"close of {state.period}", close)
    answer = state.traffic.answer(state.close_msgid)
    if answer and answer["status"] == "completed":
        until = min(deadline, time.monotonic() + 10)
        while time.monotonic() < until:
            closed = [b for b in state.traffic.event_bodies["clearing.month-closed"] if b["period"] == state.period]
            if closed and len(statements(state)) >= closed[0]["statements"]:
                break
            await asyncio.sleep(0.05)
    return await provinces.run_phase("statement answers, a late cancellation", answers_after_close) and done


def close(state: RunState) -> Plan:
    msg = envelope(state, "clearing.close-requested", {"period": state.period}, LOCAL_NATIONAL_OPERATOR)
    state.close_msgid = msg["msgid"]
    return [("ingress.clearing.v1", msg, state.period, "completed")]


def answer_statement(
    state: RunState, s: dict[str, Any], sender: str, reason: str | None = None, expect: str = "completed"
) -> Step:
    body = {"statement_id": s["statement_id"], "admdvs": s["admdvs"]}
    if reason:
        body["reason"] = reason
    msg = envelope(state, "statement.disputed" if reason else "statement.confirmed", body, sender)
    state.answers[msg["msgid"]] = s["statement_id"]
    return ("ingress.clearing.v1", msg, s["statement_id"], expect)


def answers_after_close(state: RunState) -> Plan:
    out: Plan = []
    again = envelope(state, "clearing.close-requested", {"period": state.period}, LOCAL_NATIONAL_OPERATOR)
    out.append(("ingress.clearing.v1", again, state.period, "rejected PERIOD_CLOSED"))
    by_a_province = envelope(state, "clearing.close-requested", {"period": state.period}, "440300")
    out.append(("ingress.clearing.v1", by_a_province, state.period, "rejected SENDER_NOT_ALLOWED"))
    by_net = sorted(statements(state), key=lambda s: Decimal(s.get("net") or 0))
    confirming = by_net[-2:]
    for s in confirming:
        out.append(answer_statement(state, s, s["admdvs"]))
    if by_net and by_net[0] not in confirming:
        s = by_net[0]
        top = max(s["counterparts"], key=lambda c: Decimal(c["owes"]), default=None)
        reason = f"owes {top['owes']} to {top['admdvs']}: settlements there not yet reconciled" if top else "check"
        out.append(answer_statement(state, s, s["admdvs"], reason))
    if by_net:
        s = by_net[-1]
        other = next(r for r in REGIONS if r[:2] != s["admdvs"][:2])
        out.append(answer_statement(state, s, other, expect="rejected NOT_A_PARTY"))
    if state.late_cancel is not None:
        out.append(cancel(state, state.late_cancel))
    return out
