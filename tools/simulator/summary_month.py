"""The summary's month: the members' statements (each one's balance_after chain must end at its balances, to the
fen), the month's close, the regions' statements and answers, and the settlement cancelled after the close."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from tools.simulator.model import ZERO, Traffic, region_name
from tools.simulator.month_end import statements
from tools.simulator.state import RunState


def statement_problems(statements_: list[dict[str, Any]]) -> list[str]:
    """Each statement's movements, oldest first, add up to its balances (the month is all the history these members
    have): to the fen, account by account. A page with a next_cursor is checked for its chain only."""
    problems: list[str] = []
    for s in statements_:
        last: dict[str, Decimal] = {}
        for m in s["movements"]:
            before = last.get(m["account"], Decimal("0.00"))
            if Decimal(m["balance_after"]) != before + Decimal(m["amount"]):
                problems.append(f"statement of {s['psn_no']}: {m} does not follow {before}")
            last[m["account"]] = Decimal(m["balance_after"])
        if "next_cursor" in s:
            continue
        if last.get("wallet", Decimal("0.00")) != Decimal(s["wallet_balc"]):
            problems.append(f"statement of {s['psn_no']}: wallet movements end at {last.get('wallet')}")
        if last.get("personal", Decimal("0.00")) != Decimal(s.get("acct_balc", "0.00")):
            problems.append(f"statement of {s['psn_no']}: account movements end at {last.get('personal')}")
    return problems


def statements_summary(traffic: Traffic) -> list[str]:
    """Prints the members' statements (wallet.statement); returns what did not add up."""
    statements_ = traffic.notifications["wallet.statement"]
    if not statements_:
        return []
    problems = statement_problems(statements_)
    moved = sum(len(s["movements"]) for s in statements_)
    kinds = Counter(m["kind"] for s in statements_ for m in s["movements"])
    print("\n== Statements (wallet.statement, interface v1.1) ==")
    by_kind = ", ".join(f"{n} {k}" for k, n in kinds.most_common())
    print(f"statements: {len(statements_)}, {moved} movements ({by_kind})")
    print(
        f"each one's balance_after chain ends at its balances: "
        f"{'yes, to the fen' if not problems else 'NO'}; frozen now: {sum(s['frozen'] for s in statements_)}"
    )
    return problems


def close_summary(state: RunState) -> None:
    if not state.period:
        return
    traffic = state.traffic
    print(f"\n== Month close {state.period} (closed at {state.close_clock} business time) ==")
    issued = statements(state)
    event = next((b for b in traffic.event_bodies["clearing.month-closed"] if b["period"] == state.period), None)
    facts = (
        f"; {event['items']} obligations, {event['pairs']} pairs of regions, gross {event['gross']}" if event else ""
    )
    print(f"close requested: {traffic.label(state.close_msgid)}{facts}")
    print(f"statements issued (clearing.statement-issued, one per region): {len(issued)}")
    answered: dict[str, str] = {}
    for m, sid in state.answers.items():
        if traffic.label(m) == "completed":
            answered[sid] = "confirmed" if traffic.sent[m].type == "statement.confirmed" else "disputed"
    largest = sorted(issued, key=lambda s: max(Decimal(s["owes"] or 0), Decimal(s["owed"] or 0)), reverse=True)
    if largest:
        print(f"  {'region':<16} {'owes':>10} {'owed':>10} {'net':>10}  counterparts  answer")
        for s in largest[:6]:
            print(
                f"  {region_name(s['admdvs']):<16} {s['owes']:>10} {s['owed']:>10} {s['net']:>10}  "
                f"{len(s['counterparts']):>12}  {answered.get(s['statement_id'], '-')}"
            )
        top = largest[0]
        print(f"  {region_name(top['admdvs'])}'s counterparts (largest first):")
        for c in sorted(top["counterparts"], key=lambda c: abs(Decimal(c["net"])), reverse=True)[:5]:
            print(f"    {region_name(c['admdvs']):<16} owes {c['owes']:>9}  owed {c['owed']:>9}  net {c['net']:>9}")
    for m, sid in state.answers.items():
        sent = traffic.sent[m]
        if traffic.label(m) != "completed":
            print(f"  {sent.type} of {sid} by another province: {traffic.label(m)}")
    late = state.late_cancel
    if late is not None:
        setl = state.setl_id(late.msgid)
        items = [b for b in traffic.event_bodies["clearing.obligation-recorded"] if b["setl_id"] == setl]
        back = [b for b in items if b["direction"] == "reverse"]
        counted = sorted({b["period"] for b in items if b["direction"] == "forward"}) or ["?"]
        months = ", ".join(sorted({b["period"] for b in back})) or "(not recorded yet)"
        print(
            f"cancelled after the close: a settlement counted in {', '.join(counted)} "
            f"({region_name(late.patient.region)}'s account spent in {region_name(late.institution.region)}): "
            f"-{sum((Decimal(b['amount']) for b in back), ZERO):.2f} yuan nets in {months}"
        )
